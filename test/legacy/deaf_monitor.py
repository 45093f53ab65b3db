#!/usr/bin/env python3
"""A legacy monitor that sends QUERY frames as fast as the server takes them and never reads a reply.

usage: deaf_monitor.py SOCKET_PATH SECONDS [FRAME_BYTES]
Prints one JSON line: {"sentBytes": N} (whole frames only are ever sent in a row, so the stream stays
on the frame grid), then exits without reading anything.
"""
import json
import select
import socket
import struct
import sys
import time

QUERY = 3


def main():
    path = sys.argv[1]
    seconds = float(sys.argv[2])
    frame_bytes = int(sys.argv[3]) if len(sys.argv) > 3 else 144
    query = struct.pack("<Bxxxi", QUERY, 0) + bytes(frame_bytes - 8)
    data = memoryview(query * 512)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(path)
    sock.setblocking(False)
    sent = 0
    pos = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        _, writable, _ = select.select([], [sock], [], 0.05)
        if not writable:
            continue
        try:
            n = sock.send(data[pos:])
        except BlockingIOError:
            continue
        sent += n
        pos = (pos + n) % len(data)
    sys.stdout.write(json.dumps({"sentBytes": sent}) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
