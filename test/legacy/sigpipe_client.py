#!/usr/bin/env python3
"""A tt-metal-like legacy client that dies of SIGPIPE if the server ever closes its connection.

The real tt-metal client sends without MSG_NOSIGNAL, so a send on a connection the server closed kills
the whole application (exit status 141). Python ignores SIGPIPE by default; this client restores the
default action to behave the same way.

It sends a valid ALLOC, one malformed frame (a non-zero pad byte), a QUERY (and reads its reply, if
any), then ALLOCs one send() each, a last QUERY; prints one JSON line; waits for a line on stdin; sends
one more ALLOC and exits 0.

usage: sigpipe_client.py SOCKET_PATH [72|112|144] [ALLOCS]
"""
import json
import os
import signal
import socket
import struct
import sys

signal.signal(signal.SIGPIPE, signal.SIG_DFL)

ALLOC, QUERY = 1, 3
HEADER = struct.Struct("<BxxxiQBxxxiQQ")


def frame(frame_bytes, msg_type, device, size=0, buffer_type=0, pid=0, buffer_id=0, timestamp=0):
    head = HEADER.pack(msg_type, device, size, buffer_type, pid, buffer_id, timestamp)
    return head + bytes(frame_bytes - HEADER.size)


def main():
    path = sys.argv[1]
    frame_bytes = int(sys.argv[2]) if len(sys.argv) > 2 else 144
    allocs = int(sys.argv[3]) if len(sys.argv) > 3 else 10
    pid = os.getpid()
    stamp = 1_760_000_000_000_000_000
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(path)

    def query(device):
        sock.sendall(frame(frame_bytes, QUERY, device))
        reply = b""
        while len(reply) < frame_bytes:
            chunk = sock.recv(frame_bytes - len(reply))
            if not chunk:
                return None  # closed by the server: the next send raises SIGPIPE, as in tt-metal
            reply += chunk
        return struct.unpack_from("<Q", reply, 40)[0]

    sock.sendall(frame(frame_bytes, ALLOC, 0, 1000, 0, pid, 0x1000, stamp))
    malformed = bytearray(frame(frame_bytes, ALLOC, 0, 5000, 0, pid, 0x2000, stamp))
    malformed[2] = 1  # pad1: every original client zero-fills it
    sock.sendall(bytes(malformed))
    first = query(0)
    for i in range(allocs):
        sock.sendall(frame(frame_bytes, ALLOC, 0, 100, 0, pid, 0x10000 + i * 0x100, stamp + i))
    last = query(0)
    sys.stdout.write(json.dumps({"pid": pid, "dramAfterMalformed": first, "dram": last}) + "\n")
    sys.stdout.flush()
    sys.stdin.readline()
    sock.sendall(frame(frame_bytes, ALLOC, 0, 100, 0, pid, 0x90000, stamp))
    sock.close()


if __name__ == "__main__":
    main()
