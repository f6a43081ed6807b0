"""http_requests_total says what the client sent: HEAD as HEAD, and a route's template even when
the request was answered before routing (a body refused by its Content-Length)."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import httpx

from bench.load import parse_metrics, request_counts
from tests.api.conftest import Server


def _counts(client: httpx.Client) -> dict[tuple[str, str, str], float]:
    return request_counts(parse_metrics(client.get("/metrics").text))


def _delta(before: dict, after: dict) -> dict[tuple[str, str, str], float]:
    delta = {key: after.get(key, 0) - before.get(key, 0) for key in set(after) | set(before)}
    delta.pop(("GET", "/metrics", "200"), None)
    return {key: value for key, value in delta.items() if value}


def test_head_requests_are_counted_as_head(client: httpx.Client) -> None:
    # HeadAsGet runs the GET route; it used to rewrite the method before the metrics saw it.
    before = _counts(client)
    for _ in range(3):
        assert client.head("/api/health/live").status_code == 200
    assert client.get("/api/health/live").status_code == 200
    assert _delta(before, _counts(client)) == {
        ("HEAD", "/api/health/live", "200"): 3,
        ("GET", "/api/health/live", "200"): 1,
    }


def _post_huge_declared_body(server: Server, path: str) -> bytes:
    url = urlsplit(server.url)
    with socket.create_connection((url.hostname, url.port), timeout=30) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: {url.netloc}\r\n"
            "Content-Type: multipart/form-data; boundary=x\r\nContent-Length: 10000000000\r\n"
            "Expect: 100-continue\r\n\r\n".encode()
        )
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def test_a_body_refused_by_its_content_length_is_counted_under_its_route(client: httpx.Client, server: Server) -> None:
    # The 413 is sent before routing, so the route label used to be "unmatched" for every path.
    before = _counts(client)
    for path in ("/api/upscale", "/api/jobs", "/api/upscale-batch", "/api/no-such-route", "/api/jobs/x/y/z"):
        answer = _post_huge_declared_body(server, path)
        assert answer.startswith(b"HTTP/1.1 413"), (path, answer[:300])
        assert b"upload_too_large" in answer
    assert _delta(before, _counts(client)) == {
        ("POST", "/api/upscale", "413"): 1,
        ("POST", "/api/jobs", "413"): 1,
        ("POST", "/api/upscale-batch", "413"): 1,
        ("POST", "unmatched", "413"): 2,  # unknown paths share one label: no series per made-up path
    }
