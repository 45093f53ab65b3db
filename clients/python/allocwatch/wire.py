"""Frames of the allocwatch native protocol, version 2 (docs/PROTOCOL.md): the encoders a client needs
and a decoder for what a server sends (WELCOME, RESYNC_REQUEST, ERROR). Pure: no sockets, no threads."""

import re
import struct
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple, Union

from .errors import ProtocolError
from .memory_type import MEMORY_TYPE_COUNT

#: What HELLO says first; version 3 carries allocation contexts (docs/PROTOCOL.md section 3.8).
PROTOCOL_VERSION = 3
#: What the client says to a server that refuses version 3 (no contexts).
PRE_CONTEXT_VERSION = 2
MAGIC = 0x48435741  # "AWCH" little-endian
ALL_DEVICES = 0xFFFF
DEFAULT_MAX_FRAME_BYTES = 1 << 20
MIN_MAX_FRAME_BYTES = 1024
U64_LIMIT = 1 << 53  # every u64 must be below it (docs/PROTOCOL.md section 1)

HELLO, WELCOME, EVENTS, SNAPSHOT_BEGIN, SNAPSHOT_CHUNK, SNAPSHOT_END, RESYNC_REQUEST, ERROR, GOODBYE = range(1, 10)
CONTEXT = 10  # version 3
OP_ALLOC = 1
OP_FREE = 2

EVENT_RECORD_BYTES = 48
SNAPSHOT_RECORD_BYTES = 32
EVENTS_HEADER_BYTES = 9  # length u32 + type u8 + count u32
SNAPSHOT_CHUNK_HEADER_BYTES = 11  # length u32 + type u8 + device u16 + count u32

MAX_PROCESS_NAME_BYTES = 256
MAX_DEVICE_NAME_BYTES = 128
MAX_ARCHITECTURE_BYTES = 64
MAX_DEVICES_PER_HELLO = 256
MAX_CONTEXT_BYTES = 256
#: Most contexts one client defines (the server's default limit per process is the same).
MAX_CONTEXTS = 4096

EVENT_RECORD = struct.Struct("<BBHIQQQQQ")
SNAPSHOT_RECORD = struct.Struct("<B3xIQQQ")  # memory type, context id (version 3; 0 = none), id, address, size
EVENTS_HEADER = struct.Struct("<IBI")
_LENGTH_TYPE = struct.Struct("<IB")
_ERROR_CODE = re.compile(r"[A-Z][A-Z0-9_]*\Z")


def max_events_per_frame(max_frame_bytes: int) -> int:
    """Records that fit one EVENTS frame whose `length` may be at most max_frame_bytes."""
    return (max_frame_bytes - 5) // EVENT_RECORD_BYTES


def max_snapshot_records_per_chunk(max_frame_bytes: int) -> int:
    return (max_frame_bytes - 7) // SNAPSHOT_RECORD_BYTES


def _u64(value: int, field: str) -> int:
    if not isinstance(value, int) or value < 0 or value >= U64_LIMIT:
        raise ProtocolError("PROTO_INVALID_VALUE", f"{field} must be an integer in [0, 2^53), got {value!r}")
    return value


def _string(text: str, limit: int, field: str) -> bytes:
    data = text.encode("utf-8")
    if len(data) > limit:
        raise ProtocolError("PROTO_STRING_TOO_LONG", f"{field} is {len(data)} bytes of UTF-8, at most {limit}")
    return struct.pack("<H", len(data)) + data


def _frame(frame_type: int, payload: bytes) -> bytes:
    return _LENGTH_TYPE.pack(1 + len(payload), frame_type) + payload


@dataclass(frozen=True)
class Device:
    """A device the process reports on, as HELLO describes it."""

    device_id: int
    name: str = ""
    architecture: str = ""
    #: Capacity in bytes per memory type code 0..6; 0 = none/unknown. Shorter tuples are padded with 0.
    capacity_bytes: Tuple[int, ...] = ()


def encode_hello(
    session_id: bytes,
    resume_secret: bytes,
    pid: int,
    process_start_ticks: int,
    process_name: str,
    devices: Sequence[Device],
    version: int = PROTOCOL_VERSION,
) -> bytes:
    """A HELLO frame (docs/PROTOCOL.md section 3.1), version 3 (or 2: the same layout)."""
    if len(session_id) != 16 or len(resume_secret) != 16:
        raise ProtocolError("PROTO_INVALID_VALUE", "session id and resume secret are 16 bytes each")
    if len(devices) > MAX_DEVICES_PER_HELLO:
        raise ProtocolError("PROTO_TOO_MANY_DEVICES", f"{len(devices)} devices, at most {MAX_DEVICES_PER_HELLO}")
    if not 0 <= pid < 1 << 32:
        raise ProtocolError("PROTO_INVALID_VALUE", f"pid {pid} is not a u32")
    parts = [
        struct.pack("<IH", MAGIC, version),
        bytes(session_id),
        bytes(resume_secret),
        struct.pack("<IQ", pid, _u64(process_start_ticks, "process start ticks")),
        _string(process_name, MAX_PROCESS_NAME_BYTES, "process name"),
        struct.pack("<H", len(devices)),
    ]
    seen = set()
    for device in devices:
        if not isinstance(device.device_id, int) or not 0 <= device.device_id < ALL_DEVICES:
            raise ProtocolError("PROTO_INVALID_DEVICE_ID", f"device id {device.device_id!r} is not in 0..65534")
        if device.device_id in seen:
            raise ProtocolError("PROTO_DUPLICATE_DEVICE", f"device id {device.device_id} is listed twice")
        seen.add(device.device_id)
        capacity = tuple(device.capacity_bytes)
        if len(capacity) > MEMORY_TYPE_COUNT:
            raise ProtocolError("PROTO_INVALID_VALUE", f"capacity_bytes has {len(capacity)} entries, at most 7")
        capacity = capacity + (0,) * (MEMORY_TYPE_COUNT - len(capacity))
        parts.append(struct.pack("<H", device.device_id))
        parts.append(_string(device.name, MAX_DEVICE_NAME_BYTES, "device name"))
        parts.append(_string(device.architecture, MAX_ARCHITECTURE_BYTES, "architecture"))
        parts.append(struct.pack("<7Q", *(_u64(c, "capacity") for c in capacity)))
    return _frame(HELLO, b"".join(parts))


def event_fields_valid(op: int, memory_type: int, device_id: int, seq: int, allocation_id: int,
                       address: int, size_bytes: int, timestamp_ns: int) -> bool:
    """What the wire can carry: a record failing this would make the server close the connection."""
    try:
        return (
            (op == OP_ALLOC or op == OP_FREE)
            and 0 <= memory_type < MEMORY_TYPE_COUNT
            and 0 <= device_id < ALL_DEVICES
            and 1 <= seq < U64_LIMIT
            and 0 <= allocation_id < U64_LIMIT
            and 0 <= address < U64_LIMIT
            and 0 <= size_bytes < U64_LIMIT
            and 0 <= timestamp_ns < U64_LIMIT
        )
    except TypeError:
        return False


def encode_events(records: Sequence[Tuple[int, ...]]) -> bytes:
    """An EVENTS frame; each record is (op, memory_type, device_id, seq, allocation_id, address,
    size_bytes, timestamp_ns), or with a ninth field, an ALLOC's context id (version 3; 0 = none).
    Raises ProtocolError for a record the wire cannot carry."""
    buf = bytearray(EVENTS_HEADER_BYTES + EVENT_RECORD_BYTES * len(records))
    EVENTS_HEADER.pack_into(buf, 0, 5 + EVENT_RECORD_BYTES * len(records), EVENTS, len(records))
    offset = EVENTS_HEADER_BYTES
    for record in records:
        context_id = record[8] if len(record) > 8 else 0
        if not event_fields_valid(*record[:8]) or not 0 <= context_id < 1 << 32 or (
                context_id and record[0] != OP_ALLOC):
            raise ProtocolError("PROTO_INVALID_VALUE", f"event record {record!r} cannot be sent")
        op, memory_type, device_id, seq, allocation_id, address, size_bytes, timestamp_ns = record[:8]
        EVENT_RECORD.pack_into(buf, offset, op, memory_type, device_id, context_id, seq, allocation_id, address,
                               size_bytes, timestamp_ns)
        offset += EVENT_RECORD_BYTES
    return bytes(buf)


def encode_snapshot_begin(device_id: int, watermark_seq: int, total_allocations: int) -> bytes:
    if not 0 <= total_allocations < 1 << 32:
        raise ProtocolError("PROTO_INVALID_VALUE", f"total allocations {total_allocations} is not a u32")
    return _frame(SNAPSHOT_BEGIN, struct.pack("<HQI", device_id, _u64(watermark_seq, "watermark"), total_allocations))


def encode_snapshot_chunk(device_id: int, allocations: Sequence[Tuple[int, ...]]) -> bytes:
    """A SNAPSHOT_CHUNK; each allocation is (memory_type, allocation_id, address, size_bytes) or, with
    its context (version 3; 0 = none), (memory_type, allocation_id, address, size_bytes, context_id)."""
    payload = bytearray(6 + SNAPSHOT_RECORD_BYTES * len(allocations))
    struct.pack_into("<HI", payload, 0, device_id, len(allocations))
    offset = 6
    for allocation in allocations:
        memory_type, allocation_id, address, size_bytes = allocation[:4]
        context_id = allocation[4] if len(allocation) > 4 else 0
        SNAPSHOT_RECORD.pack_into(payload, offset, memory_type, context_id, allocation_id, address, size_bytes)
        offset += SNAPSHOT_RECORD_BYTES
    return _frame(SNAPSHOT_CHUNK, bytes(payload))


def encode_snapshot_end(device_id: int, watermark_seq: int) -> bytes:
    return _frame(SNAPSHOT_END, struct.pack("<HQ", device_id, _u64(watermark_seq, "watermark")))


def encode_context(context_id: int, text: str) -> bytes:
    """A CONTEXT frame (version 3, docs/PROTOCOL.md section 3.8): names context `context_id` (1 ..
    2^32 - 1) as `text` (at most 256 bytes of UTF-8)."""
    if not isinstance(context_id, int) or not 1 <= context_id < 1 << 32:
        raise ProtocolError("PROTO_INVALID_FIELD", f"context id {context_id!r} is not in 1..2^32-1")
    return _frame(CONTEXT, struct.pack("<I", context_id) + _string(text, MAX_CONTEXT_BYTES, "context text"))


def encode_goodbye() -> bytes:
    return _frame(GOODBYE, b"")


@dataclass(frozen=True)
class Welcome:
    version: int
    max_frame_bytes: int


@dataclass(frozen=True)
class ResyncRequest:
    device_id: int
    reason: str


@dataclass(frozen=True)
class ServerError:
    code: str
    message: str


ServerFrame = Union[Welcome, ResyncRequest, ServerError]


class ServerFrameDecoder:
    """Splits the server's byte stream into frames, whatever the chunking. Buffers at most one frame of
    the default limit; after the first error it decodes nothing more."""

    def __init__(self, max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES) -> None:
        self._buffer = bytearray()
        self._max = max_frame_bytes
        self.error: Optional[ProtocolError] = None

    def feed(self, chunk: bytes) -> List[ServerFrame]:
        if self.error is not None:
            return []
        self._buffer += chunk
        frames: List[ServerFrame] = []
        buf = self._buffer
        while len(buf) >= 4:
            (length,) = struct.unpack_from("<I", buf, 0)
            if length == 0:
                self.error = ProtocolError("PROTO_EMPTY_FRAME", "frame length 0")
                break
            if length > self._max:
                self.error = ProtocolError("PROTO_FRAME_TOO_LARGE", f"frame length {length} above {self._max}")
                break
            if len(buf) < 4 + length:
                break
            body = bytes(buf[4:4 + length])
            del buf[:4 + length]
            try:
                frames.append(_decode_server_frame(body))
            except ProtocolError as error:
                self.error = error
                break
        return frames


def _read_string(body: bytes, offset: int, limit: int) -> Tuple[str, int]:
    if offset + 2 > len(body):
        raise ProtocolError("PROTO_FRAME_TOO_SHORT", "string length cut off")
    (length,) = struct.unpack_from("<H", body, offset)
    if length > limit:
        raise ProtocolError("PROTO_STRING_TOO_LONG", f"string of {length} bytes, at most {limit}")
    end = offset + 2 + length
    if end > len(body):
        raise ProtocolError("PROTO_FRAME_TOO_SHORT", "string cut off")
    try:
        return body[offset + 2:end].decode("utf-8"), end
    except UnicodeDecodeError:
        raise ProtocolError("PROTO_BAD_UTF8", "string is not well-formed UTF-8") from None


def _decode_server_frame(body: bytes) -> ServerFrame:
    frame_type = body[0]
    if frame_type == WELCOME:
        if len(body) != 11:
            raise ProtocolError("PROTO_LENGTH_MISMATCH", f"WELCOME of {len(body)} bytes, expected 11")
        magic, version, max_frame = struct.unpack_from("<IHI", body, 1)
        if magic != MAGIC:
            raise ProtocolError("PROTO_BAD_MAGIC", f"magic {magic:#x}")
        if version not in (1, 2, 3):
            raise ProtocolError("PROTO_UNSUPPORTED_VERSION", f"version {version}")
        if not MIN_MAX_FRAME_BYTES <= max_frame <= DEFAULT_MAX_FRAME_BYTES:
            raise ProtocolError("PROTO_INVALID_FIELD", f"max frame {max_frame}")
        return Welcome(version, max_frame)
    if frame_type == RESYNC_REQUEST:
        if len(body) < 3:
            raise ProtocolError("PROTO_FRAME_TOO_SHORT", "RESYNC_REQUEST cut off")
        (device_id,) = struct.unpack_from("<H", body, 1)
        reason, end = _read_string(body, 3, 1024)
        if end != len(body):
            raise ProtocolError("PROTO_LENGTH_MISMATCH", "bytes after RESYNC_REQUEST")
        return ResyncRequest(device_id, reason)
    if frame_type == ERROR:
        code, offset = _read_string(body, 1, 64)
        message, end = _read_string(body, offset, 4096)
        if end != len(body):
            raise ProtocolError("PROTO_LENGTH_MISMATCH", "bytes after ERROR")
        if not _ERROR_CODE.match(code):
            raise ProtocolError("PROTO_INVALID_ERROR_CODE", f"error code {code!r}")
        return ServerError(code, message)
    if 1 <= frame_type <= CONTEXT:
        raise ProtocolError("PROTO_UNEXPECTED_FRAME", f"a server never sends frame type {frame_type}")
    raise ProtocolError("PROTO_UNKNOWN_FRAME_TYPE", f"frame type {frame_type}")
