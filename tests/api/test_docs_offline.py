"""/docs and /redoc work with no internet (air-gapped GPU servers, strict firewalls): every
script, stylesheet and icon they load comes from the service itself, and with API keys set
they stay as open as before while /api stays guarded."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

from tests.api.conftest import Server, start_server

KEY = "docs-test-key"
CHROMIUM = "/usr/bin/chromium"
CONTENT_TYPES = {"script": "javascript", "stylesheet": "text/css", "icon": "image/"}


class _AssetLinks(HTMLParser):
    """(kind, url) of every <script src> and <link href> in a page."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "script" and values.get("src"):
            self.links.append(("script", values["src"]))
        elif tag == "link" and values.get("href"):
            rel = values.get("rel") or ""
            self.links.append(("icon" if "icon" in rel else "stylesheet", values["href"]))


def asset_links(html: str) -> list[tuple[str, str]]:
    parser = _AssetLinks()
    parser.feed(html)
    return parser.links


@pytest.fixture(scope="module")
def keyed_server(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Iterator[Server]:
    running = start_server(tmp_path_factory.mktemp("docs"), models_dir, API_KEYS=KEY)
    yield running
    running.stop()


@pytest.fixture
def anonymous(keyed_server: Server) -> Iterator[httpx.Client]:
    """A client with no API key, as a browser opening /docs is."""
    with keyed_server.client() as http:
        yield http


@pytest.mark.parametrize(("page", "kinds"), [("/docs", {"script", "stylesheet", "icon"}), ("/redoc", {"script"})])
def test_docs_pages_load_every_asset_from_the_service_itself(
    anonymous: httpx.Client, keyed_server: Server, page: str, kinds: set[str]
) -> None:
    response = anonymous.get(page)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    links = asset_links(response.text)
    assert {kind for kind, _ in links} >= kinds, links
    origin = urlsplit(keyed_server.url).netloc
    for kind, url in links:
        absolute = urljoin(keyed_server.url + page, url)
        assert urlsplit(absolute).netloc == origin, f"{page} loads {url} from another host"
        asset = anonymous.get(absolute)
        assert asset.status_code == 200, f"{url}: {asset.status_code}"
        assert CONTENT_TYPES[kind] in asset.headers["content-type"], (url, asset.headers["content-type"])
        assert len(asset.content) > 100, url
    # ReDoc's template links Google Fonts by default: a stylesheet from another host.
    assert "fonts.googleapis.com" not in response.text


def test_openapi_json_still_describes_the_api(anonymous: httpx.Client) -> None:
    schema = anonymous.get("/openapi.json")
    assert schema.status_code == 200
    assert "/api/upscale" in schema.json()["paths"]


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"needs {CHROMIUM}")
def test_docs_render_the_operation_list_in_a_browser_that_reaches_only_the_service(keyed_server: Server) -> None:
    """Headless Chromium whose resolver knows no host but 127.0.0.1, as on an air-gapped server.
    Also catches a Swagger UI too old for the schema: before 5.0 it shows "Unable to render
    this definition" for the OpenAPI 3.1 that FastAPI publishes."""
    dom = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            "--virtual-time-budget=15000",
            "--dump-dom",
            keyed_server.url + "/docs",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    assert "opblock" in dom, dom[-2000:]
    assert "/api/upscale" in dom
    assert "Unable to render this definition" not in dom


def test_oauth2_redirect_page_is_served_without_outside_assets(anonymous: httpx.Client) -> None:
    response = anonymous.get("/docs/oauth2-redirect")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert asset_links(response.text) == []


def test_api_keys_still_guard_the_api_but_not_the_docs(anonymous: httpx.Client) -> None:
    assert anonymous.get("/api/info").status_code == 401
    assert anonymous.get("/api/info", headers={"X-API-Key": KEY}).status_code == 200
    # Only the docs' own files are open: anything else under the asset folder needs a key.
    assert anonymous.get("/api/docs-assets/").status_code == 401
    assert anonymous.get("/api/docs-assets/index.html").status_code == 401


def test_request_metrics_count_the_docs_files_under_their_own_route(anonymous: httpx.Client) -> None:
    """Not as "unmatched", the label for paths no route has (scanners, typos)."""
    before = anonymous.get("/metrics").text
    assert anonymous.get("/api/docs-assets/swagger-ui.css").status_code == 200
    label = 'http_requests_total{method="GET",route="/api/docs-assets",status="200"}'
    # The count is taken after the response has gone out: give it a moment.
    deadline = time.monotonic() + 5
    while _counter(anonymous.get("/metrics").text, label) < _counter(before, label) + 1:
        assert time.monotonic() < deadline, "the docs file was not counted under /api/docs-assets"
        time.sleep(0.05)


def _counter(metrics: str, label: str) -> float:
    return next((float(line.split()[-1]) for line in metrics.splitlines() if line.startswith(label + " ")), 0.0)
