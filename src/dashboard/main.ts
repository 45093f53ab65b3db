// The dashboard page: the first state from the HTTP API, then live from the SSE stream (with polling
// while the stream is down), device and memory type kept in the URL, a light and a dark theme.
import {
  type AllocationsResponse,
  type AnomaliesResponse,
  ApiRoute,
  type MemoryMapResponse,
  type MemoryMapType,
  type SeriesResponse,
  type SummaryResponse,
} from "../server/api-types.js";
import { getJson } from "./api.js";
import { DeviceCards } from "./cards.js";
import type { ChartData } from "./chart.js";
import { byId, el } from "./dom.js";
import { MemoryMapView } from "./memory-map.js";
import { ProcessTable, renderBuffers } from "./processes.js";
import { SeriesStore } from "./series-store.js";

const MAP_TYPES: readonly MemoryMapType[] = ["DRAM", "L1", "L1_SMALL", "TRACE", "CB"];
/** Polling period while the stream is down, and the wait before opening it again, ms. */
const POLL_MS = 1000;
const RECONNECT_MS = 2000;
const BUFFERS_SHOWN = 8;

const params = new URLSearchParams(location.search);
let deviceId = Number(params.get("device") ?? Number.NaN);
let mapType: MemoryMapType = MAP_TYPES.find((t) => t === params.get("type")) ?? "DRAM";
let summary: SummaryResponse | undefined;
let anomaliesSeen = -1;
let anomaliesByDevice = new Map<number, number>();
const series = new SeriesStore();

const cards = new DeviceCards(byId("cards"), (id) => select(id, mapType));
const processes = new ProcessTable(byId<HTMLTableElement>("processes"));
const map = new MemoryMapView(byId("map"), byId("map-stats"), byId("map-tooltip"), byId("buffer-details"));
const deviceSelect = byId<HTMLSelectElement>("device-select");
const typeSelect = byId<HTMLSelectElement>("type-select");
const connection = byId("connection");

/** For tests and curious users: what the charts draw and how many summaries the page has shown. */
const hook = {
  summaries: 0,
  chartData: (id: number): ChartData | undefined => cards.charts().get(id)?.data,
};
(globalThis as unknown as { allocwatchDashboard: typeof hook }).allocwatchDashboard = hook;

typeSelect.append(...MAP_TYPES.map((t) => el("option", { value: t }, t)));
typeSelect.value = mapType;
typeSelect.addEventListener("change", () => select(deviceId, typeSelect.value as MemoryMapType));
deviceSelect.addEventListener("change", () => select(Number(deviceSelect.value), mapType));
setUpTheme();

function select(id: number, type: MemoryMapType): void {
  deviceId = id;
  mapType = type;
  typeSelect.value = type;
  const url = new URL(location.href);
  url.searchParams.set("device", String(id));
  url.searchParams.set("type", type);
  history.replaceState(null, "", url);
  if (summary !== undefined) showSummary(summary);
  void refreshDetails();
}

function showSummary(next: SummaryResponse): void {
  summary = next;
  hook.summaries++;
  const ids = next.devices.map((d) => d.id);
  if (!ids.includes(deviceId) && ids.length > 0) deviceId = ids[0]!;
  if (
    deviceSelect.options.length !== ids.length ||
    [...deviceSelect.options].some((o, i) => o.value !== String(ids[i]))
  ) {
    deviceSelect.replaceChildren(
      ...next.devices.map((d) => el("option", { value: d.id }, `${d.id} · ${d.name}`)),
    );
  }
  deviceSelect.value = String(deviceId);
  byId("map-title").textContent = `device ${deviceId} · ${mapType}`;
  if (next.anomalies.total !== anomaliesSeen) {
    anomaliesSeen = next.anomalies.total;
    void refreshAnomalies();
  }
  cards.render(next, anomaliesByDevice, deviceId);
  showLegacy(next);
  showSeries();
}

/**
 * The legacy adapter's line, when the server runs it: its connections, and what went wrong that only the
 * server can see (a refused tt-metal client dies of SIGPIPE; quarantines and unknown FREEs mean frames
 * that could not be trusted).
 */
function showLegacy(next: SummaryResponse): void {
  const legacy = next.server.legacy;
  const line = byId("legacy");
  line.hidden = legacy === undefined;
  if (legacy === undefined) return;
  const trouble =
    legacy.refusedConnections + legacy.budgetClosures + legacy.quarantines + legacy.unknownFrees;
  line.className = trouble > 0 ? "badge alert" : "badge";
  line.textContent =
    `legacy: ${legacy.connections} connected · ${legacy.refusedConnections} refused · ` +
    `${legacy.quarantines} quarantined · ${legacy.unknownFrees} unknown frees`;
  line.title =
    `tt-metal's original protocol on ${legacy.socketPath}: ${legacy.allocations} allocations, ` +
    `${legacy.frees} frees, ${legacy.heldFrees} frees held for their allocation, ` +
    `${legacy.budgetClosures} closed for unread replies`;
}

function showSeries(): void {
  if (summary === undefined) return;
  for (const [id, chart] of cards.charts()) chart.update(mapType, series.device(id).get(mapType) ?? []);
  processes.render(summary, deviceId, (p) => series.process(p.sessionId, deviceId));
}

async function refreshAnomalies(): Promise<void> {
  const answer = await getJson<AnomaliesResponse>(ApiRoute.ANOMALIES);
  if (answer === undefined) return;
  anomaliesByDevice = new Map();
  for (const record of answer.recent) {
    if (record.deviceId !== null)
      anomaliesByDevice.set(record.deviceId, (anomaliesByDevice.get(record.deviceId) ?? 0) + 1);
  }
  if (summary !== undefined) cards.render(summary, anomaliesByDevice, deviceId);
}

let detailsBusy = false;
let detailsAgain = false;
/** The map and the buffer lists of the selected device; one refresh at a time, the last one repeated. */
async function refreshDetails(): Promise<void> {
  if (summary === undefined || !Number.isInteger(deviceId)) return;
  if (detailsBusy) {
    detailsAgain = true;
    return;
  }
  detailsBusy = true;
  try {
    const base = ApiRoute.deviceAllocations(deviceId);
    const [memoryMap, largest, oldest] = await Promise.all([
      getJson<MemoryMapResponse>(`${ApiRoute.deviceMemoryMap(deviceId)}?type=${mapType}`),
      getJson<AllocationsResponse>(`${base}?sort=size&limit=${BUFFERS_SHOWN}`),
      getJson<AllocationsResponse>(`${base}?sort=age&limit=${BUFFERS_SHOWN}`),
    ]);
    map.render(memoryMap, `no memory map for device ${deviceId} ${mapType} (the server did not answer one)`);
    renderBuffers(byId("largest"), largest?.allocations ?? [], summary);
    renderBuffers(byId("oldest"), oldest?.allocations ?? [], summary);
  } finally {
    detailsBusy = false;
    if (detailsAgain) {
      detailsAgain = false;
      void refreshDetails();
    }
  }
}

let pollTimer: ReturnType<typeof setInterval> | undefined;

/** Polls the summary while the stream is down (the stream's reconnects stop it). */
function polling(on: boolean): void {
  if (on && pollTimer === undefined) {
    pollTimer = setInterval(async () => {
      const next = await getJson<SummaryResponse>(ApiRoute.SUMMARY);
      if (next !== undefined) {
        showSummary(next);
        void refreshDetails();
      }
    }, POLL_MS);
  } else if (!on && pollTimer !== undefined) {
    clearInterval(pollTimer);
    pollTimer = undefined;
  }
}

function connect(): void {
  const stream = new EventSource(ApiRoute.STREAM);
  stream.addEventListener("open", () => {
    connection.textContent = "live";
    connection.dataset["state"] = "live";
    polling(false);
  });
  stream.addEventListener("summary", (event) => {
    showSummary(JSON.parse((event as MessageEvent<string>).data) as SummaryResponse);
    void refreshDetails();
  });
  stream.addEventListener("series", (event) => {
    series.merge(JSON.parse((event as MessageEvent<string>).data) as SeriesResponse);
    showSeries();
  });
  stream.addEventListener("error", () => {
    connection.textContent = "reconnecting…";
    connection.dataset["state"] = "reconnecting";
    polling(true);
    // EventSource retries by itself unless the server refused the stream; then open a new one later.
    if (stream.readyState === EventSource.CLOSED) setTimeout(connect, RECONNECT_MS);
  });
}

function setUpTheme(): void {
  const stored = localStorage.getItem("allocwatch-theme");
  const dark = stored === null ? matchMedia("(prefers-color-scheme: dark)").matches : stored === "dark";
  document.documentElement.dataset["theme"] = dark ? "dark" : "light";
  byId("theme-toggle").addEventListener("click", () => {
    const next = document.documentElement.dataset["theme"] === "dark" ? "light" : "dark";
    document.documentElement.dataset["theme"] = next;
    localStorage.setItem("allocwatch-theme", next);
  });
}

async function start(): Promise<void> {
  const first = await getJson<SummaryResponse>(ApiRoute.SUMMARY);
  const histories = await Promise.all(
    (first?.devices ?? []).map((d) => getJson<SeriesResponse>(`${ApiRoute.SERIES}?device=${d.id}`)),
  );
  for (const history of histories) if (history !== undefined) series.merge(history);
  if (first !== undefined) showSummary(first);
  void refreshDetails();
  connect();
}

void start();
