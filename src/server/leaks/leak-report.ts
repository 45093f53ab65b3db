import { MEMORY_TYPE_COUNT } from "../../protocol/memory-type.js";
import {
  API_MEMORY_TYPES,
  type LeakContextGroup,
  type LeakedAllocation,
  type LeakReport,
  type PerMemoryType,
} from "../api-types.js";
import { LiveSlotCursor } from "../live-slot-cursor.js";
import type { Ledger, Registry } from "../registry.js";
import { SelectionHeap } from "../selection-heap.js";
import type { Session } from "../session.js";
import { NO_SLOT } from "../slot-index.js";

/** How many of the largest and of the oldest leaked allocations a report lists. */
export const LEAK_REPORT_LIST_LIMIT = 10;
/** Most contexts a report lists one by one; the rest are summed into OTHER_CONTEXTS. */
export const LEAK_REPORT_CONTEXT_LIMIT = 64;
/** The group that sums the contexts past LEAK_REPORT_CONTEXT_LIMIT. */
export const OTHER_CONTEXTS = "(other)";

/** The times a report states, ms: the server's clock for ages, the wall clock for start and end. */
export interface LeakClock {
  /** The server's scheduler clock now (what allocation times and Session.startedAtMs are on), ms. */
  nowMs: number;
  /** The wall clock now, ms since the epoch. */
  epochMs: number;
}

/**
 * The report of what `session` still holds, read from the registry before the session is released;
 * undefined when it holds nothing (a clean exit). Allocations whose FREE waits in the reorder buffer
 * (sent by the client, held back by a missing earlier event) are not counted: the process let them go. Walks only the session's own ledgers: one pass that
 * sums per type and per context and keeps the largest and oldest few in SelectionHeaps (bounded work and
 * memory whatever the number of allocations; the context groups are bounded by the session's
 * ContextTable).
 */
export function buildLeakReport(
  session: Session,
  reason: string,
  registry: Registry,
  clock: LeakClock,
): LeakReport | undefined {
  const ledgers: Ledger[] = [];
  let overLimit = false;
  for (const ledger of session.account.ledgers.values()) {
    if (ledger.liveAllocations > 0) ledgers.push(ledger);
    if (ledger.overLimit) overLimit = true;
  }
  if (ledgers.length === 0) return undefined;
  const allocations = perMemoryType();
  const bytes = perMemoryType();
  const largest = new SelectionHeap(LEAK_REPORT_LIST_LIMIT);
  const oldest = new SelectionHeap(LEAK_REPORT_LIST_LIMIT);
  // Context id → [count per type..., bytes per type...].
  const byContextId = new Map<number, Float64Array>();
  let held = 0;
  for (let owner = 0; owner < ledgers.length; owner++) {
    // Frees the client sent that wait behind a missing event: not held by the process.
    const freed = session.waitingFrees(ledgers[owner].deviceId);
    const cursor = new LiveSlotCursor(registry, ledgers[owner]);
    for (let slot = cursor.next(); slot !== NO_SLOT; slot = cursor.next()) {
      const id = registry.allocationIdAt(slot);
      if (freed.size > 0 && freed.has(id)) continue;
      held++;
      const type = registry.memoryTypeAt(slot);
      const size = registry.sizeBytesAt(slot);
      largest.offer(-size, id, slot, owner);
      oldest.offer(registry.allocatedAtMsAt(slot), id, slot, owner);
      const contextId = registry.contextIdAt(slot);
      let sums = byContextId.get(contextId);
      if (sums === undefined) {
        sums = new Float64Array(2 * MEMORY_TYPE_COUNT);
        byContextId.set(contextId, sums);
      }
      sums[type]++;
      sums[MEMORY_TYPE_COUNT + type] += size;
    }
  }
  if (held === 0) return undefined;
  for (const sums of byContextId.values()) {
    for (let t = 0; t < MEMORY_TYPE_COUNT; t++) {
      allocations[API_MEMORY_TYPES[t]] += sums[t];
      bytes[API_MEMORY_TYPES[t]] += sums[MEMORY_TYPE_COUNT + t];
    }
  }
  const listed = (heap: SelectionHeap): LeakedAllocation[] =>
    heap.sorted().map((i) => {
      const slot = heap.slots[i];
      return {
        deviceId: ledgers[heap.owners[i]].deviceId,
        memoryType: API_MEMORY_TYPES[registry.memoryTypeAt(slot)],
        allocationId: registry.allocationIdAt(slot),
        address: registry.addressAt(slot),
        sizeBytes: registry.sizeBytesAt(slot),
        ageMs: Math.max(0, Math.round(clock.nowMs - registry.allocatedAtMsAt(slot))),
        context: session.contexts.text(registry.contextIdAt(slot)),
      };
    });
  return {
    id: 0,
    sessionId: session.sessionId,
    pid: session.pid,
    processName: session.identity.processName,
    startedAtMs: Math.round(clock.epochMs - (clock.nowMs - session.startedAtMs)),
    endedAtMs: Math.round(clock.epochMs),
    reason,
    allocations,
    bytes,
    largest: listed(largest),
    oldest: listed(oldest),
    byContext: contextGroups(session, byContextId),
    ...(overLimit ? { overLimit: true as const } : {}),
  };
}

/** One group per context, most bytes first; past LEAK_REPORT_CONTEXT_LIMIT the rest summed as one. */
function contextGroups(session: Session, byContextId: Map<number, Float64Array>): LeakContextGroup[] {
  // Two ids cannot share a text (a ContextTable keeps the first text of an id), but 0 and an unknown id
  // both read "": merge by text.
  const byText = new Map<string, Float64Array>();
  for (const [contextId, sums] of byContextId) {
    const text = session.contexts.text(contextId);
    const known = byText.get(text);
    if (known === undefined) byText.set(text, sums);
    else for (let i = 0; i < sums.length; i++) known[i] += sums[i];
  }
  const total = (sums: Float64Array): number => {
    let n = 0;
    for (let t = 0; t < MEMORY_TYPE_COUNT; t++) n += sums[MEMORY_TYPE_COUNT + t];
    return n;
  };
  const ordered = [...byText].sort((a, b) => total(b[1]) - total(a[1]) || a[0].localeCompare(b[0]));
  const groups: LeakContextGroup[] = [];
  let other: Float64Array | undefined;
  for (const [text, sums] of ordered) {
    if (groups.length < LEAK_REPORT_CONTEXT_LIMIT) {
      groups.push(group(text, sums));
      continue;
    }
    other ??= new Float64Array(2 * MEMORY_TYPE_COUNT);
    for (let i = 0; i < sums.length; i++) other[i] += sums[i];
  }
  if (other !== undefined) groups.push(group(OTHER_CONTEXTS, other));
  return groups;
}

function group(context: string, sums: Float64Array): LeakContextGroup {
  const allocations = perMemoryType();
  const bytes = perMemoryType();
  for (let t = 0; t < MEMORY_TYPE_COUNT; t++) {
    allocations[API_MEMORY_TYPES[t]] = sums[t];
    bytes[API_MEMORY_TYPES[t]] = sums[MEMORY_TYPE_COUNT + t];
  }
  return { context, allocations, bytes };
}

/** Every memory type at 0. */
export function perMemoryType(): PerMemoryType {
  const out = {} as PerMemoryType;
  for (const name of API_MEMORY_TYPES) out[name] = 0;
  return out;
}
