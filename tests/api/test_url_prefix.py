"""The service under a URL prefix: a real nginx running the README's `location /upscaler/ {
proxy_pass .../; }` (the prefix stripped) in front of uvicorn started with ROOT_PATH=/upscaler. Every URL the
service hands out (docs assets, openapi.json, job links, Location) must work through the prefix;
with ROOT_PATH unset everything stays at the host root as before."""

from __future__ import annotations

import asyncio
import io
import re
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import numpy as np
import pytest
from PIL import Image

from backend.api.root_path import RootPath, route_path
from tests.api.conftest import REPO, Server, free_port, pattern, png_bytes, start_server
from tests.api.test_docs_offline import asset_links
from tests.deploy.deploy_helpers import NginxProcess, find_tool

PREFIX = "/upscaler"
KEY = "prefix-test-key"


def readme_site(listen: int, backend: int) -> str:
    """The README's nginx block for a URL prefix, in a server on `listen`, proxying to `backend`."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### Behind a URL prefix") :]
    block = re.search(r"```nginx\n(.*?)```", section, re.S)
    assert block and "127.0.0.1:8000" in block.group(1), "README: the nginx block for a URL prefix"
    locations = block.group(1).replace("127.0.0.1:8000", f"127.0.0.1:{backend}")
    return f"server {{\n    listen 127.0.0.1:{listen};\n{locations}}}\n"


@pytest.fixture(scope="module")
def prefixed(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Iterator[tuple[Server, str]]:
    """(the backend, nginx's base URL with the prefix)."""
    nginx = find_tool("nginx")
    # MAX_UPLOAD_MB=0.2: four ~190 kB files fit a batch's body limit (1.1 MB), not a single upload's (470 kB).
    backend = start_server(
        tmp_path_factory.mktemp("prefix-backend"), models_dir, ROOT_PATH=PREFIX, API_KEYS=KEY, MAX_UPLOAD_MB="0.2"
    )
    tmp = tmp_path_factory.mktemp("prefix-nginx")
    listen = free_port()
    site = tmp / "site.conf"
    site.write_text(readme_site(listen, urlsplit(backend.url).port or 0))
    proxy = NginxProcess(nginx, tmp, site, listen)
    try:
        yield backend, proxy.url(PREFIX)
    finally:
        proxy.stop()
        backend.stop()


@pytest.fixture
def http(prefixed: tuple[Server, str]) -> Iterator[httpx.Client]:
    """A client of nginx's origin; every path it requests is written out with the prefix."""
    origin = prefixed[1].removesuffix(PREFIX)
    with httpx.Client(base_url=origin, timeout=120, headers={"X-API-Key": KEY}) as client:
        yield client


def _openapi_url(html: str) -> str:
    """Where Swagger UI (`url: '...'`) or ReDoc (`spec-url="..."`) fetches the schema."""
    found = re.search(r"""url: ?['"]([^'"]+)['"]|spec-url=["']([^"']+)["']""", html)
    assert found, html[-2000:]
    return found.group(1) or found.group(2)


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_through_the_prefix_load_their_schema_and_assets_through_it(http: httpx.Client, page: str) -> None:
    anonymous = {"X-API-Key": ""}  # a browser opening the docs sends no key
    response = http.get(PREFIX + page, headers=anonymous)
    assert response.status_code == 200
    urls = [url for _, url in asset_links(response.text)] + [_openapi_url(response.text)]
    for url in urls:
        path = urlsplit(urljoin(f"{http.base_url}{PREFIX}{page}", url)).path
        assert path.startswith(PREFIX + "/"), f"{page} loads {url}, outside {PREFIX}/"
        assert http.get(path, headers=anonymous).status_code == 200, url
    if page == "/docs":  # the OAuth2 page Swagger UI sends a login back to
        assert f"window.location.origin + '{PREFIX}/docs/oauth2-redirect'" in response.text


def test_openapi_through_the_prefix_names_it_as_the_server(http: httpx.Client) -> None:
    schema = http.get(f"{PREFIX}/openapi.json").json()
    assert schema["servers"] == [{"url": PREFIX}]  # so "Try it out" calls /upscaler/api/...
    assert "/api/jobs" in schema["paths"]  # the paths themselves stay relative to it


def test_job_links_and_location_work_through_the_prefix(http: httpx.Client) -> None:
    image = pattern(1, 16)
    created = http.post(f"{PREFIX}/api/jobs", files={"file": ("a.png", png_bytes(image), "image/png")})
    assert created.status_code == 202, created.text
    job = created.json()
    base = f"{PREFIX}/api/jobs/{job['id']}"
    assert created.headers["location"] == base
    assert (job["status_url"], job["events_url"], job["result_url"]) == (base, f"{base}/events", f"{base}/result")
    deadline = time.monotonic() + 60
    while (status := http.get(job["status_url"]).json())["state"] not in ("succeeded", "failed"):
        assert time.monotonic() < deadline, status
        time.sleep(0.1)
    assert status["state"] == "succeeded", status
    events = http.get(job["events_url"])
    assert events.status_code == 200 and f'"result_url": "{base}/result"' in events.text
    result = http.get(job["result_url"])
    assert result.status_code == 200, result.text
    assert Image.open(io.BytesIO(result.content)).size == (64, 64)


def test_api_keys_guard_the_api_under_the_prefix(prefixed: tuple[Server, str], http: httpx.Client) -> None:
    """The key check must see /api/... with the prefix taken off, through nginx and directly."""
    backend, _ = prefixed
    assert http.get(f"{PREFIX}/api/info", headers={"X-API-Key": ""}).status_code == 401
    assert http.get(f"{PREFIX}/api/info").status_code == 200
    assert httpx.get(f"{backend.url}/api/info").status_code == 401
    assert http.get(f"{PREFIX}/api/docs-assets/index.html", headers={"X-API-Key": ""}).status_code == 401


def test_a_batch_under_the_prefix_gets_the_batch_body_limit(http: httpx.Client) -> None:
    """The batch limit is picked by path: with the prefix on the path it must still apply."""
    rng = np.random.default_rng(0)
    noise = [png_bytes(rng.integers(0, 256, (250, 250, 3), dtype=np.uint8)) for _ in range(4)]
    assert all(150_000 < len(data) < 200_000 for data in noise), [len(data) for data in noise]
    files = [("files", (f"{i}.png", data, "image/png")) for i, data in enumerate(noise)]
    response = http.post(f"{PREFIX}/api/upscale-batch", files=files)
    assert response.status_code == 200, response.text[:500]


def test_without_root_path_links_stay_at_the_host_root(client: httpx.Client) -> None:
    """ROOT_PATH unset (the default): the same links as always."""
    job = client.post("/api/jobs", files={"file": ("a.png", png_bytes(pattern(2, 16)), "image/png")})
    assert job.status_code == 202
    base = f"/api/jobs/{job.json()['id']}"
    assert job.headers["location"] == base and job.json()["result_url"] == f"{base}/result"
    assert "servers" not in client.get("/openapi.json").json()
    docs = client.get("/docs").text
    assert _openapi_url(docs) == "/openapi.json"
    assert all(url.startswith("/api/docs-assets/") for _, url in asset_links(docs))
    assert "oauth2RedirectUrl: window.location.origin + '/docs/oauth2-redirect'" in docs


def test_metrics_through_the_prefix_come_from_the_readme_s_local_only_location(http: httpx.Client) -> None:
    response = http.get(f"{PREFIX}/metrics")  # the test is 127.0.0.1, which the block allows
    assert response.status_code == 200 and "http_requests_total" in response.text


@pytest.mark.parametrize(
    ("path", "root", "route"),
    [
        ("/upscaler/api/jobs", "/upscaler", "/api/jobs"),
        ("/upscaler", "/upscaler", "/"),
        ("/upscalerx/api/jobs", "/upscaler", "/upscalerx/api/jobs"),  # only whole segments come off
        ("/api/jobs", "", "/api/jobs"),
        ("/api/jobs", "/upscaler", "/api/jobs"),  # a root_path set without prefixing the path
    ],
)
def test_route_path_takes_off_only_the_root_path(path: str, root: str, route: str) -> None:
    assert route_path({"type": "http", "path": path, "root_path": root}) == route


@pytest.mark.parametrize(("server_root", "seen"), [("", "/upscaler"), ("/other", "/other")])
def test_root_path_middleware_prefixes_the_path_unless_the_server_set_one(server_root: str, seen: str) -> None:
    """uvicorn --root-path (the server's root_path) wins over ROOT_PATH; either way the path has it."""
    scopes: list[dict] = []

    async def app(scope: dict, receive: object, send: object) -> None:
        scopes.append(scope)

    path = f"{server_root}/api/jobs"
    scope = {"type": "http", "path": path, "raw_path": path.encode(), "root_path": server_root}
    asyncio.run(RootPath(app, root_path="/upscaler")(scope, None, None))  # type: ignore[arg-type]
    assert scopes[0]["root_path"] == seen
    assert scopes[0]["path"] == scopes[0]["raw_path"].decode() == f"{seen}/api/jobs"
    assert route_path(scopes[0]) == "/api/jobs"
