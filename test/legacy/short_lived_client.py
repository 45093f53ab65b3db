#!/usr/bin/env python3
"""Legacy clients whose frames the server reads late, or that name other processes.

usage: short_lived_client.py SOCKET_PATH MODE ...
  exit ALLOCS              connect, send ALLOCS ALLOCs (1000 bytes each), print the pid, exit at once
  hold ALLOCS RELEASE_FILE the same, but a forked child keeps the socket open (its stdio closed) until
                           RELEASE_FILE exists (at most 60 s): the server reads the frames of a process
                           that is gone while the connection is still open
  names                    ALLOCs naming this process, one of its threads, and its parent process; a
                           QUERY; prints one JSON line; waits for a line on stdin; exits
All frames are 144 bytes, device 0, DRAM.
"""
import json
import os
import socket
import struct
import sys
import threading
import time

ALLOC, QUERY = 1, 3
HEADER = struct.Struct("<BxxxiQBxxxiQQ")
FRAME_BYTES = 144
STAMP = 1_760_000_000_000_000_000


def frame(msg_type, device, size=0, pid=0, buffer_id=0, timestamp=0):
    head = HEADER.pack(msg_type, device, size, 0, pid, buffer_id, timestamp)
    return head + bytes(FRAME_BYTES - HEADER.size)


def allocs(pid, count):
    return b"".join(frame(ALLOC, 0, 1000, pid, 0x1000 + i * 0x1000, STAMP + i) for i in range(count))


def main():
    path, mode = sys.argv[1], sys.argv[2]
    pid = os.getpid()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(path)
    if mode in ("exit", "hold"):
        sock.sendall(allocs(pid, int(sys.argv[3])))
        if mode == "hold" and os.fork() == 0:
            devnull = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(devnull, fd)
            release = sys.argv[4]
            deadline = time.monotonic() + 60
            while not os.path.exists(release) and time.monotonic() < deadline:
                time.sleep(0.01)
            os._exit(0)
        sys.stdout.write(f"{pid}\n")
        sys.stdout.flush()
        os._exit(0)
    # names: this process, one of its threads, its parent (another process).
    done = threading.Event()
    thread = threading.Thread(target=done.wait)
    thread.start()
    sock.sendall(frame(ALLOC, 0, 1000, pid, 0x1000, STAMP))
    sock.sendall(frame(ALLOC, 0, 2000, thread.native_id, 0x2000, STAMP))
    sock.sendall(frame(ALLOC, 0, 4000, os.getppid(), 0x3000, STAMP))
    sock.sendall(frame(QUERY, 0))
    reply = b""
    while len(reply) < FRAME_BYTES:
        chunk = sock.recv(FRAME_BYTES - len(reply))
        if not chunk:
            raise SystemExit("server closed the connection")
        reply += chunk
    done.set()
    thread.join()
    dram = struct.unpack_from("<Q", reply, 40)[0]
    sys.stdout.write(json.dumps({"pid": pid, "tid": thread.native_id, "parent": os.getppid(), "dram": dram}) + "\n")
    sys.stdout.flush()
    sys.stdin.readline()


if __name__ == "__main__":
    main()
