#!/usr/bin/env python3
"""A tt-metal-like legacy allocation client (stdlib socket + struct only), for allocwatch's tests.

Plays one process's session against the original AllocMessage protocol: 8 devices, thousands of
buffers of every type, circular buffers and kernel binaries, duplicate ALLOCs at one address (the
kernel-binary view pattern, and one with a different size), FREEs of buffers never allocated. It keeps
its own model of what the original server semantics must show, checks the server's QUERY answers
against it, prints one JSON line with the model, then waits for a line on stdin and dies (SIGKILL
itself, no clean close).

usage: tt_client.py SOCKET_PATH [112|144]
"""
import json
import os
import random
import signal
import socket
import struct
import sys

ALLOC, FREE, QUERY, RESPONSE = 1, 2, 3, 4
CB_ALLOC, CB_FREE, KERNEL_LOAD, KERNEL_UNLOAD = 8, 9, 10, 11
DRAM, L1, SYSTEM_MEMORY, L1_SMALL, TRACE = 0, 1, 2, 3, 4
TYPE_NAMES = ["DRAM", "L1", "SYSTEM_MEMORY", "L1_SMALL", "TRACE", "CB", "KERNEL"]
DEVICES = 8
BUFFERS_PER_DEVICE = 600

# type u8, pad[3], device_id i32, size u64, buffer_type u8, pad[3], process_id i32, buffer_id u64,
# timestamp u64 -- then the response fields, zero in every request.
HEADER = struct.Struct("<BxxxiQBxxxiQQ")


def frame(frame_bytes, msg_type, device_id, size=0, buffer_type=0, pid=0, buffer_id=0, timestamp=0):
    head = HEADER.pack(msg_type, device_id, size, buffer_type, pid, buffer_id, timestamp)
    return head + bytes(frame_bytes - HEADER.size)


class Model:
    """What the server must hold: live keys with reference counts, bytes per device and type."""

    def __init__(self):
        self.live = {}  # (space, device, id) -> [ref_count, size, type]
        self.used = [[0] * 7 for _ in range(DEVICES)]
        self.unknown_frees = 0
        self.duplicate_with_other_size = 0
        self.buffers_sent = 0

    def alloc(self, space, device, key, mem_type, size):
        k = (space, device, key)
        if k in self.live:
            entry = self.live[k]
            entry[0] += 1
            if entry[1] != size or entry[2] != mem_type:
                self.duplicate_with_other_size += 1
            return
        self.live[k] = [1, size, mem_type]
        self.used[device][mem_type] += size

    def free(self, space, device, key):
        k = (space, device, key)
        entry = self.live.get(k)
        if entry is None:
            self.unknown_frees += 1
            return
        entry[0] -= 1
        if entry[0] == 0:
            del self.live[k]
            self.used[device][entry[2]] -= entry[1]


def main():
    path = sys.argv[1]
    frame_bytes = int(sys.argv[2]) if len(sys.argv) > 2 else 144
    pid = os.getpid()
    rng = random.Random(20240611)
    model = Model()
    out = bytearray()

    def send(msg_type, device, size=0, buffer_type=0, key=0):
        out.extend(frame(frame_bytes, msg_type, device, size, buffer_type, pid, key, 1_700_000_000_000_000_000))

    for device in range(DEVICES):
        live_buffers = []
        for i in range(BUFFERS_PER_DEVICE):
            mem_type = rng.choice([DRAM, DRAM, L1, L1, SYSTEM_MEMORY, L1_SMALL, TRACE])
            size = rng.choice([32, 1024, 2048, 4096, 65536, 1 << 20]) * rng.randint(1, 4)
            address = 0x10000 + i * 0x40000 + mem_type * 0x40  # distinct per (device, buffer)
            send(ALLOC, device, size, mem_type, address)
            model.alloc(0, device, address, mem_type, size)
            model.buffers_sent += 1
            live_buffers.append(address)
            if rng.random() < 0.6:
                victim = live_buffers.pop(rng.randrange(len(live_buffers)))
                send(FREE, device, 0, 0, victim)
                model.free(0, device, victim)
        # Kernel-binary buffer and its temporary view at the same address: 2 ALLOCs, 1 FREE.
        view_address = 0x7F000000
        for _ in range(2):
            send(ALLOC, device, 12288, DRAM, view_address)
            model.alloc(0, device, view_address, DRAM, 12288)
        send(FREE, device, 0, 0, view_address)
        model.free(0, device, view_address)
        # A duplicate ALLOC with another size (an anomaly), then both references freed.
        dup_address = 0x7E000000
        send(ALLOC, device, 4096, L1, dup_address)
        model.alloc(0, device, dup_address, L1, 4096)
        send(ALLOC, device, 8192, L1, dup_address)
        model.alloc(0, device, dup_address, L1, 8192)
        # FREEs of buffers never allocated (allocated before tracking started).
        for j in range(5):
            send(FREE, device, 0, 0, 0x66000000 + j * 0x1000)
            model.free(0, device, 0x66000000 + j * 0x1000)
        # Circular buffers: allocated per program, half of them freed (with their size, as tt-metal).
        for c in range(8):
            cb_size = 32768 * (c + 1) * 64
            send(CB_ALLOC, device, cb_size, 0, 0x19000 + c * 0x8000)
            model.alloc(1, device, 0x19000 + c * 0x8000, 5, cb_size)
            if c % 2 == 0:
                send(CB_FREE, device, cb_size, 0, 0x19000 + c * 0x8000)
                model.free(1, device, 0x19000 + c * 0x8000)
        # Kernels of the three types; application kernels unloaded again.
        for k, kernel_type in enumerate([0, 0, 1, 2]):
            kernel_id = 1000 * (device + 1) + k
            size = 12288 * (kernel_type + 1)
            send(KERNEL_LOAD, device, size, kernel_type, kernel_id)
            model.alloc(2, device, kernel_id, 6, size)
            if kernel_type == 0:
                send(KERNEL_UNLOAD, device, size, 0, kernel_id)
                model.free(2, device, kernel_id)

    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(path)
    sock.sendall(bytes(out))

    # QUERY each device on the same connection; compare with the model at the documented offsets.
    mismatches = []
    for device in range(DEVICES):
        sock.sendall(frame(frame_bytes, QUERY, device))
        reply = b""
        while len(reply) < frame_bytes:
            chunk = sock.recv(frame_bytes - len(reply))
            if not chunk:
                raise SystemExit("server closed the connection")
            reply += chunk
        msg_type, reply_device = struct.unpack_from("<Bxxxi", reply, 0)
        dram, l1, l1_small, trace = struct.unpack_from("<QQQQ", reply, 40)
        used = model.used[device]
        want = {"type": RESPONSE, "device": device, "dram": used[DRAM], "l1": used[L1],
                "l1_small": used[L1_SMALL] + used[SYSTEM_MEMORY], "trace": used[TRACE]}
        got = {"type": msg_type, "device": reply_device, "dram": dram, "l1": l1, "l1_small": l1_small,
               "trace": trace}
        if frame_bytes == 144:
            want["cb"], want["kernel"] = used[5], used[6]
            got["cb"], got["kernel"] = struct.unpack_from("<QQ", reply, 72)
        if got != want:
            mismatches.append({"device": device, "want": want, "got": got})

    report = {
        "pid": pid,
        "frameBytes": frame_bytes,
        "buffersSent": model.buffers_sent,
        "used": [{TYPE_NAMES[t]: model.used[d][t] for t in range(7)} for d in range(DEVICES)],
        "liveKeys": len(model.live),
        "unknownFrees": model.unknown_frees,
        "duplicatesWithOtherSize": model.duplicate_with_other_size,
        "queryMismatches": mismatches,
    }
    sys.stdout.write(json.dumps(report) + "\n")
    sys.stdout.flush()
    sys.stdin.readline()
    # Die like a crashed workload: no FREEs, no clean close; the kernel closes the socket.
    os.kill(pid, signal.SIGKILL)


if __name__ == "__main__":
    main()
