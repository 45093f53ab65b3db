"""A reader of the allocwatch server's HTTP API (src/server/api-types.ts): summary(), allocations(),
anomalies(), returning dataclasses whose fields are the JSON's in snake_case."""

import http.client
import json
import os
import re
import socket
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from .errors import ApiError, BadResponseError, InvalidEndpointError, ServerUnavailable

HTTP_ENV = "ALLOCWATCH_HTTP"
DEFAULT_URL = "http://127.0.0.1:7477"
DEFAULT_TIMEOUT_S = 5.0
MEMORY_TYPE_NAMES = ("DRAM", "L1", "SYSTEM_MEMORY", "L1_SMALL", "TRACE", "CB", "KERNEL")
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)


def resolve_url(url: Optional[str] = None, env: Optional[Dict[str, str]] = None) -> str:
    """Base URL without a trailing slash: `url`, else $ALLOCWATCH_HTTP (HOST:PORT or a URL), else
    http://127.0.0.1:7477 (as the CLI's smi). A bare HOST must carry its port."""
    env = os.environ if env is None else env
    source, value = ("url", url) if url else (HTTP_ENV, env.get(HTTP_ENV, ""))
    if not value:
        return DEFAULT_URL
    text = value.strip()
    with_scheme = text if _SCHEME.match(text) else "http://" + text
    try:
        parts = urllib.parse.urlsplit(with_scheme)
        port = parts.port
    except ValueError:
        raise InvalidEndpointError(f"{source} {value!r} is not an http:// URL or HOST:PORT") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or (not _SCHEME.match(text) and port is None):
        raise InvalidEndpointError(f"{source} {value!r} is not an http:// URL or HOST:PORT")
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


@dataclass(frozen=True)
class MemoryUsage:
    used: int  #: bytes held by live allocations
    total: int  #: capacity from the device descriptor, bytes; 0 when none described it
    peak: int  #: highest `used` since the server started, bytes
    allocations: int
    leaked: int  #: bytes of shared-memory slots of exited processes (not in `used`)


@dataclass(frozen=True)
class DeviceHolder:
    pid: int
    name: str
    reporting: bool


@dataclass(frozen=True)
class DeviceSummary:
    id: int
    name: str
    architecture: str
    memory: Dict[str, MemoryUsage]  #: one entry per memory type name (MEMORY_TYPE_NAMES)
    allocations: int
    sources: List[str]  #: "hardware", "tt-shm", "configured", "reported"
    holders: List[DeviceHolder]
    asic_id: Optional[str] = None
    card: Optional[str] = None


@dataclass(frozen=True)
class ProcessDeviceUsage:
    id: int
    used: Dict[str, int]  #: bytes per memory type name
    allocations: int


@dataclass(frozen=True)
class ProcessSummary:
    pid: int
    name: str
    session_id: str
    state: str  #: "connected", "disconnected", "reporting" or "dead"
    connections: int
    source: str  #: "native", "legacy" or "tt-shm"
    devices: List[ProcessDeviceUsage]


@dataclass(frozen=True)
class Counts:
    total: int
    by_kind: Dict[str, int]


@dataclass(frozen=True)
class ServerInfo:
    version: str
    uptime_ms: int
    sessions: int
    connections: int
    events_applied: int
    socket_path: str
    events_stale: int
    resync_requests: int
    snapshots_applied: int
    protocol_errors: int
    reorder_bytes: int
    reorder_budget_bytes: int


@dataclass(frozen=True)
class SummaryResponse:
    devices: List[DeviceSummary]
    processes: List[ProcessSummary]
    anomalies: Counts
    recoveries: Counts
    server: ServerInfo

    def process(self, pid: int) -> Optional[ProcessSummary]:
        """The first process with this pid, or None."""
        return next((p for p in self.processes if p.pid == pid), None)


@dataclass(frozen=True)
class AllocationView:
    session_id: str
    pid: int
    device_id: int
    memory_type: str
    allocation_id: int
    address: int
    size_bytes: int
    age_ms: int


@dataclass(frozen=True)
class AllocationsResponse:
    device_id: int
    sort: str
    limit: int
    total: int  #: live allocations matching the filter, before the limit
    allocations: List[AllocationView]


@dataclass(frozen=True)
class AnomalyRecord:
    kind: str
    session_id: str
    pid: int
    device_id: Optional[int]
    detail: str
    time_ms: int


@dataclass(frozen=True)
class AnomaliesResponse:
    total: int
    by_kind: Dict[str, int]
    recent: List[AnomalyRecord] = field(default_factory=list)


def _counts(o: Dict[str, Any]) -> Counts:
    return Counts(total=o["total"], by_kind=dict(o["byKind"]))


def _summary(o: Dict[str, Any]) -> SummaryResponse:
    devices = [
        DeviceSummary(
            id=d["id"], name=d["name"], architecture=d["architecture"],
            memory={k: MemoryUsage(used=m["used"], total=m["total"], peak=m["peak"],
                                   allocations=m["allocations"], leaked=m.get("leaked", 0))
                    for k, m in d["memory"].items()},
            allocations=d["allocations"], sources=list(d.get("sources", [])),
            holders=[DeviceHolder(pid=h["pid"], name=h["name"], reporting=h["reporting"])
                     for h in d.get("holders", [])],
            asic_id=d.get("asicId"), card=d.get("card"))
        for d in o["devices"]
    ]
    processes = [
        ProcessSummary(
            pid=p["pid"], name=p["name"], session_id=p["sessionId"], state=p["state"],
            connections=p["connections"], source=p["source"],
            devices=[ProcessDeviceUsage(id=u["id"], used=dict(u["used"]), allocations=u["allocations"])
                     for u in p["devices"]])
        for p in o["processes"]
    ]
    s = o["server"]
    server = ServerInfo(
        version=s["version"], uptime_ms=s["uptimeMs"], sessions=s["sessions"], connections=s["connections"],
        events_applied=s["eventsApplied"], socket_path=s["socketPath"], events_stale=s["eventsStale"],
        resync_requests=s["resyncRequests"], snapshots_applied=s["snapshotsApplied"],
        protocol_errors=s["protocolErrors"], reorder_bytes=s["reorderBytes"],
        reorder_budget_bytes=s["reorderBudgetBytes"])
    return SummaryResponse(devices=devices, processes=processes, anomalies=_counts(o["anomalies"]),
                           recoveries=_counts(o["recoveries"]), server=server)


def _allocations(o: Dict[str, Any]) -> AllocationsResponse:
    return AllocationsResponse(
        device_id=o["deviceId"], sort=o["sort"], limit=o["limit"], total=o["total"],
        allocations=[AllocationView(session_id=a["sessionId"], pid=a["pid"], device_id=a["deviceId"],
                                    memory_type=a["memoryType"], allocation_id=a["allocationId"],
                                    address=a["address"], size_bytes=a["sizeBytes"], age_ms=a["ageMs"])
                     for a in o["allocations"]])


def _anomalies(o: Dict[str, Any]) -> AnomaliesResponse:
    return AnomaliesResponse(
        total=o["total"], by_kind=dict(o["byKind"]),
        recent=[AnomalyRecord(kind=r["kind"], session_id=r["sessionId"], pid=r["pid"],
                              device_id=r["deviceId"], detail=r["detail"], time_ms=r["timeMs"])
                for r in o.get("recent", [])])


def _get(url: str, timeout_s: float) -> Any:
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310 - http(s) only
            body = response.read()
            status = response.status
    except urllib.error.HTTPError as error:
        body = error.read()
        try:
            detail = json.loads(body)["error"]
            code, message = str(detail["code"]), str(detail["message"])
        except (ValueError, KeyError, TypeError):
            code, message = f"HTTP_{error.code}", body[:200].decode("utf-8", "replace") or str(error.reason)
        raise ApiError(url, error.code, code, message) from None
    except urllib.error.URLError as error:
        raise ServerUnavailable(url, str(error.reason)) from None
    except (socket.timeout, TimeoutError):
        raise ServerUnavailable(url, f"no answer within {timeout_s} s") from None
    except OSError as error:  # reset, broken pipe mid-answer
        raise ServerUnavailable(url, str(error) or type(error).__name__) from None
    except http.client.HTTPException as error:  # BadStatusLine and kin: something else listens there
        raise ServerUnavailable(url, f"not an HTTP answer ({type(error).__name__})") from None
    try:
        return json.loads(body)
    except ValueError:
        raise BadResponseError(url, "body is not JSON", status) from None


def _parse(url: str, body: Any, parse: Any) -> Any:
    try:
        return parse(body)
    except (KeyError, TypeError, AttributeError) as error:
        raise BadResponseError(url, f"missing or mistyped field {error}") from None


def summary(url: Optional[str] = None, timeout_s: float = DEFAULT_TIMEOUT_S) -> SummaryResponse:
    """GET /api/v1/summary: every device, every process, anomaly and recovery counts, server info."""
    target = resolve_url(url) + "/api/v1/summary"
    return _parse(target, _get(target, timeout_s), _summary)


def allocations(device_id: int, sort: str = "size", limit: int = 100, session: Optional[str] = None,
                url: Optional[str] = None, timeout_s: float = DEFAULT_TIMEOUT_S) -> AllocationsResponse:
    """GET /api/v1/devices/<id>/allocations: `sort` "size" (largest first), "address" or "age" (oldest
    first); `limit` 1..10000; `session` (32 hex characters) keeps one session's allocations. The server
    checks them (ApiError HTTP_BAD_REQUEST)."""
    query = {"sort": sort, "limit": str(limit)}
    if session is not None:
        query["session"] = session
    target = f"{resolve_url(url)}/api/v1/devices/{int(device_id)}/allocations?{urllib.parse.urlencode(query)}"
    return _parse(target, _get(target, timeout_s), _allocations)


def anomalies(url: Optional[str] = None, timeout_s: float = DEFAULT_TIMEOUT_S) -> AnomaliesResponse:
    """GET /api/v1/anomalies: counts by kind and the most recent records."""
    target = resolve_url(url) + "/api/v1/anomalies"
    return _parse(target, _get(target, timeout_s), _anomalies)
