"""Every endpoint over real HTTP, with the response shapes from DESIGN.md §2."""

from __future__ import annotations

import base64
import io
import json
import zipfile

import httpx
import numpy as np
import pytest
from skimage import data as samples

from tests.api.conftest import Server, block_mean, decode, pattern, png_bytes, start_server


def test_health_reports_ready_tiny_model_on_cpu(client: httpx.Client) -> None:
    body = client.get("/api/health").json()
    assert body["status"] == "healthy"
    assert body["model_loaded"] is True
    assert body["device"]["type"] == "cpu"
    assert set(body["device"]) == {"type", "name", "torch_version"}
    assert client.get("/api/health/live").json() == {"status": "alive"}
    assert client.get("/api/health/ready").status_code == 200


def test_info_lists_device_models_limits_versions(client: httpx.Client) -> None:
    body = client.get("/api/info").json()
    assert body["device"]["type"] == "cpu"
    assert body["models"]["default"] == "tiny"
    assert "tiny" in body["models"]["loaded"]
    assert "tiny" in body["models"]["available"]
    assert body["models"]["compiled"] == []  # TORCH_COMPILE=auto compiles on CUDA only
    assert body["limits"]["max_input_pixels"] == 300 * 300
    assert body["queue"]["capacity"] == 2
    assert {"python", "torch", "fastapi", "spandrel"} <= set(body["versions"])
    assert body["replica"] == "test-a"


def test_models_list_scale_arch_source(client: httpx.Client) -> None:
    body = client.get("/api/models").json()
    by_name = {model["name"]: model for model in body["models"]}
    assert by_name["tiny"]["source"] == "custom"
    assert by_name["tiny"]["default"] is True
    anime = by_name["realesr-animevideov3"]
    assert (anime["source"], anime["scale"], anime["arch"]) == ("bundled", 4, "SRVGGNetCompact")


def test_real_photo_comes_back_at_the_right_size_with_headers(client: httpx.Client) -> None:
    photo = samples.astronaut()[40:80, 180:228]  # 48x40 crop of a real photo
    response = client.post(
        "/api/upscale",
        params={"model": "realesr-animevideov3", "scale": 2},
        files={"file": ("astronaut.jpg", png_bytes(photo, "JPEG"), "image/jpeg")},
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    assert response.headers["x-original-size"] == "48x40"
    assert response.headers["x-output-size"] == "96x80"
    assert response.headers["x-device"] == "cpu"
    assert response.headers["x-model"] == "realesr-animevideov3"
    assert float(response.headers["x-process-time"]) >= 0
    assert response.headers["x-request-id"]
    output = decode(response.content)
    assert output.shape == (80, 96, 3)
    # A 2x super-resolution of a photo still looks like the photo.
    assert np.abs(block_mean(output, 2) - photo).mean() < 20


def test_default_output_is_native_scale_png_matching_input(client: httpx.Client) -> None:
    image = pattern(3)
    response = client.post("/api/upscale", files={"file": ("p.png", png_bytes(image), "image/png")})
    assert response.status_code == 200, response.text
    output = decode(response.content)
    assert output.shape == (128, 128, 3)
    assert np.abs(block_mean(output, 4) - image).max() < 4


def test_options_as_form_fields_jpeg_and_webp(client: httpx.Client) -> None:
    image = pattern(4)
    for fmt, media in (("jpeg", "image/jpeg"), ("webp", "image/webp"), ("jpg", "image/jpeg")):
        response = client.post(
            "/api/upscale",
            data={"format": fmt, "quality": "90", "scale": "2.5", "tile": "16"},
            files={"file": ("p.png", png_bytes(image), "image/png")},
        )
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == media
        assert response.headers["x-output-size"] == "80x80"
        assert decode(response.content).shape == (80, 80, 3)


def test_upscale_info_returns_base64_json_shape(client: httpx.Client) -> None:
    response = client.post("/api/upscale-info", files={"file": ("p.png", png_bytes(pattern(5)), "image/png")})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True
    prefix = "data:image/png;base64,"
    assert body["image"].startswith(prefix)
    assert decode(base64.b64decode(body["image"][len(prefix) :])).shape == (128, 128, 3)
    info = body["info"]
    assert info["original_size"] == [32, 32]
    assert info["output_size"] == [128, 128]
    assert info["device"] == "cpu"
    assert isinstance(info["process_time"], float)


def test_batch_returns_zip_with_report_and_survives_a_bad_file(client: httpx.Client) -> None:
    files = [
        ("files", ("one.png", png_bytes(pattern(1)), "image/png")),
        ("files", ("broken.png", b"not an image at all", "image/png")),
        ("files", ("../../evil.png", png_bytes(pattern(2)), "image/png")),
        ("files", ("one.png", png_bytes(pattern(6)), "image/png")),
    ]
    response = client.post("/api/upscale-batch", params={"scale": 2}, files=files)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    assert response.headers["x-batch-succeeded"] == "3"
    assert response.headers["x-batch-failed"] == "1"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    report = json.loads(archive.read("report.json"))
    assert [item["ok"] for item in report["files"]] == [True, False, True, True]
    assert report["files"][1]["error"]["code"] == "invalid_image"
    names = [item["output"] for item in report["files"] if item["ok"]]
    assert len(set(names)) == 3 and all("/" not in name and ".." not in name for name in names)
    for item, index in zip((report["files"][0], report["files"][2], report["files"][3]), (1, 2, 6), strict=True):
        output = decode(archive.read(item["output"]))
        assert output.shape == (64, 64, 3)
        assert np.abs(block_mean(output, 2) - pattern(index)).max() < 4


def test_batch_over_the_file_limit_is_413(client: httpx.Client) -> None:
    files = [("files", (f"{i}.png", png_bytes(pattern(i)), "image/png")) for i in range(5)]
    response = client.post("/api/upscale-batch", files=files)
    assert response.status_code == 413
    assert response.json()["code"] == "too_many_files"


@pytest.mark.parametrize(
    ("fields", "status", "code"),
    [
        ({"model": "no-such-model"}, 404, "model_not_found"),
        ({"model": "../weights"}, 422, "invalid_model_name"),
        ({"denoise_strength": "0.5"}, 422, "unsupported_option"),  # the tiny model has no denoise twin
    ],
)
def test_a_batch_option_every_file_would_fail_on_is_refused_whole(
    client: httpx.Client, fields: dict[str, str], status: int, code: str
) -> None:
    """Like /api/upscale, not a 200 ZIP of nothing but failures: a typo in the model name would
    otherwise look like a batch of bad images."""
    files = [("files", (f"{i}.png", png_bytes(pattern(i)), "image/png")) for i in range(2)]
    response = client.post("/api/upscale-batch", data=fields, files=files)
    assert response.status_code == status, response.text
    assert response.json()["code"] == code
    single = client.post("/api/upscale", data=fields, files={"file": files[0][1]})
    assert (single.status_code, single.json()["code"]) == (status, code)


def test_metrics_exposes_requests_queue_inference_tiles(client: httpx.Client) -> None:
    client.post("/api/upscale", files={"file": ("p.png", png_bytes(pattern(7)), "image/png")})
    text = client.get("/metrics").text
    for name in (
        "http_requests_total",
        "http_request_duration_seconds_bucket",
        "upscale_queue_depth",
        "upscale_inference_seconds_count",
        "upscale_tiles_total",
        "upscale_tiles_per_second",
        'upscale_forward_passes_total{model="tiny",shared="false"}',
        "upscale_device_memory_bytes",
    ):
        assert name in text, name
    assert 'route="/api/upscale"' in text


def test_docs_and_openapi_document_errors(client: httpx.Client) -> None:
    assert client.get("/docs").status_code == 200
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    for path in (
        "/api/health",
        "/api/info",
        "/api/models",
        "/api/models/{name}/onnx",
        "/api/upscale",
        "/api/upscale-info",
        "/api/upscale-batch",
        "/api/jobs",
        "/api/jobs/{job_id}",
        "/api/jobs/{job_id}/events",
        "/api/jobs/{job_id}/result",
        "/metrics",
    ):
        assert path in paths, path
    upscale = paths["/api/upscale"]["post"]["responses"]
    assert {"200", "413", "415", "422", "503"} <= set(upscale)
    assert upscale["415"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorResponse")
    assert "X-Output-Size" in upscale["200"]["headers"]


def test_cors_allows_configured_origin_and_exposes_headers(client: httpx.Client) -> None:
    origin = "http://localhost:3332"
    preflight = client.options("/api/upscale", headers={"Origin": origin, "Access-Control-Request-Method": "POST"})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == origin
    response = client.post(
        "/api/upscale", headers={"Origin": origin}, files={"file": ("p.png", png_bytes(pattern(8)), "image/png")}
    )
    assert response.headers["access-control-allow-origin"] == origin
    assert response.headers["access-control-allow-credentials"] == "true"
    exposed = {h.strip().lower() for h in response.headers["access-control-expose-headers"].split(",")}
    assert {"x-process-time", "x-original-size", "x-output-size", "x-device", "x-model", "x-request-id"} <= exposed
    # Errors carry CORS headers too, so the browser can read the JSON.
    error = client.post("/api/upscale", headers={"Origin": origin}, files={"file": ("e.png", b"", "image/png")})
    assert error.headers["access-control-allow-origin"] == origin
    other = client.get("/api/health", headers={"Origin": "http://evil.example"})
    assert "access-control-allow-origin" not in other.headers
    refused = client.options(
        "/api/upscale", headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"}
    )
    assert refused.status_code == 400 and refused.json()["code"] == "cors_rejected"
    assert "access-control-allow-origin" not in refused.headers


def test_onnx_download_is_cached_binary(client: httpx.Client, server: Server) -> None:
    response = client.get("/api/models/tiny/onnx")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/octet-stream"
    assert "max-age" in response.headers["cache-control"]
    assert response.content[:2] != b""
    again = client.get("/api/models/tiny/onnx", headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304
    assert client.get("/api/models/nope/onnx").json()["code"] == "model_not_found"


def test_request_id_is_echoed(client: httpx.Client) -> None:
    response = client.get("/api/health", headers={"X-Request-ID": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"


def test_png_compression_setting_gives_smaller_png_with_the_same_pixels(
    client: httpx.Client, tmp_path, models_dir
) -> None:
    """The default (PNG_COMPRESSION=1, fast) against a replica started with 9: same image out."""
    photo = samples.chelsea()[:96, :96]
    upload = {"file": ("cat.png", png_bytes(photo), "image/png")}
    fast = client.post("/api/upscale", files=upload)
    small_server = start_server(tmp_path, models_dir, PNG_COMPRESSION="9")
    try:
        with small_server.client() as other:
            small = other.post("/api/upscale", files=upload)
    finally:
        small_server.stop()
    assert fast.status_code == small.status_code == 200
    assert np.array_equal(decode(fast.content), decode(small.content))
    assert len(small.content) < len(fast.content)
