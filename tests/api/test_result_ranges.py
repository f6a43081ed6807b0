"""Resuming a job result's download with HTTP Range, as browsers, curl -C - and download managers do."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path

import httpx
import numpy as np
import pytest

from bench.load import parse_metrics, request_counts
from tests.api.conftest import Server, png_bytes

RESULT_ROUTE = "/api/jobs/{job_id}/result"


def _noise(seed: int, size: int) -> bytes:
    # Noise compresses badly: the x4 PNG is several 64 KiB read chunks long.
    return png_bytes(np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8))


def _submit(http: httpx.Client, seed: int, size: int) -> dict:
    response = http.post("/api/jobs", files={"file": ("noise.png", _noise(seed, size), "image/png")})
    assert response.status_code == 202, response.text
    job = response.json()
    deadline = time.monotonic() + 60
    while http.get(job["status_url"]).json()["state"] in ("queued", "running"):
        assert time.monotonic() < deadline, f"job {job['id']} did not finish"
        time.sleep(0.05)
    assert http.get(job["status_url"]).json()["state"] == "succeeded"
    return job


@dataclass
class Result:
    url: str
    whole: httpx.Response

    @property
    def size(self) -> int:
        return len(self.whole.content)


@pytest.fixture(scope="module")
def result(server: Server) -> Iterator[Result]:
    with server.client() as http:
        job = _submit(http, seed=1, size=256)
        whole = http.get(job["result_url"])
        assert whole.status_code == 200
        yield Result(job["result_url"], whole)
        http.delete(job["status_url"])


def test_a_result_fetched_in_two_ranges_is_the_whole_file(client: httpx.Client, result: Result) -> None:
    assert result.whole.headers["accept-ranges"] == "bytes"
    assert result.size > 3 * 64 * 1024  # the split below falls inside a read chunk, not on its edge
    cut = result.size // 2 + 12345
    first = client.get(result.url, headers={"Range": f"bytes=0-{cut - 1}"})
    rest = client.get(result.url, headers={"Range": f"bytes={cut}-"})
    assert (first.status_code, rest.status_code) == (206, 206)
    assert first.headers["content-range"] == f"bytes 0-{cut - 1}/{result.size}"
    assert rest.headers["content-range"] == f"bytes {cut}-{result.size - 1}/{result.size}"
    assert int(first.headers["content-length"]) == cut == len(first.content)
    assert int(rest.headers["content-length"]) == result.size - cut == len(rest.content)
    assert first.content + rest.content == result.whole.content
    for part in (first, rest):  # the same representation: a client may check it did not change
        assert part.headers["content-type"] == result.whole.headers["content-type"] == "image/png"
        assert part.headers["etag"] == result.whole.headers["etag"]
        assert part.headers["accept-ranges"] == "bytes"
        assert part.headers["content-disposition"] == result.whole.headers["content-disposition"]


def test_a_range_inside_the_file_and_past_its_end(client: httpx.Client, result: Result) -> None:
    middle = client.get(result.url, headers={"Range": "bytes=100-199"})
    assert middle.status_code == 206
    assert middle.content == result.whole.content[100:200]
    past_end = client.get(result.url, headers={"Range": f"bytes=10-{result.size * 10}"})  # clipped to the file
    assert past_end.status_code == 206
    assert past_end.headers["content-range"] == f"bytes 10-{result.size - 1}/{result.size}"
    assert past_end.content == result.whole.content[10:]
    huge = client.get(result.url, headers={"Range": "bytes=10-" + "9" * 5000})  # past int()'s digit limit
    assert (huge.status_code, huge.content) == (206, result.whole.content[10:])
    one_byte = client.get(result.url, headers={"Range": f"bytes={result.size - 1}-{result.size - 1}"})
    assert (one_byte.status_code, one_byte.content) == (206, result.whole.content[-1:])


def test_a_suffix_range_gives_the_last_bytes(client: httpx.Client, result: Result) -> None:
    tail = client.get(result.url, headers={"Range": "bytes=-1000"})
    assert tail.status_code == 206
    assert tail.headers["content-range"] == f"bytes {result.size - 1000}-{result.size - 1}/{result.size}"
    assert tail.content == result.whole.content[-1000:]
    longer = client.get(result.url, headers={"Range": f"bytes=-{result.size + 5000}"})  # more than there is
    assert longer.status_code == 206
    assert longer.headers["content-range"] == f"bytes 0-{result.size - 1}/{result.size}"
    assert longer.content == result.whole.content


@pytest.mark.parametrize(
    "spec",
    ["bytes={size}-", "bytes={size}-{more}", "bytes=-0", pytest.param("bytes=" + "9" * 5000 + "-", id="huge-start")],
)
def test_an_unsatisfiable_range_is_416_with_the_size(client: httpx.Client, result: Result, spec: str) -> None:
    header = spec.format(size=result.size, more=result.size + 10)
    response = client.get(result.url, headers={"Range": header})
    assert response.status_code == 416, response.text
    assert response.headers["content-range"] == f"bytes */{result.size}"
    assert response.json()["code"] == "range_not_satisfiable"
    assert str(result.size) in response.json()["detail"]
    assert client.get(result.url).content == result.whole.content  # and the service goes on


@pytest.mark.parametrize(
    "header",
    [
        "bytes=0-9,20-29",  # several ranges: RFC 9110 lets a server send the whole file instead
        "bytes=0-9, 5-30",
        "bytes=20-10",  # last before first: invalid, so ignored
        "bytes=abc-",
        "bytes=",
        "bytes=--5",
        "items=0-9",  # a unit we do not know
        "0-9",
        "bytes=1_0-2_0",  # digits to Python's int(), not to HTTP
        "bytes=+5-9",
    ],
)
def test_a_range_we_do_not_serve_gets_the_whole_file(client: httpx.Client, result: Result, header: str) -> None:
    response = client.get(result.url, headers={"Range": header})
    assert response.status_code == 200, (header[:40], response.status_code, response.text[:200])
    assert "content-range" not in response.headers
    assert response.content == result.whole.content


def test_if_range_with_the_current_validator_resumes(client: httpx.Client, result: Result) -> None:
    for validator in (result.whole.headers["etag"], result.whole.headers["last-modified"]):
        response = client.get(result.url, headers={"Range": "bytes=5-", "If-Range": validator})
        assert response.status_code == 206, validator
        assert response.content == result.whole.content[5:]


def test_if_range_with_another_validator_gets_the_whole_file(client: httpx.Client, result: Result) -> None:
    # The client's partial copy is of another file: appending the rest of this one would corrupt it.
    etag = result.whole.headers["etag"]
    stale = ['"0123456789abcdef"', f"W/{etag}", formatdate(time.time() - 86400 * 365, usegmt=True), "garbage"]
    for validator in stale:
        response = client.get(result.url, headers={"Range": "bytes=5-", "If-Range": validator})
        assert response.status_code == 200, validator
        assert response.content == result.whole.content
        assert "content-range" not in response.headers


def test_head_gives_the_same_headers_as_get(client: httpx.Client, result: Result) -> None:
    for headers in ({}, {"Range": "bytes=100-"}, {"Range": "bytes=-0"}):
        get, head = client.get(result.url, headers=headers), client.head(result.url, headers=headers)
        assert head.status_code == get.status_code
        assert head.content == b""
        for name in ("content-length", "content-range", "content-type", "accept-ranges", "etag", "last-modified"):
            assert head.headers.get(name) == get.headers.get(name), name


def test_curl_resumes_a_cut_download(result: Result, server: Server, tmp_path: Path) -> None:
    partial = tmp_path / "result.png"
    partial.write_bytes(result.whole.content[: result.size // 3])  # what a dropped connection left
    run = subprocess.run(
        ["curl", "--silent", "--show-error", "--fail", "-C", "-", "-o", str(partial), "-w", "%{http_code}"]
        + ["-D", str(tmp_path / "headers"), server.url + result.url],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout == "206"  # only the missing part came over the wire
    assert partial.read_bytes() == result.whole.content


def test_a_206_is_counted_under_the_result_route(client: httpx.Client, result: Result) -> None:
    def counts() -> dict[tuple[str, str, str], float]:
        return request_counts(parse_metrics(client.get("/metrics").text))

    before = counts()
    assert client.get(result.url, headers={"Range": "bytes=0-99"}).status_code == 206
    assert client.head(result.url, headers={"Range": "bytes=0-99"}).status_code == 206
    assert client.get(result.url, headers={"Range": f"bytes={result.size}-"}).status_code == 416
    after = counts()
    for key, added in (
        (("GET", RESULT_ROUTE, "206"), 1),
        (("HEAD", RESULT_ROUTE, "206"), 1),
        (("GET", RESULT_ROUTE, "416"), 1),
    ):
        assert after.get(key, 0) - before.get(key, 0) == added, key


def test_ranged_fetches_racing_a_delete_get_their_bytes_or_404(client: httpx.Client) -> None:
    # The guarantee of whole fetches holds for parts too: a DELETE between the open and the
    # last chunk never gives a 500 or a part cut short.
    jobs = [_submit(client, seed=100 + index, size=48) for index in range(16)]
    whole = {job["id"]: client.get(job["result_url"]).content for job in jobs}

    async def race() -> list[tuple[str, str, int | str, bytes]]:
        outcomes: list[tuple[str, str, int | str, bytes]] = []
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=0)
        async with httpx.AsyncClient(base_url=str(client.base_url), timeout=60, limits=limits) as http:

            async def fetch(job: dict, spec: str) -> None:
                try:
                    response = await http.get(job["result_url"], headers={"Range": spec})
                except httpx.HTTPError as exc:
                    outcomes.append((job["id"], spec, type(exc).__name__, b""))
                    return
                outcomes.append((job["id"], spec, response.status_code, response.content))

            async def delete(job: dict) -> None:
                assert (await http.delete(job["status_url"])).status_code == 200

            steps = []
            for job in jobs:
                half = len(whole[job["id"]]) // 2
                steps += [fetch(job, f"bytes={half}-"), delete(job), fetch(job, f"bytes=0-{half - 1}")]
                steps += [fetch(job, "bytes=-4096")]
            await asyncio.gather(*steps)
        return outcomes

    outcomes = asyncio.run(race())
    assert len(outcomes) == 3 * len(jobs)
    for job_id, spec, status, body in outcomes:
        if status == 206:
            size = len(whole[job_id])
            first, _, last = spec.removeprefix("bytes=").partition("-")
            start = size - int(last) if not first else int(first)
            end = int(last) + 1 if first and last else size
            assert body == whole[job_id][start:end], (job_id, spec)
        else:
            assert status == 404, (job_id, spec, status, body[:200])
            assert json.loads(body)["code"] == "job_not_found"
    assert any(status == 206 for _, _, status, _ in outcomes)


def test_a_page_on_another_origin_can_resume_and_read_the_range_headers(client: httpx.Client, result: Result) -> None:
    """Suffix ranges and If-Range need a CORS preflight; Content-Range is hidden from scripts unless exposed."""
    origin = "http://localhost:3332"  # a CORS_ORIGINS entry of the test server
    preflight = client.options(
        result.url,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "range, if-range",
        },
    )
    assert preflight.status_code == 200, preflight.text
    allowed = {h.strip().lower() for h in preflight.headers["access-control-allow-headers"].split(",")}
    assert {"range", "if-range"} <= allowed
    part = client.get(result.url, headers={"Origin": origin, "Range": "bytes=-10"})
    assert part.status_code == 206
    exposed = {h.strip().lower() for h in part.headers["access-control-expose-headers"].split(",")}
    assert {"content-range", "accept-ranges", "etag", "last-modified"} <= exposed
