"""Request headers are bounded: one client cannot make the server buffer megabytes of header
lines. Started the guide's way (`python api_server.py`), which the Dockerfile, the systemd unit,
run.sh and run_mac.sh all use."""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.api.conftest import Server, start_server


@pytest.fixture(scope="module")
def script_server(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Iterator[Server]:
    running = start_server(tmp_path_factory.mktemp("headers"), models_dir, as_script=True)
    yield running
    running.stop()


def send_headers(server: Server, header_bytes: int, *, trickle: bool = False) -> bytes:
    """GET /api/health with about `header_bytes` of extra header lines, sent raw (HTTP clients
    refuse to build such requests); returns the start of the answer, b"" if the server hung up.
    trickle: send 4 KiB at a time, as a slow client does, so the server sees the headers while
    they are still incomplete (a block that arrives whole in one read is parsed at once)."""
    line = b"X-Filler-%05d: " + b"a" * 1000 + b"\r\n"
    filler = b"".join(line % index for index in range(header_bytes // len(line % 0)))
    request = b"GET /api/health HTTP/1.1\r\nHost: test\r\n" + filler + b"\r\n"
    step = 4096 if trickle else len(request)
    with socket.create_connection(("127.0.0.1", urlsplit(server.url).port), timeout=20) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # refused while still sending
            for start in range(0, len(request), step):
                sock.sendall(request[start : start + step])
                if trickle:
                    time.sleep(0.005)
        try:
            return sock.recv(4096)
        except ConnectionResetError:
            return b""


def status_of(answer: bytes) -> int | None:
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else None


@pytest.mark.parametrize("trickle", [False, True], ids=["at-once", "trickled"])
def test_a_megabyte_of_headers_is_refused_and_the_service_stays_up(script_server: Server, trickle: bool) -> None:
    answer = send_headers(script_server, 1024 * 1024, trickle=trickle)
    status = status_of(answer)
    assert status is None or 400 <= status < 500, answer[:200]
    assert script_server.process.poll() is None
    with script_server.client() as http:
        assert http.get("/api/health").status_code == 200


def test_the_bound_is_64_kib(script_server: Server) -> None:
    """40 KiB (big cookies from other apps on the same domain) passes, though it is over h11's
    own 16 KiB default; 100 KiB sent by a slow client does not."""
    assert status_of(send_headers(script_server, 40 * 1024, trickle=True)) == 200
    refused = send_headers(script_server, 100 * 1024, trickle=True)
    assert status_of(refused) in (None, 400), refused[:200]
