"""The HTTP reader against a tiny local http.server serving canned JSON, and against no server."""

import json
import socket
import threading
import unittest
from http.server import BaseHTTPRequestHandler, HTTPServer

import support  # noqa: F401 (puts the package on sys.path)

import allocwatch
from allocwatch import ApiError, BadResponseError, InvalidEndpointError, ServerUnavailable
from allocwatch.api import resolve_url

USAGE = {"used": 4096, "total": 1 << 30, "peak": 8192, "allocations": 1, "leaked": 0}
ZERO = {"used": 0, "total": 0, "peak": 0, "allocations": 0, "leaked": 0}
SUMMARY = {
    "devices": [{
        "id": 0, "name": "n150", "architecture": "wormhole_b0",
        "memory": {t: (USAGE if t == "DRAM" else dict(ZERO, leaked=512) if t == "L1" else ZERO)
                   for t in allocwatch.api.MEMORY_TYPE_NAMES},
        "allocations": 1, "sources": ["hardware", "reported"], "asicId": "0xabc", "card": "n150",
        "holders": [{"pid": 42, "name": "python3", "reporting": True}],
    }],
    "processes": [
        {"pid": 42, "name": "python3", "sessionId": "ab" * 16, "state": "connected", "connections": 1,
         "source": "native", "devices": [{"id": 0, "used": {"DRAM": 4096, "L1": 0}, "allocations": 1}]},
        {"pid": 43, "name": "tt", "sessionId": "cd" * 16, "state": "dead", "connections": 0, "source": "tt-shm",
         "devices": []},
    ],
    "anomalies": {"total": 2, "byKind": {"UNKNOWN_FREE": 2}},
    "recoveries": {"total": 0, "byKind": {}},
    "server": {"version": "0.1.0", "uptimeMs": 10, "sessions": 1, "connections": 1, "eventsApplied": 5,
               "socketPath": "/run/aw.sock", "eventsStale": 0, "resyncRequests": 0, "snapshotsApplied": 0,
               "protocolErrors": 0, "reorderBytes": 0, "reorderBudgetBytes": 67108864},
}
ALLOCATIONS = {"deviceId": 0, "sort": "size", "limit": 100, "total": 1, "allocations": [
    {"sessionId": "ab" * 16, "pid": 42, "deviceId": 0, "memoryType": "DRAM", "allocationId": 7,
     "address": 4096, "sizeBytes": 4096, "ageMs": 12}]}
ANOMALIES = {"total": 1, "byKind": {"UNKNOWN_FREE": 1}, "recent": [
    {"kind": "UNKNOWN_FREE", "sessionId": "ab" * 16, "pid": 42, "deviceId": None, "detail": "free of 9",
     "timeMs": 1700000000000}]}


class Canned(BaseHTTPRequestHandler):
    requests = []

    def do_GET(self):  # noqa: N802 - http.server's name
        Canned.requests.append(self.path)
        path = self.path.split("?")[0]
        if path == "/api/v1/summary":
            self.answer(200, json.dumps(SUMMARY))
        elif path == "/api/v1/devices/0/allocations":
            self.answer(200, json.dumps(ALLOCATIONS))
        elif path == "/api/v1/anomalies":
            self.answer(200, json.dumps(ANOMALIES))
        elif path == "/api/v1/devices/1/allocations":
            self.answer(200, "{not json")
        elif path == "/api/v1/devices/2/allocations":
            self.answer(200, json.dumps({"deviceId": 2}))
        elif path == "/api/v1/devices/3/allocations":
            self.answer(500, "plain text failure")
        else:
            self.answer(404, json.dumps({"error": {"code": "HTTP_NOT_FOUND", "message": f"no route {path}"}}))

    def answer(self, status, body):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


class ApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.httpd = HTTPServer(("127.0.0.1", 0), Canned)
        cls.url = f"http://127.0.0.1:{cls.httpd.server_address[1]}"
        threading.Thread(target=cls.httpd.serve_forever, daemon=True).start()

    @classmethod
    def tearDownClass(cls):
        cls.httpd.shutdown()
        cls.httpd.server_close()

    def test_summary_parses_every_field(self):
        s = allocwatch.summary(self.url)
        device = s.devices[0]
        self.assertEqual(device.memory["DRAM"], allocwatch.MemoryUsage(4096, 1 << 30, 8192, 1, 0))
        self.assertEqual(device.memory["L1"].leaked, 512)
        self.assertEqual(sorted(device.memory), sorted(allocwatch.api.MEMORY_TYPE_NAMES))
        self.assertEqual(device.sources, ["hardware", "reported"])
        self.assertEqual(device.holders, [allocwatch.DeviceHolder(42, "python3", True)])
        self.assertEqual((device.asic_id, device.card), ("0xabc", "n150"))
        self.assertEqual(s.process(42).source, "native")
        self.assertEqual(s.process(42).devices[0].used["DRAM"], 4096)
        self.assertEqual((s.process(43).state, s.process(43).source), ("dead", "tt-shm"))
        self.assertIsNone(s.process(44))
        self.assertEqual(s.anomalies, allocwatch.Counts(2, {"UNKNOWN_FREE": 2}))
        self.assertEqual(s.server.reorder_budget_bytes, 67108864)

    def test_allocations_sends_the_query_and_parses(self):
        a = allocwatch.allocations(0, sort="age", limit=5, session="ab" * 16, url=self.url)
        self.assertEqual(a.allocations[0].allocation_id, 7)
        self.assertEqual(a.allocations[0].memory_type, "DRAM")
        self.assertIn(f"/api/v1/devices/0/allocations?sort=age&limit=5&session={'ab' * 16}", Canned.requests)

    def test_anomalies_parses_recent_records(self):
        a = allocwatch.anomalies(self.url)
        self.assertEqual(a.total, 1)
        self.assertEqual(a.recent[0].kind, "UNKNOWN_FREE")
        self.assertIsNone(a.recent[0].device_id)

    def test_the_servers_error_shape_becomes_an_api_error_with_its_code(self):
        with self.assertRaises(ApiError) as caught:
            allocwatch.allocations(9, url=self.url)
        self.assertEqual((caught.exception.status, caught.exception.code), (404, "HTTP_NOT_FOUND"))
        self.assertIn("no route /api/v1/devices/9/allocations", caught.exception.server_message)
        with self.assertRaises(ApiError) as caught:
            allocwatch.allocations(3, url=self.url)
        self.assertEqual((caught.exception.status, caught.exception.code), (500, "HTTP_500"))

    def test_a_body_of_another_shape_is_a_bad_response(self):
        with self.assertRaises(BadResponseError):
            allocwatch.allocations(1, url=self.url)
        with self.assertRaises(BadResponseError):
            allocwatch.allocations(2, url=self.url)

    def test_no_server_is_server_unavailable(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]  # free once closed: nothing listens there
        with self.assertRaises(ServerUnavailable) as caught:
            allocwatch.summary(f"127.0.0.1:{port}")
        self.assertEqual(caught.exception.code, "AWC_SERVER_UNAVAILABLE")
        self.assertIn("allocwatch serve", str(caught.exception))

    def test_something_else_than_http_is_server_unavailable(self):
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)

        def garbage():
            conn, _ = listener.accept()
            conn.recv(1024)
            conn.sendall(b"SSH-2.0-OpenSSH\r\n")
            conn.close()

        threading.Thread(target=garbage, daemon=True).start()
        try:
            with self.assertRaises(ServerUnavailable):
                allocwatch.summary(f"http://127.0.0.1:{listener.getsockname()[1]}")
        finally:
            listener.close()

    def test_url_resolution_follows_the_cli(self):
        self.assertEqual(resolve_url(None, {}), "http://127.0.0.1:7477")
        self.assertEqual(resolve_url(None, {"ALLOCWATCH_HTTP": "host:1"}), "http://host:1")
        self.assertEqual(resolve_url("http://h:2/base/", {"ALLOCWATCH_HTTP": "host:1"}), "http://h:2/base")
        self.assertEqual(resolve_url("https://h", {}), "https://h")
        for bad in ("localhost", "ftp://h:1", "http://:1", "h:notaport"):
            with self.assertRaises(InvalidEndpointError, msg=bad):
                resolve_url(bad, {})


if __name__ == "__main__":
    unittest.main()
