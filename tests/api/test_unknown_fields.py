"""A form field the service does not know is a 422 that names it, not silently ignored.

Before, `-F outscale=2` (the official inference script's name), `-F scal=2` or
`-F face_enhance=true` upscaled at the default and the user never learned why.
Unknown query parameters stay accepted: browsers and proxies add cache busters.
"""

from __future__ import annotations

import httpx
import pytest

from tests.api.conftest import pattern, png_bytes

GOOD = png_bytes(pattern(6))
ROUTES = ["/api/upscale", "/api/upscale-info", "/api/upscale-batch", "/api/jobs"]


def _file_field(endpoint: str) -> str:
    return "files" if endpoint.endswith("batch") else "file"


def _upload(endpoint: str) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [(_file_field(endpoint), ("p.png", GOOD, "image/png"))]


def _assert_ok(client: httpx.Client, endpoint: str, response: httpx.Response) -> None:
    assert response.status_code in (200, 202), response.text
    if endpoint == "/api/jobs":
        client.delete(f"/api/jobs/{response.json()['id']}")  # do not leave it in the session server's store


@pytest.mark.parametrize("endpoint", ROUTES)
@pytest.mark.parametrize(("field", "hint"), [("outscale", "scale"), ("scal", "scale"), ("face_enhance", None)])
def test_unknown_form_field_is_422_naming_it(client: httpx.Client, endpoint: str, field: str, hint: str | None) -> None:
    response = client.post(endpoint, data={field: "2"}, files=_upload(endpoint))
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "unknown_field"
    assert f"unknown form field {field!r}" in body["detail"]
    if hint:
        assert f"did you mean {hint!r}" in body["detail"]
    # What the route does take, so the fix is in the message.
    accepted = body["detail"].split("this route takes: ")[1].split(", ")
    assert sorted(accepted) == sorted(
        [_file_field(endpoint), "model", "scale", "format", "quality", "tile", "denoise_strength"]
    )
    # The service is still up and a good request works.
    _assert_ok(client, endpoint, client.post(endpoint, data={"scale": "2"}, files=_upload(endpoint)))


def test_the_wrong_file_field_name_says_which_one(client: httpx.Client) -> None:
    response = client.post("/api/upscale-batch", files=[("file", ("p.png", GOOD, "image/png"))])
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "unknown_field"
    assert "'file' (did you mean 'files'?)" in response.json()["detail"]


def test_every_unknown_field_is_named(client: httpx.Client) -> None:
    response = client.post(
        "/api/upscale", data={"outscale": "2", "face_enhance": "true"}, files=_upload("/api/upscale")
    )
    assert response.status_code == 422, response.text
    assert response.json()["detail"].startswith(
        "unknown form fields 'outscale' (did you mean 'scale'?), 'face_enhance';"
    )


def test_unknown_field_in_an_urlencoded_form_is_422(client: httpx.Client) -> None:
    response = client.post("/api/upscale", data={"outscale": "2"})  # application/x-www-form-urlencoded
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "unknown_field"


def test_a_long_field_name_is_cut_in_the_message(client: httpx.Client) -> None:
    response = client.post("/api/upscale", data={"x" * 500: "1"}, files=_upload("/api/upscale"))
    assert response.status_code == 422, response.text
    assert len(response.json()["detail"]) < 300


@pytest.mark.parametrize("endpoint", ROUTES)
def test_unknown_query_parameters_are_still_accepted(client: httpx.Client, endpoint: str) -> None:
    # A cache buster, and the old client's `?scale=`: neither is refused.
    response = client.post(endpoint, params={"t": "123", "scale": "2"}, files=_upload(endpoint))
    _assert_ok(client, endpoint, response)


def test_known_form_fields_still_work(client: httpx.Client) -> None:
    data = {"model": "tiny", "scale": "2", "format": "jpeg", "quality": "80", "tile": "16"}
    response = client.post("/api/upscale", data=data, files=_upload("/api/upscale"))
    assert response.status_code == 200, response.text
    assert response.headers["x-output-size"] == "64x64"
    assert response.headers["content-type"] == "image/jpeg"
