"""The allocwatch client: reports a program's device allocations to the allocation server over the
native protocol (docs/PROTOCOL.md, version 3; version 2 with a server that refuses 3), exactly, whatever
the interleaving of its threads.

    seq = client.stamp(device_id)          # INSIDE the allocator's lock: the device's next number
    client.record_alloc(device_id, seq, MemoryType.DRAM, allocation_id, address, size)   # after it

What an allocation is for (its context, e.g. the TT-NN operation "ttnn.matmul"): define the text once,
`ctx = client.define_context("ttnn.matmul")`, and pass `context=ctx` to record_alloc (and to
Snapshot.add). The writer sends each definition before the first event citing it, and again on every
new connection; leak reports group by it.

record_* appends one tuple to a bounded queue (no system call, no lock, never blocks, never raises for
bad input: it is counted). A background writer thread batches the queue into EVENTS frames, connects and
reconnects with backoff, answers RESYNC_REQUEST with a snapshot the program lists through its callback,
and resends a device whole (snapshot) after events of it were dropped or the connection was lost.
"""

import itertools
import os
import random
import select
import socket
import struct
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable, Deque, Dict, List, Optional, Sequence, Tuple

from . import wire
from .errors import AllocwatchError, InvalidOptionError, ProtocolError, SnapshotError
from .identity import default_process_name, default_socket_path, process_start_ticks
from .wire import Device

_monotonic_ns = time.monotonic_ns
_NOSIGNAL = getattr(socket, "MSG_NOSIGNAL", 0)  # EPIPE instead of SIGPIPE (Linux)
_GIL_ENABLED = getattr(sys, "_is_gil_enabled", lambda: True)()

#: Defaults, as the C client's (clients/c/allocwatch.h allocwatch_options).
DEFAULT_QUEUE_EVENTS = 65536
DEFAULT_BATCH_EVENTS = 1024
DEFAULT_FLUSH_INTERVAL_MS = 5
DEFAULT_RECONNECT_INITIAL_MS = 50
DEFAULT_RECONNECT_MAX_MS = 2000
DEFAULT_HANDSHAKE_TIMEOUT_MS = 5000
DEFAULT_SEND_TIMEOUT_MS = 10000
#: A snapshot chunk carries at most this many records (well within the 1 MiB frame).
SNAPSHOT_CHUNK_RECORDS = 4096
#: With nothing queued the writer looks at the queue this often, ms (the first event after a quiet
#: spell waits at most this long; flush() wakes the writer at once).
IDLE_POLL_MS = 50
RECONNECT_JITTER = 0.25


class Snapshot:
    """What the snapshot callback fills: begin(watermark, count) once, then add() once per live
    allocation, all under the allocator's lock."""

    __slots__ = ("device_id", "watermark_seq", "expected", "records")

    def __init__(self, device_id: int) -> None:
        self.device_id = device_id
        self.watermark_seq: Optional[int] = None
        self.expected = 0
        self.records: List[Tuple[int, int, int, int, int]] = []

    def begin(self, watermark_seq: int, allocations: int) -> None:
        """`watermark_seq`: Client.stamp_current(device) read under the lock; `allocations`: how many
        add() calls follow."""
        if self.watermark_seq is not None:
            raise SnapshotError("Snapshot.begin called twice")
        if not isinstance(watermark_seq, int) or not 0 <= watermark_seq < wire.U64_LIMIT:
            raise SnapshotError(f"watermark {watermark_seq!r} is not in [0, 2^53)")
        if not isinstance(allocations, int) or not 0 <= allocations < 1 << 32:
            raise SnapshotError(f"allocation count {allocations!r} is not a u32")
        self.watermark_seq = watermark_seq
        self.expected = allocations

    def add(self, memory_type: int, allocation_id: int, address: int, size_bytes: int,
            context: int = 0) -> None:
        """One live allocation; `context`: its id from Client.define_context (0 = none)."""
        if self.watermark_seq is None:
            raise SnapshotError("Snapshot.add before Snapshot.begin")
        if len(self.records) >= self.expected:
            raise SnapshotError(f"more than the {self.expected} allocations announced by begin()")
        if not (0 <= memory_type < wire.MEMORY_TYPE_COUNT and 0 <= allocation_id < wire.U64_LIMIT
                and 0 <= address < wire.U64_LIMIT and 0 <= size_bytes < wire.U64_LIMIT):
            raise SnapshotError(f"allocation ({memory_type}, {allocation_id}, {address}, {size_bytes}) "
                                "cannot be sent")
        if not isinstance(context, int) or not 0 <= context < 1 << 32:
            raise SnapshotError(f"context {context!r} is not an id from define_context")
        self.records.append((int(memory_type), allocation_id, address, size_bytes, context))

    def frames(self, max_frame_bytes: int, contexts_sent: int = 0) -> List[bytes]:
        """The snapshot's frames; contexts above `contexts_sent` (not defined on this connection, or a
        version 2 connection: 0) are sent as none."""
        if self.watermark_seq is None:
            raise SnapshotError("the snapshot callback returned without calling Snapshot.begin")
        if len(self.records) != self.expected:
            raise SnapshotError(f"begin() announced {self.expected} allocations, add() gave {len(self.records)}")
        per_chunk = min(SNAPSHOT_CHUNK_RECORDS, wire.max_snapshot_records_per_chunk(max_frame_bytes))
        frames = [wire.encode_snapshot_begin(self.device_id, self.watermark_seq, self.expected)]
        records = [r if r[4] <= contexts_sent else r[:4] + (0,) for r in self.records]
        for start in range(0, len(records), per_chunk):
            frames.append(wire.encode_snapshot_chunk(self.device_id, records[start:start + per_chunk]))
        frames.append(wire.encode_snapshot_end(self.device_id, self.watermark_seq))
        return frames


SnapshotCallback = Callable[[int, Snapshot], None]


@dataclass(frozen=True)
class Counters:
    """What the client did since it was opened."""

    events_recorded: int  #: record_alloc/record_free calls
    events_sent: int  #: events written to a connection
    events_dropped: int  #: recorded but not sent: queue full, no server, or lost with a connection
    events_invalid: int  #: record calls with values the wire cannot carry or an unannounced device
    snapshots_sent: int
    resync_requests: int  #: RESYNC_REQUEST frames received
    connects: int  #: WELCOMEs received
    disconnects: int
    errors: int  #: errors reported to on_error (connection failures, server ERROR frames, snapshots)


def _count_value(counter: "itertools.count[int]") -> int:
    """The next value an itertools.count would give (it has no accessor; its repr is `count(N)`)."""
    return int(repr(counter)[6:-1])


class Client:
    """One process's reporter. Create it once per process (it is thread-safe), call stamp() inside the
    allocator's lock and record_alloc()/record_free() after it, close() at exit."""

    def __init__(
        self,
        devices: Sequence[Device],
        snapshot: Optional[SnapshotCallback] = None,
        *,
        socket_path: Optional[str] = None,
        process_name: Optional[str] = None,
        queue_events: int = DEFAULT_QUEUE_EVENTS,
        batch_events: int = DEFAULT_BATCH_EVENTS,
        flush_interval_ms: int = DEFAULT_FLUSH_INTERVAL_MS,
        reconnect_initial_ms: int = DEFAULT_RECONNECT_INITIAL_MS,
        reconnect_max_ms: int = DEFAULT_RECONNECT_MAX_MS,
        handshake_timeout_ms: int = DEFAULT_HANDSHAKE_TIMEOUT_MS,
        send_timeout_ms: int = DEFAULT_SEND_TIMEOUT_MS,
        on_error: Optional[Callable[[AllocwatchError], None]] = None,
    ) -> None:
        """Validates the options (InvalidOptionError), starts the writer thread and returns at once: it
        connects in the background, and no server is not an error. `snapshot(device_id, snap)` is called
        on the writer thread; without it, dropped events cannot be healed."""
        for name, value, low in (("queue_events", queue_events, 1), ("batch_events", batch_events, 1),
                                 ("flush_interval_ms", flush_interval_ms, 1),
                                 ("reconnect_initial_ms", reconnect_initial_ms, 1),
                                 ("reconnect_max_ms", reconnect_max_ms, reconnect_initial_ms),
                                 ("handshake_timeout_ms", handshake_timeout_ms, 1),
                                 ("send_timeout_ms", send_timeout_ms, 1)):
            if not isinstance(value, int) or value < low:
                raise InvalidOptionError(f"{name} must be an integer >= {low}, got {value!r}")
        if not devices:
            raise InvalidOptionError("devices: list at least one device the process reports on")
        self.session_id = os.urandom(16)
        self.resume_secret = os.urandom(16)  # never leaves this process but in HELLO
        self.socket_path = socket_path or default_socket_path()
        self.devices: Tuple[Device, ...] = tuple(devices)
        try:
            hello_fields = (self.session_id, self.resume_secret, os.getpid(), process_start_ticks(),
                            process_name or default_process_name(), self.devices)
            self._hello = wire.encode_hello(*hello_fields)
            self._hello_without_contexts = wire.encode_hello(*hello_fields, version=wire.PRE_CONTEXT_VERSION)
        except ProtocolError as error:
            raise InvalidOptionError(f"devices/process_name: {error.message}") from None
        #: Contexts: the CONTEXT frame of id i + 1 at index i (append-only; len() is what is defined).
        self._context_frames: List[bytes] = []
        self._context_ids: Dict[str, int] = {}
        self._context_lock = threading.Lock()
        #: The writer's: version 3 until a server refuses it; definitions sent on this connection.
        self._contexts_on = True
        self._contexts_sent = 0
        self._snapshot_fn = snapshot
        self._capacity = queue_events
        self._batch_events = min(batch_events, wire.max_events_per_frame(wire.DEFAULT_MAX_FRAME_BYTES))
        #: The queue length at which a record call wakes the writer (one pipe write per batch).
        self._wake_at = self._batch_events - 1
        self._flush_interval_s = flush_interval_ms / 1000
        self._reconnect_initial_s = reconnect_initial_ms / 1000
        self._reconnect_max_s = reconnect_max_ms / 1000
        self._handshake_timeout_s = handshake_timeout_ms / 1000
        self._send_timeout_s = send_timeout_ms / 1000
        self._on_error = on_error
        self.last_error: Optional[AllocwatchError] = None
        self._t0 = _monotonic_ns()

        # Shared with the recording threads: plain objects whose single operations the GIL makes atomic.
        self._queue: Deque[tuple] = deque()
        #: Indexed by device id: None = not announced, False = open, True = gated (events dropped until
        #: the device's next snapshot, which covers them).
        self._gate: List[Optional[bool]] = [None] * (wire.ALL_DEVICES + 1)
        self._stamps: List[Optional["itertools.count[int]"]] = [None] * wire.ALL_DEVICES
        self._stamp_lock = threading.Lock()
        self._last_stamp: List[int] = [0] * wire.ALL_DEVICES
        for device in self.devices:
            self._gate[device.device_id] = False
            self._stamps[device.device_id] = itertools.count(1)
        if not _GIL_ENABLED:  # free-threaded build: next() on a shared count is not promised atomic
            self.stamp = self._stamp_locked  # type: ignore[method-assign]
        self._recorded = itertools.count()
        self._dropped = itertools.count()
        self._invalid = itertools.count()

        # The writer's own (other threads only read them).
        self._sent = 0
        self._snapshots_sent = 0
        self._resync_requests = 0
        self._connects = 0
        self._disconnects = 0
        self._errors = 0
        self._max_frame_bytes = wire.DEFAULT_MAX_FRAME_BYTES
        self._resync: Dict[int, float] = {}  # device id -> earliest monotonic time to take its snapshot
        self._connected = False

        self._cond = threading.Condition()
        self._flush_requested = 0
        self._flush_done = 0
        self._stopping = False
        self._closed = False
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._thread = threading.Thread(target=self._run, name="allocwatch-writer", daemon=True)
        self._thread.start()

    # ---- the allocation path ----

    def stamp(self, device_id: int) -> int:
        """The device's next sequence number (1, 2, ...). Call it INSIDE the allocator's lock."""
        return next(self._stamps[device_id])  # type: ignore[arg-type]

    def _stamp_locked(self, device_id: int) -> int:
        with self._stamp_lock:
            value = self._last_stamp[device_id] + 1
            self._last_stamp[device_id] = value
            return value

    def stamp_current(self, device_id: int) -> int:
        """The last number stamp() gave for the device (0: none yet): a snapshot's watermark. Exact when
        read under the lock that stamp() is called under."""
        if not _GIL_ENABLED:
            return self._last_stamp[device_id]
        counter = self._stamps[device_id]
        if counter is None:
            raise KeyError(f"device {device_id} was not announced")
        return _count_value(counter) - 1

    def define_context(self, text: str) -> int:
        """The id (1, 2, ...) of a context text, defined on first use; the same id for the same text.
        Thread-safe; call it once per text and keep the id. Raises InvalidOptionError for a text that is
        not a non-empty str of at most 256 bytes of UTF-8; returns 0 (no context) once MAX_CONTEXTS
        texts are defined."""
        known = self._context_ids.get(text) if isinstance(text, str) else None
        if known is not None:
            return known
        try:
            frame = wire.encode_context(1, text) if isinstance(text, str) and text else None
        except (ProtocolError, UnicodeEncodeError):
            frame = None
        if frame is None:
            raise InvalidOptionError(f"a context is a non-empty str of at most {wire.MAX_CONTEXT_BYTES} "
                                     f"bytes of UTF-8, got {text!r}")
        with self._context_lock:
            known = self._context_ids.get(text)
            if known is not None:
                return known
            if len(self._context_frames) >= wire.MAX_CONTEXTS:
                return 0
            context_id = len(self._context_frames) + 1
            self._context_frames.append(wire.encode_context(context_id, text))
            self._context_ids[text] = context_id
            return context_id

    def record_alloc(self, device_id: int, seq: int, memory_type: int, allocation_id: int, address: int,
                     size_bytes: int, context: int = 0) -> None:
        """Reports an allocation with its stamp, after the allocator's lock is released. Never blocks.
        `context`: what it is for, an id from define_context (0 = none)."""
        # record_alloc and record_free repeat each other on purpose: a shared helper costs a Python call
        # per event on the caller's thread (python_client_us_per_event).
        next(self._recorded)
        try:
            gate = self._gate[device_id]
        except (IndexError, TypeError):
            gate = None
        queued = len(self._queue)
        if gate is not False or queued >= self._capacity:
            self._lose(device_id, gate)
            return
        self._queue.append((1, memory_type, device_id, seq, allocation_id, address, size_bytes,
                            _monotonic_ns() - self._t0, context))
        if queued == self._wake_at:
            self._wake()  # a full batch: send it now rather than at the next interval

    def record_free(self, device_id: int, seq: int, memory_type: int, allocation_id: int, address: int,
                    size_bytes: int) -> None:
        """Reports a free with its stamp (and the size it frees), after the lock is released."""
        next(self._recorded)
        try:
            gate = self._gate[device_id]
        except (IndexError, TypeError):
            gate = None
        queued = len(self._queue)
        if gate is not False or queued >= self._capacity:
            self._lose(device_id, gate)
            return
        self._queue.append((2, memory_type, device_id, seq, allocation_id, address, size_bytes,
                            _monotonic_ns() - self._t0, 0))
        if queued == self._wake_at:
            self._wake()  # a full batch: send it now rather than at the next interval

    def _lose(self, device_id: int, gate: Optional[bool]) -> None:
        if gate is None:
            next(self._invalid)
            return
        next(self._dropped)
        if gate is False and self._snapshot_fn is not None and not self._closed:
            self._gate[device_id] = True  # the writer sees it and sends the device whole

    # ---- control ----

    @property
    def counters(self) -> Counters:
        return Counters(
            events_recorded=_count_value(self._recorded), events_sent=self._sent,
            events_dropped=_count_value(self._dropped), events_invalid=_count_value(self._invalid),
            snapshots_sent=self._snapshots_sent, resync_requests=self._resync_requests,
            connects=self._connects, disconnects=self._disconnects, errors=self._errors)

    @property
    def connected(self) -> bool:
        return self._connected

    def flush(self, timeout_ms: int = 5000) -> bool:
        """Waits until everything recorded before the call was written to the server (or dropped and
        counted) and every device waiting for a snapshot had it sent; returns at once (True) when there
        is no server. False: timeout_ms passed first."""
        with self._cond:
            if self._closed:
                return True
            self._flush_requested += 1
            ticket = self._flush_requested
        self._wake()
        deadline = time.monotonic() + timeout_ms / 1000
        with self._cond:
            while self._flush_done < ticket and not self._closed:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
        return True

    def close(self, timeout_ms: int = 5000) -> None:
        """Flushes (up to timeout_ms), says GOODBYE, stops the writer thread. Later records are dropped.
        Idempotent."""
        if self._closed or self._stopping:
            self._thread.join(timeout_ms / 1000)
            return
        started = time.monotonic()
        self.flush(timeout_ms)
        with self._cond:
            self._stopping = True
        self._wake()
        self._thread.join(max(0.1, timeout_ms / 1000 - (time.monotonic() - started)))

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _wake(self) -> None:
        try:
            os.write(self._wake_w, b"w")
        except (BlockingIOError, OSError):
            pass  # the pipe is full: the writer is woken anyway

    # ---- the writer thread ----

    def _report(self, error: AllocwatchError) -> None:
        self._errors += 1
        self.last_error = error
        if self._on_error is not None:
            try:
                self._on_error(error)
            except Exception:  # noqa: BLE001 - a failing handler must not stop the writer
                pass

    def _run(self) -> None:
        delay = self._reconnect_initial_s
        try:
            while not self._stopping:
                connection = self._connect()
                if connection is not None:
                    delay = self._reconnect_initial_s
                    self._serve(*connection)
                    if self._stopping:
                        break
                self._connection_lost()
                self._sleep(delay * (1 + random.random() * RECONNECT_JITTER))
                delay = min(self._reconnect_max_s, delay * 2)
        finally:
            with self._cond:
                self._closed = True
                for index, gate in enumerate(self._gate):
                    if gate is False:
                        self._gate[index] = True
                self._cond.notify_all()

    def __del__(self) -> None:
        # The wake pipe lives as long as the object: a record or flush racing close() may still write to
        # it, and a closed descriptor number could meanwhile belong to another file of the program.
        for fd in (getattr(self, "_wake_r", None), getattr(self, "_wake_w", None)):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass

    def _sleep(self, seconds: float) -> None:
        """Backoff: waits, answering flush() at once (there is no server to wait for)."""
        deadline = time.monotonic() + seconds
        while not self._stopping:
            self._settle_flushes(done=True)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            select.select([self._wake_r], [], [], remaining)
            self._drain_wake()

    def _drain_wake(self) -> None:
        try:
            while os.read(self._wake_r, 512):
                pass
        except (BlockingIOError, OSError):
            pass

    def _settle_flushes(self, done: bool, ticket: Optional[int] = None) -> None:
        with self._cond:
            target = self._flush_requested if ticket is None else ticket
            if done and self._flush_done < target:
                self._flush_done = target
                self._cond.notify_all()

    def _connect(self) -> Optional[Tuple[socket.socket, wire.ServerFrameDecoder]]:
        """A connection past its WELCOME, with the decoder holding what followed it; None on failure."""
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(self._handshake_timeout_s)
            sock.connect(self.socket_path)
            sock.sendall(self._hello if self._contexts_on else self._hello_without_contexts, _NOSIGNAL)
            decoder = wire.ServerFrameDecoder()
            deadline = time.monotonic() + self._handshake_timeout_s
            while True:
                sock.settimeout(max(0.001, deadline - time.monotonic()))
                chunk = sock.recv(4096)
                if not chunk:
                    raise ConnectionError("the server closed the connection before WELCOME")
                frames = decoder.feed(chunk)
                if decoder.error is not None:
                    raise decoder.error
                if not frames:
                    continue
                first = frames[0]
                if isinstance(first, wire.ServerError):
                    if first.code == "PROTO_UNSUPPORTED_VERSION" and self._contexts_on:
                        # An older server: speak version 2 (no contexts) from now on, at once and
                        # without an error (docs/PROTOCOL.md section 9).
                        self._contexts_on = False
                        sock.close()
                        return self._connect()
                    raise ProtocolError(first.code, f"the server refused HELLO: {first.message}")
                if not isinstance(first, wire.Welcome):
                    raise ProtocolError("PROTO_UNEXPECTED_FRAME", "the server's first frame is not WELCOME")
                break
        except (OSError, ProtocolError) as error:
            sock.close()
            if isinstance(error, ProtocolError):
                self._report(error)
            else:
                self._report(AllocwatchError(f"cannot connect to {self.socket_path}: {error}"))
            return None
        self._max_frame_bytes = first.max_frame_bytes
        self._connects += 1
        self._connected = True
        sock.settimeout(self._send_timeout_s)
        # Every definition before anything that may cite one (docs/PROTOCOL.md section 3.8).
        self._contexts_sent = 0
        try:
            self._send_contexts(sock, len(self._context_frames))
        except OSError:
            sock.close()
            return None
        for frame in frames[1:]:
            self._handle_frame(frame)
        return sock, decoder

    def _connection_lost(self) -> None:
        """What the kernel did not get is gone, and a new server may know nothing: every device is
        resent whole once a connection is back (when a snapshot callback exists)."""
        self._connected = False
        lost = len(self._queue)
        self._queue.clear()
        for _ in range(lost):
            next(self._dropped)
        if self._snapshot_fn is not None:
            for device in self.devices:
                self._gate[device.device_id] = True
        self._resync.clear()

    def _handle_frame(self, frame: wire.ServerFrame) -> None:
        if isinstance(frame, wire.ResyncRequest):
            self._resync_requests += 1
            if self._snapshot_fn is None:
                self._report(SnapshotError(f"the server asked for a resync ({frame.reason}) "
                                           "but no snapshot callback is set"))
                return
            targets = ([d.device_id for d in self.devices] if frame.device_id == wire.ALL_DEVICES
                       else [frame.device_id] if self._gate[frame.device_id] is not None else [])
            for device_id in targets:
                self._resync.setdefault(device_id, 0.0)
        elif isinstance(frame, wire.ServerError):
            raise ProtocolError(frame.code, f"the server closed the connection: {frame.message}")
        else:
            raise ProtocolError("PROTO_UNEXPECTED_FRAME", f"the server sent {type(frame).__name__} again")

    def _serve(self, sock: socket.socket, decoder: wire.ServerFrameDecoder) -> None:
        """One connection's life: write batches and snapshots, read the server's requests."""
        batch_limit = min(self._batch_events, wire.max_events_per_frame(self._max_frame_bytes))
        queue = self._queue
        try:
            while True:
                with self._cond:
                    ticket = self._flush_requested
                    stopping = self._stopping
                sent_before = self._sent
                self._write_events(sock, queue, batch_limit)
                self._write_snapshots(sock)
                if not queue and not self._pending_resyncs():
                    self._settle_flushes(True, ticket)
                if stopping:
                    self._goodbye(sock)
                    return
                # While events flow, send every flush interval; after a quiet round, poll slowly (a
                # record that fills a batch, flush() and close() wake the writer at once).
                busy = queue or self._sent != sent_before
                timeout = self._flush_interval_s if busy else IDLE_POLL_MS / 1000
                readable, _, _ = select.select([sock, self._wake_r], [], [], timeout)
                if self._wake_r in readable:
                    self._drain_wake()
                if sock in readable:
                    chunk = sock.recv(65536)
                    if not chunk:
                        raise ConnectionError("the server closed the connection")
                    for frame in decoder.feed(chunk):
                        self._handle_frame(frame)
                    if decoder.error is not None:
                        raise decoder.error
        except (OSError, ProtocolError) as error:
            self._report(error if isinstance(error, ProtocolError)
                         else AllocwatchError(f"connection to {self.socket_path} lost: {error}"))
        except Exception as error:  # noqa: BLE001 - a defect here must not end the writer: reconnect
            self._report(AllocwatchError(f"writer failed ({error!r}); reconnecting"))
        finally:
            self._disconnects += 1
            self._connected = False
            sock.close()

    def _send_contexts(self, sock: socket.socket, defined: int) -> None:
        """Sends the definitions not yet sent on this connection, up to id `defined` (version 3 only)."""
        if not self._contexts_on or self._contexts_sent >= defined:
            return
        sock.sendall(b"".join(self._context_frames[self._contexts_sent:defined]), _NOSIGNAL)
        self._contexts_sent = defined

    def _write_events(self, sock: socket.socket, queue: Deque[tuple], batch_limit: int) -> None:
        pack = wire.EVENT_RECORD.pack_into
        valid = wire.event_fields_valid
        contexts_on = self._contexts_on
        while queue:
            buf = bytearray(wire.EVENTS_HEADER_BYTES + wire.EVENT_RECORD_BYTES * batch_limit)
            offset = wire.EVENTS_HEADER_BYTES
            count = 0
            popleft = queue.popleft
            while count < batch_limit:
                try:
                    op, memory_type, device_id, seq, allocation_id, address, size, ts, context = popleft()
                except IndexError:
                    break
                if not valid(op, memory_type, device_id, seq, allocation_id, address, size, ts):
                    self._invalid_at_writer(device_id)
                    continue
                if context:
                    if not contexts_on:
                        context = 0
                    elif context > self._contexts_sent:
                        # Defined before this record was queued: its definition goes out first (the
                        # frame being built is sent after it). An id never defined is sent as none.
                        defined = len(self._context_frames)
                        if isinstance(context, int) and 0 < context <= defined:
                            self._send_contexts(sock, defined)
                        else:
                            context = 0
                try:
                    pack(buf, offset, op, memory_type, device_id, context, seq, allocation_id, address, size, ts)
                except struct.error:  # in range but not an int (e.g. 1.5): the wire cannot carry it
                    self._invalid_at_writer(device_id)
                    continue
                offset += wire.EVENT_RECORD_BYTES
                count += 1
            if count == 0:
                return
            del buf[offset:]
            wire.EVENTS_HEADER.pack_into(buf, 0, 5 + wire.EVENT_RECORD_BYTES * count, wire.EVENTS, count)
            sock.sendall(buf, _NOSIGNAL)
            self._sent += count

    def _invalid_at_writer(self, device_id: object) -> None:
        """A record the wire cannot carry leaves a hole in its device's numbers: resend the device."""
        next(self._invalid)
        if isinstance(device_id, int) and 0 <= device_id < wire.ALL_DEVICES and \
                self._gate[device_id] is False and self._snapshot_fn is not None:
            self._gate[device_id] = True

    def _pending_resyncs(self) -> bool:
        return bool(self._resync) or (self._snapshot_fn is not None
                                      and any(self._gate[d.device_id] for d in self.devices))

    def _write_snapshots(self, sock: socket.socket) -> None:
        if self._snapshot_fn is None:
            return
        # A snapshot may cite any context defined so far: those definitions go first.
        self._send_contexts(sock, len(self._context_frames))
        now = time.monotonic()
        for device in self.devices:
            device_id = device.device_id
            if self._gate[device_id] and device_id not in self._resync:
                self._resync[device_id] = 0.0
        for device_id, due in list(self._resync.items()):
            if due > now:
                continue
            # Open the gate first: an event stamped after the snapshot's watermark is then queued (and
            # sent after the snapshot); one dropped while gated was stamped before it, so it is covered.
            self._gate[device_id] = False
            snap = Snapshot(device_id)
            try:
                self._snapshot_fn(device_id, snap)
                frames = snap.frames(self._max_frame_bytes, self._contexts_sent if self._contexts_on else 0)
            except Exception as error:  # noqa: BLE001 - the program's callback may raise anything
                self._report(error if isinstance(error, AllocwatchError)
                             else SnapshotError(f"snapshot of device {device_id} failed: {error!r}"))
                self._gate[device_id] = True
                self._resync[device_id] = now + self._reconnect_max_s  # ask again later, never spin
                continue
            del self._resync[device_id]
            for frame in frames:
                sock.sendall(frame, _NOSIGNAL)
            self._snapshots_sent += 1

    def _goodbye(self, sock: socket.socket) -> None:
        sock.sendall(wire.encode_goodbye(), _NOSIGNAL)
        try:
            sock.shutdown(socket.SHUT_WR)
            sock.settimeout(1.0)
            while sock.recv(4096):  # until the server closes its side
                pass
        except OSError:
            pass
