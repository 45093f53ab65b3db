"""Frames byte-exact against docs/PROTOCOL.md section 8 and test/protocol/golden-frames.txt."""

import unittest

from support import from_hex, golden  # noqa: F401 (also puts the package on sys.path)

from allocwatch import Device, MemoryType, ProtocolError, wire

# The shared wire bytes (docs/PROTOCOL.md section 8), the same file the TypeScript and C tests read.
HELLO = golden("hello")
CONTEXT = golden("context")
EVENTS_V3 = golden("events-v3")
EVENTS = golden("events")
SNAPSHOT = golden("snapshot")
GOODBYE = golden("goodbye")


class EncodeTest(unittest.TestCase):
    def test_hello_is_the_worked_example(self):
        frame = wire.encode_hello(
            bytes.fromhex("00112233445566778899aabbccddeeff"), bytes.fromhex("0f1e2d3c4b5a69788796a5b4c3d2e1f0"),
            1234, 5678, "python3", [Device(0, "n150", "wormhole_b0", (12884901888, 1499136, 0, 65536))],
            version=2)
        self.assertEqual(frame.hex(), HELLO.hex())
        self.assertEqual(len(frame), 143)
        # The client says version 3 first: the same layout.
        v3 = wire.encode_hello(
            bytes.fromhex("00112233445566778899aabbccddeeff"), bytes.fromhex("0f1e2d3c4b5a69788796a5b4c3d2e1f0"),
            1234, 5678, "python3", [Device(0, "n150", "wormhole_b0", (12884901888, 1499136, 0, 65536))])
        self.assertEqual(v3[9:11], b"\x03\x00")
        self.assertEqual(v3[:9] + v3[11:], frame[:9] + frame[11:])

    def test_context_then_events_citing_it_is_the_version_3_worked_example(self):
        # docs/PROTOCOL.md section 8: CONTEXT 1 "ttnn.matmul", then an ALLOC citing it and its FREE.
        frame = wire.encode_context(1, "ttnn.matmul") + wire.encode_events([
            (wire.OP_ALLOC, MemoryType.DRAM, 0, 1, 1, 0x1000, 4096, 123, 1),
            (wire.OP_FREE, MemoryType.DRAM, 0, 2, 1, 0x1000, 4096, 456),
        ])
        self.assertEqual(frame.hex(), (CONTEXT + EVENTS_V3).hex())
        for text, code in ((0, "PROTO_INVALID_FIELD"), (1 << 32, "PROTO_INVALID_FIELD")):
            with self.assertRaises(wire.ProtocolError) as raised:
                wire.encode_context(text, "x")
            self.assertEqual(raised.exception.code, code)
        with self.assertRaises(wire.ProtocolError) as raised:
            wire.encode_context(1, "é" * 129)
        self.assertEqual(raised.exception.code, "PROTO_STRING_TOO_LONG")

    def test_snapshot_entries_carry_their_context(self):
        chunk = wire.encode_snapshot_chunk(3, [(1, 7, 0x200000, 1024, 1), (0, 8, 0, 64)])
        self.assertEqual(wire.SNAPSHOT_RECORD.unpack_from(chunk, 11), (1, 1, 7, 0x200000, 1024))
        self.assertEqual(wire.SNAPSHOT_RECORD.unpack_from(chunk, 11 + 32), (0, 0, 8, 0, 64))

    def test_events_is_the_worked_example(self):
        frame = wire.encode_events([
            (wire.OP_ALLOC, MemoryType.DRAM, 0, 1, 1, 0x1000, 4096, 123),
            (wire.OP_FREE, MemoryType.DRAM, 0, 2, 1, 0x1000, 4096, 456),
        ])
        self.assertEqual(frame.hex(), EVENTS.hex())
        self.assertEqual(len(frame), 105)

    def test_snapshot_frames_are_the_golden_vector(self):
        frames = (wire.encode_snapshot_begin(3, 9, 1) + wire.encode_snapshot_chunk(3, [(1, 7, 0x200000, 1024)])
                  + wire.encode_snapshot_end(3, 9))
        self.assertEqual(frames.hex(), SNAPSHOT.hex())

    def test_goodbye_and_empty_events(self):
        self.assertEqual(wire.encode_goodbye().hex(), GOODBYE.hex())
        self.assertEqual(wire.encode_events([]).hex(), "050000000300000000")

    def test_client_snapshot_chunks_and_frames_match_the_encoders(self):
        from allocwatch.client import Snapshot
        snap = Snapshot(3)
        snap.begin(9, 1)
        snap.add(MemoryType.L1, 7, 0x200000, 1024)
        self.assertEqual(b"".join(snap.frames(1 << 20)).hex(), SNAPSHOT.hex())

    def test_values_the_wire_cannot_carry_are_refused_with_the_decoders_code(self):
        sid = bytes(16)
        cases = [
            (lambda: wire.encode_hello(sid, sid, 1, 0, "x" * 257, []), "PROTO_STRING_TOO_LONG"),
            (lambda: wire.encode_hello(sid, sid, 1, 0, "p", [Device(1), Device(1)]), "PROTO_DUPLICATE_DEVICE"),
            (lambda: wire.encode_hello(sid, sid, 1, 0, "p", [Device(0xFFFF)]), "PROTO_INVALID_DEVICE_ID"),
            (lambda: wire.encode_hello(sid, sid, 1, 0, "p", [Device(i) for i in range(257)]),
             "PROTO_TOO_MANY_DEVICES"),
            (lambda: wire.encode_hello(sid, sid, 1, 1 << 53, "p", []), "PROTO_INVALID_VALUE"),
            (lambda: wire.encode_events([(1, 0, 0, 0, 1, 0, 1, 0)]), "PROTO_INVALID_VALUE"),  # seq 0
            (lambda: wire.encode_events([(1, 7, 0, 1, 1, 0, 1, 0)]), "PROTO_INVALID_VALUE"),  # type 7
            (lambda: wire.encode_events([(3, 0, 0, 1, 1, 0, 1, 0)]), "PROTO_INVALID_VALUE"),  # op 3
            (lambda: wire.encode_events([(1, 0, 0, 1, 1, 1 << 53, 1, 0)]), "PROTO_INVALID_VALUE"),
        ]
        for make, code in cases:
            with self.assertRaises(ProtocolError) as caught:
                make()
            self.assertEqual(caught.exception.code, code)


class DecodeTest(unittest.TestCase):
    STREAM = from_hex("0b000000 02 41574348 0200 00001000  0a000000 07 ffff 0500 676170203f"
                      "  0a000000 08 0300 4f4f4d 0200 6869")

    def test_server_frames_decode_in_any_chunking(self):
        expected = [wire.Welcome(2, 1 << 20), wire.ResyncRequest(0xFFFF, "gap ?"), wire.ServerError("OOM", "hi")]
        for size in (1, 2, 3, 7, 64):
            decoder = wire.ServerFrameDecoder()
            frames = []
            for start in range(0, len(self.STREAM), size):
                frames += decoder.feed(self.STREAM[start:start + size])
            self.assertIsNone(decoder.error)
            self.assertEqual(frames, expected, f"chunks of {size}")

    def test_bad_server_bytes_are_errors_with_their_codes(self):
        cases = [
            ("00000000", "PROTO_EMPTY_FRAME"),
            ("01001000 02", "PROTO_FRAME_TOO_LARGE"),
            ("0b000000 02 41574348 0400 00001000", "PROTO_UNSUPPORTED_VERSION"),
            ("0b000000 02 41574349 0200 00001000", "PROTO_BAD_MAGIC"),
            ("0b000000 02 41574348 0200 00010000", "PROTO_INVALID_FIELD"),
            ("01000000 03", "PROTO_UNEXPECTED_FRAME"),
            ("01000000 0c", "PROTO_UNKNOWN_FRAME_TYPE"),
            ("07000000 08 0200 6f6b 0000", "PROTO_INVALID_ERROR_CODE"),
            ("06000000 07 0000 0100 ff", "PROTO_BAD_UTF8"),
            ("07000000 07 0000 0100 4142", "PROTO_LENGTH_MISMATCH"),
        ]
        for text, code in cases:
            decoder = wire.ServerFrameDecoder()
            self.assertEqual(decoder.feed(from_hex(text)), [])
            self.assertIsNotNone(decoder.error, text)
            self.assertEqual(decoder.error.code, code, text)
            self.assertEqual(decoder.feed(self.STREAM), [], "nothing is decoded after an error")


class IdentityTest(unittest.TestCase):
    def test_start_ticks_are_field_22_even_with_parentheses_in_the_name(self):
        from allocwatch.identity import default_socket_path, parse_start_ticks
        fields = " ".join(str(n) for n in range(3, 23))  # fields 3..22; field 22 is "22"
        self.assertEqual(parse_start_ticks(f"42 (a) b (c)) {fields} 23 24"), 22)
        self.assertEqual(parse_start_ticks("garbage"), 0)
        self.assertEqual(default_socket_path({"ALLOCWATCH_SOCKET": "/x.sock"}, 5), "/x.sock")
        self.assertEqual(default_socket_path({"XDG_RUNTIME_DIR": "/run/u/"}, 5), "/run/u/allocwatch.sock")
        self.assertEqual(default_socket_path({"ALLOCWATCH_SOCKET": ""}, 5), "/tmp/allocwatch-5.sock")


if __name__ == "__main__":
    unittest.main()
