"""Fixtures for the deployment checks: fake backends that nginx can route to."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


class FakeBackend:
    """A tiny HTTP server standing in for one backend replica: it answers every request with
    JSON naming itself, answers 503 to new work while `busy`, and streams SSE on /events."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.busy = False
        self.requests: list[tuple[str, str]] = []
        backend = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # quiet
                pass

            def _reply(self, status: int, payload: dict, headers: dict[str, str] | None = None) -> None:
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                backend.requests.append((self.command, self.path))
                if self.path.endswith("/events"):
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream")
                    self.send_header("Cache-Control", "no-cache")
                    self.send_header("Connection", "close")
                    self.end_headers()
                    for i in (1, 2):
                        self.wfile.write(f"data: {json.dumps({'replica': backend.name, 'n': i})}\n\n".encode())
                        self.wfile.flush()
                        time.sleep(1.0)
                    self.close_connection = True
                    return
                if self.command == "POST" and backend.busy:
                    self._reply(503, {"detail": "queue full", "replica": backend.name}, {"Retry-After": "1"})
                    return
                self._reply(200, {"replica": backend.name, "method": self.command, "path": self.path})

            do_GET = do_POST = do_DELETE = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeBackend:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake_backends() -> Iterator[tuple[FakeBackend, FakeBackend]]:
    with FakeBackend("gpu0") as gpu0, FakeBackend("gpu1") as gpu1:
        yield gpu0, gpu1
