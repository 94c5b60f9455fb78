"""A local HTTP server for URL-import tests: good photos, flaky, slow, oversize and missing ones."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.annotation import image_samples as samples

CAP = 200_000


class PhotoServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), PhotoHandler)
        self.hits: Counter[str] = Counter()
        self.in_flight = 0
        self.max_in_flight = 0
        self.lock = threading.Lock()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class PhotoHandler(BaseHTTPRequestHandler):
    server: PhotoServer

    def log_message(self, *args: object) -> None:  # keep the test output clean
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        server = self.server
        with server.lock:
            server.hits[self.path] += 1
            hits = server.hits[self.path]
            server.in_flight += 1
            server.max_in_flight = max(server.max_in_flight, server.in_flight)
        try:
            self.route(self.path, hits)
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            with server.lock:
                server.in_flight -= 1

    def route(self, path: str, hits: int) -> None:
        if path.startswith("/img/"):
            if "slowish" in path:
                time.sleep(0.15)
            return self.send_body(samples.jpeg(seed=int(path.split("/")[2].split(".")[0].split("-")[0])))
        if path == "/flaky.jpg" and hits <= 2:
            return self.send_status(503)
        if path == "/flaky.jpg":
            return self.send_body(samples.jpeg(seed=77))
        if path == "/redirect.jpg":
            self.send_response(302)
            self.send_header("Location", "/img/3.jpg")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        if path == "/always-503.jpg":
            return self.send_status(503)
        if path == "/slow.jpg":
            time.sleep(1.0)
            return self.send_body(samples.jpeg(seed=78))
        if path == "/huge-declared.jpg":
            self.send_response(200)
            self.send_header("Content-Length", str(CAP * 10))
            self.end_headers()
            return None
        if path == "/huge-streamed.jpg":
            self.send_response(200)
            self.end_headers()  # no Content-Length: the body runs until the connection closes
            for _ in range(CAP // 8192 + 10):
                self.wfile.write(b"\xff" * 8192)
            return None
        if path == "/text.jpg":
            return self.send_body(b"<html>not found, but 200</html>")
        return self.send_status(404)

    def send_status(self, code: int) -> None:
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def send_body(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def serve(monkeypatch: pytest.MonkeyPatch) -> Iterator[PhotoServer]:
    """Body of a ``server`` fixture: ``yield from serve(monkeypatch)``."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    httpd = PhotoServer()
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
