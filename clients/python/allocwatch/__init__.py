"""allocwatch: the Python client of the allocwatch allocation server (native protocol, version 2) and a
reader of its HTTP API. Standard library only."""

from .api import (
    AllocationsResponse,
    AllocationView,
    AnomaliesResponse,
    AnomalyRecord,
    Counts,
    DeviceHolder,
    DeviceSummary,
    MemoryUsage,
    ProcessDeviceUsage,
    ProcessSummary,
    ServerInfo,
    SummaryResponse,
    allocations,
    anomalies,
    resolve_url,
    summary,
)
from .client import Client, Counters, Snapshot
from .errors import (
    AllocwatchError,
    ApiError,
    BadResponseError,
    InvalidEndpointError,
    InvalidOptionError,
    ProtocolError,
    ServerUnavailable,
    SnapshotError,
)
from .memory_type import MEMORY_TYPE_COUNT, MemoryType
from .wire import PROTOCOL_VERSION, Device

__version__ = "0.1.0"

__all__ = [
    "AllocationView", "AllocationsResponse", "AllocwatchError", "AnomaliesResponse", "AnomalyRecord",
    "ApiError", "BadResponseError", "Client", "Counters", "Counts", "Device", "DeviceHolder", "DeviceSummary",
    "InvalidEndpointError", "InvalidOptionError", "MEMORY_TYPE_COUNT", "MemoryType", "MemoryUsage",
    "PROTOCOL_VERSION", "ProcessDeviceUsage", "ProcessSummary", "ProtocolError", "ServerInfo",
    "ServerUnavailable", "Snapshot", "SnapshotError", "SummaryResponse", "allocations", "anomalies",
    "resolve_url", "summary",
]
