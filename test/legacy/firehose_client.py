#!/usr/bin/env python3
"""A short-lived tt-metal-like process: PAIRS ALLOC+FREE pairs of 144-byte frames at reused addresses.

usage: firehose_client.py SOCKET_PATH PAIRS
Connects, writes every pair (device 0, DRAM, 4096 bytes, its own pid), closes and exits 0.
"""
import os
import socket
import struct
import sys

HEADER = struct.Struct("<BxxxiQBxxxiQQ")
ALLOC, FREE = 1, 2
FRAME_BYTES = 144


def frame(msg_type, size, pid, buffer_id):
    return HEADER.pack(msg_type, 0, size, 0, pid, buffer_id, 0) + bytes(FRAME_BYTES - HEADER.size)


def main():
    path, pairs = sys.argv[1], int(sys.argv[2])
    pid = os.getpid()
    data = b"".join(
        frame(ALLOC, 4096, pid, 0x100000 + (i % 64) * 4096) + frame(FREE, 0, pid, 0x100000 + (i % 64) * 4096)
        for i in range(pairs)
    )
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(path)
    sock.sendall(data)
    sock.close()


if __name__ == "__main__":
    main()
