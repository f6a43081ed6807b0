"""LOG_LEVEL=trace, which the settings accept (uvicorn's most verbose level), starts the service."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.api.conftest import start_server


def test_python_api_server_starts_with_log_level_trace(tmp_path: Path, models_dir: Path) -> None:
    # Before: main() gave logging.basicConfig "TRACE" before uvicorn had registered that level
    # name, so `python api_server.py` died with "ValueError: Unknown level: 'TRACE'".
    server = start_server(tmp_path, models_dir, as_script=True, LOG_LEVEL="trace", WARMUP="false")
    try:
        assert httpx.get(f"{server.url}/api/health", timeout=10).status_code == 200
        assert "TRACE:" in server.log()  # uvicorn's trace lines, so the level took effect
    finally:
        server.stop()
