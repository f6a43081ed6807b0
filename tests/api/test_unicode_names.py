"""Result names keep the uploader's Unicode name, safely: in Content-Disposition and inside batch ZIPs."""

from __future__ import annotations

import io
import time
import zipfile
from urllib.parse import unquote

import httpx
import pytest
from skimage import data as skdata

from backend.api.uploads import content_disposition, result_filename
from tests.api.conftest import png_bytes

PHOTO = png_bytes(skdata.astronaut()[180:212, 200:232])


def utf8_name(header: str) -> str:
    """The RFC 5987 name from a Content-Disposition value."""
    encoded = header.split("filename*=", 1)[1].split(";", 1)[0].strip()
    charset, _, value = encoded.split("'", 2)
    assert charset.lower() == "utf-8"
    return unquote(value, encoding="utf-8")


@pytest.mark.parametrize(
    ("uploaded", "expected"),
    [
        ("ünïcödé 名字.png", "ünïcödé 名字_upscaled.png"),
        ("名字.png", "名字_upscaled.png"),
        ("photo.jpg", "photo_upscaled.png"),
        ("../../etc/passwd", "passwd_upscaled.png"),
        ("C:\\Users\\me\\.secret.png", "secret_upscaled.png"),
        ("..", "image_upscaled.png"),
        ("bad\x00na\nme\u202egnp.png", "bad_na_me_gnp_upscaled.png"),
        ('a"b<c>|d.png', "a_b_c_d_upscaled.png"),
        (None, "image_upscaled.png"),
    ],
)
def test_result_filename_keeps_unicode_and_drops_what_is_unsafe(uploaded: str | None, expected: str) -> None:
    assert result_filename(uploaded, "png") == expected


def test_result_filename_is_capped_without_splitting_a_character() -> None:
    name = result_filename("名" * 300 + ".jpg", "webp")
    assert name.endswith("_upscaled.webp") and len(name.encode("utf-8")) <= 255
    assert set(name.removesuffix("_upscaled.webp")) == {"名"}


def test_content_disposition_has_an_ascii_fallback_and_the_utf8_name() -> None:
    header = content_disposition("ünïcödé 名字_upscaled.png")
    header.encode("latin-1")  # a header value must be Latin-1
    assert header.startswith('inline; filename="unicode_upscaled.png"; ')
    assert utf8_name(header) == "ünïcödé 名字_upscaled.png"
    assert content_disposition("photo_upscaled.png", "attachment") == 'attachment; filename="photo_upscaled.png"'


def test_upscale_answers_with_the_unicode_name(client: httpx.Client) -> None:
    # Needs routes/upscale.py to build the header with content_disposition().
    response = client.post("/api/upscale", files={"file": ("ünïcödé 名字.png", PHOTO, "image/png")})
    assert response.status_code == 200, response.text
    assert utf8_name(response.headers["content-disposition"]) == "ünïcödé 名字_upscaled.png"


def test_job_result_answers_with_the_unicode_name(client: httpx.Client) -> None:
    created = client.post("/api/jobs", files={"file": ("名字.png", PHOTO, "image/png")})
    assert created.status_code == 202, created.text
    job_id = created.json()["id"]
    for _ in range(600):
        if client.get(f"/api/jobs/{job_id}").json()["state"] in ("succeeded", "failed"):
            break
        time.sleep(0.1)
    response = client.get(f"/api/jobs/{job_id}/result")
    assert response.status_code == 200, response.text
    assert utf8_name(response.headers["content-disposition"]) == "名字_upscaled.png"


def test_batch_zip_keeps_distinct_unicode_names(client: httpx.Client) -> None:
    files = [("files", (name, PHOTO, "image/png")) for name in ("名字.png", "写真.png", "名字.png")]
    response = client.post("/api/upscale-batch", files=files)
    assert response.status_code == 200, response.text
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        names = set(archive.namelist()) - {"report.json"}
    assert names == {"名字_upscaled.png", "写真_upscaled.png", "名字_upscaled_2.png"}
