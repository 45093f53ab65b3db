"""Test helpers: import the package from this checkout, and a scripted protocol server on a real Unix
socket (HELLO in, WELCOME out, frames recorded)."""

import os
import socket
import struct
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from allocwatch import wire  # noqa: E402


def from_hex(text: str) -> bytes:
    """Hex with `#` comments and whitespace, as docs/PROTOCOL.md section 8 writes it."""
    return bytes.fromhex("".join(line.split("#")[0] for line in text.splitlines()).replace(" ", ""))


GOLDEN_FRAMES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "test", "protocol",
                             "golden-frames.txt")


def golden(name: str) -> bytes:
    """Section `[name]` of test/protocol/golden-frames.txt: the wire bytes every client's tests share."""
    sections, current = {}, None
    with open(GOLDEN_FRAMES, encoding="utf-8") as file:
        for line in file:
            stripped = line.strip()
            if stripped.startswith("[") and stripped.endswith("]"):
                current = stripped[1:-1]
                sections[current] = ""
            elif current is not None:
                sections[current] += line
    if name not in sections:
        raise KeyError(f"{GOLDEN_FRAMES} has no [{name}] section")
    return from_hex(sections[name])


def wait_for(predicate, timeout_s=10.0, what="a condition"):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.005)
    raise AssertionError(f"timed out waiting for {what}")


def read_frames(data: bytes):
    """(type, body) pairs of a client's byte stream; body excludes the type byte."""
    frames, offset = [], 0
    while offset + 4 <= len(data):
        (length,) = struct.unpack_from("<I", data, offset)
        if offset + 4 + length > len(data):
            break
        frames.append((data[offset + 4], data[offset + 5:offset + 4 + length]))
        offset += 4 + length
    return frames, data[offset:]


class ScriptedServer:
    """Accepts connections on a temp socket; answers the HELLO with WELCOME (unless `welcome` is False)
    and keeps every frame each connection sent."""

    def __init__(self, welcome: bool = True, versions=(1, 2, 3)) -> None:
        self.versions = versions
        self.dir = tempfile.mkdtemp(prefix="aw-py-")
        self.path = os.path.join(self.dir, "s.sock")
        self.welcome = welcome
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(self.path)
        self.listener.listen(8)
        self.connections = []  # list of dicts: sock, frames, closed
        self.lock = threading.Lock()
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.stopped:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            conn = {"sock": sock, "frames": [], "closed": False}
            with self.lock:
                self.connections.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn) -> None:
        sock, pending = conn["sock"], b""
        welcomed = False
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                frames, pending = read_frames(pending + chunk)
                with self.lock:
                    conn["frames"].extend(frames)
                if frames and frames[0][0] == wire.HELLO and not welcomed and self.welcome:
                    version = struct.unpack_from("<H", frames[0][1], 4)[0]
                    if version not in self.versions:  # an older server: refuses the HELLO and closes
                        code, message = b"PROTO_UNSUPPORTED_VERSION", b"no"
                        body = struct.pack("<BH", wire.ERROR, len(code)) + code + struct.pack("<H", len(message))
                        sock.sendall(struct.pack("<I", len(body) + len(message)) + body + message)
                        break
                    welcomed = True
                    sock.sendall(struct.pack("<IBIHI", 11, wire.WELCOME, wire.MAGIC, version, 1 << 20))
                if any(t == wire.GOODBYE for t, _ in frames):
                    sock.close()  # as the real server: the session ends, the connection closes
                    break
        except OSError:
            pass
        conn["closed"] = True

    def frames(self, index: int = -1):
        with self.lock:
            return list(self.connections[index]["frames"]) if self.connections else []

    def send(self, data: bytes, index: int = -1) -> None:
        self.connections[index]["sock"].sendall(data)

    def close(self) -> None:
        self.stopped = True
        self.listener.close()
        for conn in self.connections:
            try:
                conn["sock"].close()
            except OSError:
                pass
        try:
            os.unlink(self.path)
        except OSError:
            pass
        os.rmdir(self.dir)
