"""What clients that call the API by hand (curl, scripts) get wrong: odd numbers, fields sent twice."""

from __future__ import annotations

import httpx
import pytest

from tests.api.conftest import pattern, png_bytes

GOOD = png_bytes(pattern(4))


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf", "1e309", "0", "-1", "0.5", "64"])
@pytest.mark.parametrize("where", ["query", "form"])
def test_out_of_range_scale_names_the_field_and_the_range(client: httpx.Client, where: str, value: str) -> None:
    sent = {"params": {"scale": value}} if where == "query" else {"data": {"scale": value}}
    response = client.post("/api/upscale", files={"file": ("p.png", GOOD, "image/png")}, **sent)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "unsupported_option"
    assert body["detail"].startswith("scale must be between 1 and 8"), body


@pytest.mark.parametrize(
    ("params", "detail"),
    [
        ({"quality": "0", "format": "jpeg"}, "quality must be between 1 and 100"),
        ({"quality": "101", "format": "jpeg"}, "quality must be between 1 and 100"),
        ({"tile": "-1"}, "tile must be 0 (no tiling) or between"),
        ({"denoise_strength": "nan"}, "denoise_strength must be between 0 and 1"),
        ({"denoise_strength": "-0.5"}, "denoise_strength must be between 0 and 1"),
    ],
)
def test_out_of_range_options_name_the_whole_range(client: httpx.Client, params: dict, detail: str) -> None:
    response = client.post("/api/upscale", params=params, files={"file": ("p.png", GOOD, "image/png")})
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "unsupported_option"
    assert response.json()["detail"].startswith(detail)


@pytest.mark.parametrize("endpoint", ["/api/upscale", "/api/upscale-info", "/api/jobs", "/api/upscale-batch"])
def test_an_option_sent_twice_in_the_form_is_422_naming_it(client: httpx.Client, endpoint: str) -> None:
    # Before: the last value won without a word (scale=2 then scale=3 ran at 3).
    field = "files" if endpoint.endswith("batch") else "file"
    response = client.post(
        endpoint,
        data={"scale": ["2", "3"]},
        files=[(field, ("p.png", GOOD, "image/png"))],
    )
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "duplicate_field"
    assert body["detail"] == "form field 'scale' was sent 2 times; send it once"


def test_an_option_sent_twice_in_the_query_is_422_naming_it(client: httpx.Client) -> None:
    response = client.post("/api/upscale?format=png&format=webp", files={"file": ("p.png", GOOD, "image/png")})
    assert response.status_code == 422, response.text
    assert response.json() == {
        "detail": "query parameter 'format' was sent 2 times; send it once",
        "code": "duplicate_field",
    }


def test_query_and_form_together_still_mean_the_form_wins(client: httpx.Client) -> None:
    response = client.post(
        "/api/upscale", params={"scale": "2"}, data={"scale": "3"}, files={"file": ("p.png", GOOD, "image/png")}
    )
    assert response.status_code == 200, response.text
    assert response.headers["x-output-size"] == "96x96"


@pytest.mark.parametrize("endpoint", ["/api/upscale", "/api/upscale-info", "/api/jobs"])
def test_two_files_on_a_one_file_route_is_422_not_the_last_file(client: httpx.Client, endpoint: str) -> None:
    # Before: only the second file was upscaled, and the answer did not say so.
    response = client.post(
        endpoint,
        files=[("file", ("a.png", GOOD, "image/png")), ("file", ("b.png", png_bytes(pattern(5, 16)), "image/png"))],
    )
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "duplicate_field"
    assert "'file' was sent 2 times" in body["detail"]


def test_several_files_on_the_batch_route_are_still_fine(client: httpx.Client) -> None:
    response = client.post(
        "/api/upscale-batch",
        files=[("files", ("a.png", GOOD, "image/png")), ("files", ("b.png", GOOD, "image/png"))],
    )
    assert response.status_code == 200, response.text
    assert response.headers["x-batch-succeeded"] == "2"
