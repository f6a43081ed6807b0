"""Start the real service with uvicorn in a subprocess and talk to it over HTTP.

Plumbing tests use `tiny`, a random SRVGGNetCompact (8 features, 2 convs, x4) whose last
conv is scaled down, so its output is close to a nearest-neighbour upscale: every result
can be checked against the input it came from.
"""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT = 180.0


def make_tiny_model(path: Path, seed: int = 0) -> None:
    import torch
    from safetensors.torch import save_file
    from spandrel.architectures.Compact import Compact

    torch.manual_seed(seed)
    net = Compact(num_feat=8, num_conv=2, upscale=4)
    state = {key: value.detach().clone().contiguous() for key, value in net.state_dict().items()}
    last = max((key for key in state if key.endswith(".weight")), key=lambda k: int(k.split(".")[1]))
    state[last] *= 0.001  # small residual: output ~ nearest upscale of the input
    state[last.replace("weight", "bias")].zero_()
    save_file(state, str(path))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def png_bytes(pixels: np.ndarray, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=fmt)
    return buffer.getvalue()


def decode(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def pattern(index: int, size: int = 32) -> np.ndarray:
    """A distinct image per index: its own base colour plus a gentle gradient."""
    base = np.array([(40 * index) % 256, 255 - (40 * index) % 256, (97 * index) % 256], dtype=np.int32)
    ramp = np.linspace(0, 24, size, dtype=np.int32)
    image = np.empty((size, size, 3), dtype=np.int32)
    image[:] = base
    image[..., 0] += ramp[None, :]
    image[..., 1] -= ramp[:, None]
    return np.clip(image, 0, 255).astype(np.uint8)


def block_mean(image: np.ndarray, factor: int) -> np.ndarray:
    h, w, c = image.shape
    return image.reshape(h // factor, factor, w // factor, factor, c).mean(axis=(1, 3))


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    env: dict[str, str]
    log_path: Path

    def client(self, **kwargs) -> httpx.Client:  # noqa: ANN003
        kwargs.setdefault("timeout", 120)
        return httpx.Client(base_url=self.url, **kwargs)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def start_server(
    tmp: Path, models_dir: Path, *, as_script: bool = False, wait_ready: bool = True, **overrides: str
) -> Server:
    """as_script: run `cd backend && python api_server.py` (the guide's way) instead of uvicorn.
    wait_ready=False: return as soon as /api/health answers, even while the model still loads."""
    port = free_port()
    jobs_dir = tmp / "jobs"
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.isupper() or key in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PYTHONPATH")
    }
    env.update(
        {
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "MODELS_DIR": str(models_dir),
            "JOBS_DIR": str(jobs_dir),
            "DEFAULT_MODEL": "tiny",
            "DEVICE": "cpu",
            "TILE": "32",
            "MIN_TILE": "8",
            "TILE_PAD": "4",
            "TILE_BATCH": "1",
            "QUEUE_SIZE": "2",
            "MAX_UPLOAD_MB": "1",
            "MAX_INPUT_PIXELS": str(300 * 300),
            "MAX_OUTPUT_PIXELS": str(1500 * 1500),
            "MAX_BATCH_FILES": "4",
            "CORS_ORIGINS": "http://localhost:3332",
            "REPLICA_ID": "test-a",
            "SHUTDOWN_TIMEOUT": "10",
            "OMP_NUM_THREADS": "1",
            "LOG_LEVEL": "info",
        }
    )
    env.update(overrides)
    log_path = tmp / f"server-{port}.log"
    log_file = log_path.open("wb")
    if as_script:
        command, cwd = [sys.executable, "api_server.py"], REPO / "backend"
    else:
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            "backend.api_server:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            # The HTTP parser and header bound that `python api_server.py` (production) runs with.
            "--http",
            "h11",
            "--h11-max-incomplete-event-size",
            "65536",  # backend.api_server.MAX_HEADER_BYTES
        ]
        cwd = REPO
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )
    server = Server(f"http://127.0.0.1:{port}", process, env, log_path)
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{server.log()}")
        try:
            health = httpx.get(f"{server.url}/api/health", timeout=2).json()
            if health["status"] != "loading" or not wait_ready:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"server did not become ready:\n{server.log()}")


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("models")
    make_tiny_model(directory / "tiny.safetensors")
    return directory


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Iterator[Server]:
    running = start_server(tmp_path_factory.mktemp("server"), models_dir)
    yield running
    running.stop()


@pytest.fixture
def client(server: Server) -> Iterator[httpx.Client]:
    with server.client() as http:
        yield http
