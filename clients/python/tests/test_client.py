"""The client against scripted servers on real Unix sockets: frames, drops, stamps, resync, GOODBYE."""

import os
import struct
import threading
import time
import unittest

from support import ScriptedServer, wait_for

from allocwatch import Client, Device, InvalidOptionError, MemoryType, wire


def resync_request(device_id: int, reason: str = "gap") -> bytes:
    data = reason.encode()
    return struct.pack("<IBHH", 1 + 2 + 2 + len(data), wire.RESYNC_REQUEST, device_id, len(data)) + data


class ClientTest(unittest.TestCase):
    def setUp(self):
        self.clients = []
        self.servers = []

    def tearDown(self):
        for client in self.clients:
            client.close(1000)
        for server in self.servers:
            server.close()

    def server(self, **kwargs) -> ScriptedServer:
        server = ScriptedServer(**kwargs)
        self.servers.append(server)
        return server

    def client(self, path, live=None, **kwargs) -> Client:
        live = live if live is not None else []
        lock = threading.Lock()

        def snapshot(device_id, snap):
            with lock:
                snap.begin(client.stamp_current(device_id), len(live))
                for entry in live:
                    snap.add(*entry)

        client = Client([Device(0, "n150", "wormhole_b0", (1 << 30,)), Device(5)], snapshot, socket_path=path,
                        reconnect_initial_ms=10, reconnect_max_ms=50, **kwargs)
        self.clients.append(client)
        return client

    def test_hello_then_events_in_seq_order_then_goodbye(self):
        server = self.server()
        client = self.client(server.path)
        for _ in range(3):
            seq = client.stamp(0)
            client.record_alloc(0, seq, MemoryType.L1, seq, 0x100 * seq, 64)
        self.assertTrue(client.flush(5000))
        client.close(2000)
        frames = server.frames()
        self.assertEqual(frames[0][0], wire.HELLO)
        hello = frames[0][1]
        self.assertEqual(struct.unpack_from("<IH", hello, 0), (wire.MAGIC, 3))
        self.assertEqual(hello[6:22], client.session_id)
        self.assertEqual(hello[22:38], client.resume_secret)
        self.assertEqual(struct.unpack_from("<I", hello, 38)[0], os.getpid())
        with open("/proc/self/stat") as stat:
            self.assertEqual(struct.unpack_from("<Q", hello, 42)[0], int(stat.read().rsplit(")", 1)[1].split()[19]))
        records = []
        for frame_type, body in frames[1:]:
            if frame_type == wire.EVENTS:
                (count,) = struct.unpack_from("<I", body, 0)
                records += [wire.EVENT_RECORD.unpack_from(body, 4 + 48 * i) for i in range(count)]
        self.assertEqual([(r[0], r[1], r[2], r[4], r[5], r[6], r[7]) for r in records],
                         [(1, 1, 0, s, s, 0x100 * s, 64) for s in (1, 2, 3)])
        self.assertEqual(frames[-1][0], wire.GOODBYE)
        self.assertEqual(client.counters.events_sent, 3)
        self.assertEqual(client.counters.connects, 1)

    def test_a_full_batch_is_sent_at_once_without_waiting_for_the_interval(self):
        server = self.server()
        client = self.client(server.path, batch_events=16, flush_interval_ms=600_000)

        def events_received():
            return sum(struct.unpack_from("<I", b, 0)[0] for t, b in server.frames() if t == wire.EVENTS)

        wait_for(lambda: client.connected, what="WELCOME")
        client.record_alloc(0, client.stamp(0), 0, 1, 0, 32)
        wait_for(lambda: events_received() == 1, what="the first event (idle poll)")
        # The writer now waits a 10-minute flush interval: only the full batch can wake it.
        for allocation_id in range(2, 18):
            client.record_alloc(0, client.stamp(0), 0, allocation_id, 0, 32)
        wait_for(lambda: events_received() == 17, timeout_s=20, what="the full batch, before the interval")

    def test_a_full_queue_drops_and_counts_without_blocking_the_caller(self):
        server = self.server(welcome=False)  # accepts, never answers HELLO: nothing is ever written
        client = self.client(server.path, queue_events=100, handshake_timeout_ms=60_000)
        wait_for(lambda: server.connections, what="the client to connect")
        started = time.perf_counter()
        for _ in range(10_000):
            seq = client.stamp(0)
            client.record_alloc(0, seq, 0, seq, 0, 32)
        elapsed = time.perf_counter() - started
        counters = client.counters
        self.assertEqual(counters.events_recorded, 10_000)
        self.assertGreaterEqual(counters.events_dropped, 10_000 - 100)
        self.assertEqual(counters.events_sent, 0)
        self.assertLess(elapsed, 2.0, "10k record calls must not wait for the server")

    def test_stamps_are_unique_and_dense_from_many_threads(self):
        client = self.client("/nonexistent/allocwatch.sock")
        per_thread, threads = 20_000, 8
        results = [[] for _ in range(threads)]

        def take(out):
            stamp = client.stamp
            for _ in range(per_thread):
                out.append(stamp(5))

        workers = [threading.Thread(target=take, args=(r,)) for r in results]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        every = sorted(s for r in results for s in r)
        self.assertEqual(every, list(range(1, per_thread * threads + 1)))
        self.assertEqual(client.stamp_current(5), per_thread * threads)
        self.assertEqual(client.stamp_current(0), 0)

    def test_resync_request_is_answered_with_the_programs_snapshot(self):
        server = self.server()
        live = [(MemoryType.DRAM, 7, 0x2000, 4096), (MemoryType.CB, 8, 0x40, 96)]
        client = self.client(server.path, live=live)
        for _ in range(4):
            client.stamp(0)
        wait_for(lambda: client.connected, what="WELCOME")
        server.send(resync_request(0))
        wait_for(lambda: any(t == wire.SNAPSHOT_END for t, _ in server.frames()), what="the snapshot")
        frames = [(t, b) for t, b in server.frames() if t in (wire.SNAPSHOT_BEGIN, wire.SNAPSHOT_CHUNK,
                                                               wire.SNAPSHOT_END)]
        self.assertEqual(frames[0], (wire.SNAPSHOT_BEGIN, struct.pack("<HQI", 0, 4, 2)))
        self.assertEqual(frames[1][1][:6], struct.pack("<HI", 0, 2))
        self.assertEqual(wire.SNAPSHOT_RECORD.unpack_from(frames[1][1], 6), (0, 0, 7, 0x2000, 4096))
        self.assertEqual(frames[-1], (wire.SNAPSHOT_END, struct.pack("<HQ", 0, 4)))
        self.assertEqual(client.counters.resync_requests, 1)
        self.assertGreaterEqual(client.counters.snapshots_sent, 1)

    def test_drops_are_healed_by_a_snapshot_once_the_queue_drains(self):
        server = self.server()
        client = self.client(server.path, queue_events=10, flush_interval_ms=50)
        wait_for(lambda: client.connected, what="WELCOME")
        for _ in range(50):  # faster than a 50 ms writer: the queue of 10 overflows
            seq = client.stamp(0)
            client.record_alloc(0, seq, 0, seq, 0, 32)
        self.assertGreater(client.counters.events_dropped, 0)
        self.assertTrue(client.flush(5000))
        # flush() means handed to the kernel; the scripted server reads on its own thread.
        wait_for(lambda: any(t == wire.SNAPSHOT_END for t, _ in server.frames()), what="the snapshot")
        begins = [b for t, b in server.frames() if t == wire.SNAPSHOT_BEGIN]
        self.assertEqual(begins, [struct.pack("<HQI", 0, 50, 0)], "device 0 resent whole at watermark 50")
        # After the snapshot, the device's events flow again.
        seq = client.stamp(0)
        client.record_free(0, seq, 0, 1, 0, 32)
        self.assertTrue(client.flush(5000))
        self.assertEqual(client.counters.events_dropped + client.counters.events_sent, 51)

    def test_a_server_error_frame_reconnects_and_resyncs_every_device(self):
        server = self.server()
        errors = []
        client = self.client(server.path, on_error=errors.append)
        wait_for(lambda: client.connected, what="WELCOME")
        server.send(bytes.fromhex("0a000000080300") + b"OOM" + bytes.fromhex("0200") + b"hi")
        wait_for(lambda: client.counters.connects == 2, what="a second connection")
        wait_for(lambda: len([t for t, _ in server.frames() if t == wire.SNAPSHOT_END]) == 2,
                 what="a snapshot of both devices on the new connection")
        self.assertEqual(errors[0].code, "OOM")
        self.assertGreaterEqual(client.counters.disconnects, 1)

    def test_no_server_flush_returns_and_close_is_quick(self):
        client = self.client("/nonexistent/dir/allocwatch.sock")
        seq = client.stamp(0)
        client.record_alloc(0, seq, 0, 1, 0, 32)
        started = time.monotonic()
        self.assertTrue(client.flush(5000))
        client.close(5000)
        self.assertLess(time.monotonic() - started, 3.0)
        self.assertEqual(client.counters.events_sent, 0)
        client.record_alloc(0, client.stamp(0), 0, 2, 0, 32)  # after close: dropped, never raises

    def test_bad_record_arguments_are_counted_not_raised(self):
        server = self.server()
        client = self.client(server.path)
        client.record_alloc(9, 1, 0, 1, 0, 32)  # device 9 was not announced
        client.record_alloc(70000, 1, 0, 1, 0, 32)
        client.record_alloc(0, client.stamp(0), 9, 1, 0, 32)  # memory type 9: found by the writer
        client.record_alloc(0, client.stamp(0), 1, 2, 0.5, 32)  # not an int: found by the writer
        client.record_alloc(0, client.stamp(0), 1, 3, 0, 1 << 53)  # past 2^53
        self.assertTrue(client.flush(5000))
        self.assertEqual(client.counters.events_invalid, 5)
        self.assertEqual(client.counters.events_sent, 0)
        self.assertTrue(client.connected, "the connection was not put at risk")
        self.assertEqual(client.counters.connects, 1)
        # The holes the writer found in device 0's numbers are healed: the device is resent whole.
        self.assertGreaterEqual(client.counters.snapshots_sent, 1)

    def test_invalid_options_are_refused_at_construction(self):
        for kwargs in ({"queue_events": 0}, {"batch_events": "x"}, {"process_name": "p" * 300}):
            with self.assertRaises(InvalidOptionError):
                Client([Device(0)], socket_path="/nonexistent", **kwargs)
        with self.assertRaises(InvalidOptionError):
            Client([], socket_path="/nonexistent")
        with self.assertRaises(InvalidOptionError):
            Client([Device(1), Device(1)], socket_path="/nonexistent")


if __name__ == "__main__":
    unittest.main()
