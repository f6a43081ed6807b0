"""Fixtures for the download and CLI tests: a local HTTP server and isolated settings."""

from __future__ import annotations

import contextlib
import hashlib
import io
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import torch

from backend.settings import get_settings


def make_checkpoint(seed: int = 0) -> bytes:
    """A tiny random-weight SRVGGNetCompact checkpoint in the official `params_ema` layout."""
    from spandrel.architectures.Compact import Compact

    torch.manual_seed(seed)
    net = Compact(num_feat=8, num_conv=2, upscale=4)
    buffer = io.BytesIO()
    torch.save({"params_ema": net.state_dict()}, buffer)
    return buffer.getvalue()


@dataclass
class FileServer:
    """Serves `files` (path -> bytes). Knobs let a test break it the ways real servers break."""

    url: str = ""
    files: dict[str, bytes] = field(default_factory=dict)
    support_range: bool = True
    drop_first: int = 0  # how many GET responses are cut off halfway
    requests: list[tuple[str, str | None]] = field(default_factory=list)  # (path, Range header)

    def add(self, path: str, data: bytes) -> str:
        self.files[path] = data
        return hashlib.sha256(data).hexdigest()


def _handler(state: FileServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
            pass

        def do_GET(self) -> None:
            range_header = self.headers.get("Range")
            state.requests.append((self.path, range_header))
            data = state.files.get(self.path)
            if data is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            start = 0
            if range_header and state.support_range:
                start = int(range_header.removeprefix("bytes=").split("-")[0])
                if start >= len(data):
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(data)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            else:
                self.send_response(200)
            body = data[start:]
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Content-Type", "application/octet-stream")
            self.end_headers()
            if state.drop_first > 0:
                # Promise the whole body, send half, hang up: a dropped connection.
                state.drop_first -= 1
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            self.wfile.write(body)

    return Handler


@pytest.fixture
def make_ckpt() -> Callable[[int], bytes]:
    return make_checkpoint


@contextlib.contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """Run `handler` on a local port in a thread; yields the base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def file_server() -> Iterator[FileServer]:
    state = FileServer()
    with serving(_handler(state)) as state.url:
        yield state


@pytest.fixture
def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens: connecting is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/releases/download"


@pytest.fixture(scope="session")
def shared_models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One models dir per session, so the bundled conversion is cached across CLI tests."""
    return tmp_path_factory.mktemp("models")


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, shared_models_dir: Path) -> Iterator[Path]:
    """Settings for in-process CLI runs: CPU, small tiles, weights outside the repo."""
    monkeypatch.setenv("MODELS_DIR", str(shared_models_dir))
    monkeypatch.setenv("DEVICE", "cpu")
    monkeypatch.setenv("WARMUP", "false")
    get_settings.cache_clear()
    yield shared_models_dir
    get_settings.cache_clear()
