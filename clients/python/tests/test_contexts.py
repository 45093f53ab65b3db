"""Allocation contexts (docs/PROTOCOL.md section 3.8) against scripted servers on real Unix sockets: a
definition goes out before the first event citing it and again after HELLO on a new connection,
snapshots carry contexts, a server that refuses version 3 gets version 2 without contexts."""

import socket
import struct
import threading
import unittest

from support import ScriptedServer, wait_for

from allocwatch import Client, Device, InvalidOptionError, MemoryType, wire


def contexts_of(frames):
    out = []
    for frame_type, body in frames:
        if frame_type == wire.CONTEXT:
            (context_id, length) = struct.unpack_from("<IH", body, 0)
            out.append((context_id, body[6:6 + length].decode()))
    return out


def records_of(frames):
    records = []
    for frame_type, body in frames:
        if frame_type == wire.EVENTS:
            (count,) = struct.unpack_from("<I", body, 0)
            records += [wire.EVENT_RECORD.unpack_from(body, 4 + 48 * i) for i in range(count)]
    return records


class ContextTest(unittest.TestCase):
    def setUp(self):
        self.clients, self.servers = [], []

    def tearDown(self):
        for client in self.clients:
            client.close(1000)
        for server in self.servers:
            server.close()

    def open(self, **server_options):
        server = ScriptedServer(**server_options)
        self.servers.append(server)
        live = []
        lock = threading.Lock()

        def snapshot(device_id, snap):
            with lock:
                snap.begin(client.stamp_current(device_id), len(live))
                for entry in live:
                    snap.add(*entry)

        client = Client([Device(0, "n150", "wormhole_b0")], snapshot, socket_path=server.path,
                        reconnect_initial_ms=10, reconnect_max_ms=50)
        self.clients.append(client)
        return server, client, live

    def test_definitions_precede_their_first_use_and_follow_every_hello(self):
        server, client, live = self.open()
        wait_for(lambda: client.connected, what="the connection")
        matmul = client.define_context("ttnn.matmul")
        self.assertEqual(matmul, 1)
        self.assertEqual(client.define_context("ttnn.matmul"), 1)
        for bad in ("", "x" * 257, None, 5):
            with self.assertRaises(InvalidOptionError):
                client.define_context(bad)
        seq = client.stamp(0)
        client.record_alloc(0, seq, MemoryType.DRAM, 1, 0x1000, 4096, context=matmul)
        live.append((MemoryType.DRAM, 1, 0x1000, 4096, matmul))
        seq = client.stamp(0)
        client.record_alloc(0, seq, MemoryType.DRAM, 2, 0x2000, 4096)
        live.append((MemoryType.DRAM, 2, 0x2000, 4096))
        self.assertTrue(client.flush(5000))
        wait_for(lambda: len(records_of(server.frames())) == 2, what="two events")
        frames = server.frames()
        self.assertEqual(contexts_of(frames), [(1, "ttnn.matmul")])
        first_context = next(i for i, f in enumerate(frames) if f[0] == wire.CONTEXT)
        first_events = next(i for i, f in enumerate(frames) if f[0] == wire.EVENTS)
        self.assertLess(first_context, first_events)
        self.assertEqual([r[3] for r in records_of(frames)], [1, 0])  # the context id field
        # A new connection: HELLO, the definitions, then the snapshot citing them.
        server.connections[-1]["sock"].shutdown(socket.SHUT_RDWR)
        wait_for(lambda: len(server.connections) == 2 and client.connected, what="the reconnect")
        self.assertTrue(client.flush(5000))
        wait_for(lambda: any(t == wire.SNAPSHOT_END for t, _ in server.frames()), what="the snapshot")
        frames = server.frames()
        self.assertEqual(frames[0][0], wire.HELLO)
        self.assertEqual(frames[1][0], wire.CONTEXT)
        chunk = next(body for t, body in frames if t == wire.SNAPSHOT_CHUNK)
        entries = sorted((wire.SNAPSHOT_RECORD.unpack_from(chunk, 6 + 32 * i) for i in range(2)), key=lambda e: e[2])
        self.assertEqual([(e[2], e[1]) for e in entries], [(1, 1), (2, 0)])

    def test_an_older_server_gets_version_2_no_contexts_and_no_error(self):
        server, client, _ = self.open(versions=(1, 2))
        errors = []
        client._on_error = errors.append
        wait_for(lambda: client.connected, what="a connection in version 2")
        hellos = [struct.unpack_from("<H", c["frames"][0][1], 4)[0] for c in server.connections]
        self.assertEqual(hellos, [3, 2])
        matmul = client.define_context("ttnn.matmul")
        seq = client.stamp(0)
        client.record_alloc(0, seq, MemoryType.DRAM, 1, 0x1000, 4096, context=matmul)
        self.assertTrue(client.flush(5000))
        wait_for(lambda: len(records_of(server.frames())) == 1, what="the event")
        self.assertEqual(contexts_of(server.frames()), [])
        self.assertEqual(records_of(server.frames())[0][3], 0)
        self.assertEqual(errors, [])


if __name__ == "__main__":
    unittest.main()
