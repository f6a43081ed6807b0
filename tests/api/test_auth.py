"""Optional API keys: every /api route except health needs one when API_KEYS is set."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.api.conftest import Server, pattern, png_bytes, start_server


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory, models_dir) -> Iterator[Server]:  # noqa: ANN001
    server = start_server(tmp_path_factory.mktemp("keyed"), models_dir, API_KEYS="alpha-key,beta-key", CORS_ORIGINS="*")
    yield server
    server.stop()


def test_health_is_open_everything_else_needs_a_key(keyed: Server) -> None:
    with keyed.client() as client:
        assert client.get("/api/health").status_code == 200
        for method, path in (
            ("GET", "/api/info"),
            ("GET", "/api/models"),
            ("GET", "/api/jobs/x"),
            ("POST", "/api/upscale"),
        ):
            response = client.request(method, path)
            assert response.status_code == 401, path
            assert response.json()["code"] == "unauthorized"
            assert "www-authenticate" in response.headers


def test_keys_by_header_or_bearer(keyed: Server) -> None:
    files = {"file": ("p.png", png_bytes(pattern(1)), "image/png")}
    with keyed.client() as client:
        assert client.get("/api/info", headers={"X-API-Key": "alpha-key"}).status_code == 200
        assert client.get("/api/info", headers={"Authorization": "Bearer beta-key"}).status_code == 200
        assert client.get("/api/info", headers={"X-API-Key": "wrong"}).status_code == 401
        assert client.get("/api/info", headers={"Authorization": "Basic YWxwaGEta2V5"}).status_code == 401
        response = client.post("/api/upscale", headers={"X-API-Key": "beta-key"}, files=files)
        assert response.status_code == 200


def test_wildcard_cors_never_allows_credentials(keyed: Server) -> None:
    with keyed.client() as client:
        response = client.get("/api/health", headers={"Origin": "http://anywhere.example"})
        assert response.headers["access-control-allow-origin"] == "*"
        assert "access-control-allow-credentials" not in response.headers
