"""The server under test: start a local uvicorn for the run, wait until it is ready, refuse
to drive anything but a loopback address, and a tiny random model for plumbing runs."""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import httpx

from bench.common import REPO, RESULTS


def is_loopback(url: str) -> bool:
    host = urlparse(url).hostname or ""
    try:
        return all(ipaddress.ip_address(info[4][0]).is_loopback for info in socket.getaddrinfo(host, None))
    except (OSError, ValueError):
        return False


def start_server(
    port: int, queue_size: int, extra_env: dict | None = None, parser: str = "production"
) -> subprocess.Popen:
    """production: `python backend/api_server.py`, as Docker, systemd and run.sh start it (uvicorn's
    h11 parser with the header bound); httptools: plain `uvicorn`, whose default parser is faster
    per request but unbounded, to measure what the bound costs."""
    env = dict(os.environ, PORT=str(port), QUEUE_SIZE=str(queue_size), PRELOAD_MODELS="", WARMUP="true")
    env.update(extra_env or {}, HOST="127.0.0.1")
    cmd = [sys.executable, "-m", "uvicorn", "backend.api_server:app", "--host", "127.0.0.1", "--port", str(port)]
    if parser == "production":
        cmd = [sys.executable, "backend/api_server.py"]
    elif parser == "h11":  # production's parser and bound, started as plain uvicorn
        cmd += ["--http", "h11", "--h11-max-incomplete-event-size", "65536"]
    log = open(RESULTS / "load_server.log", "w")  # noqa: SIM115 - lives as long as the server
    return subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)


def make_tiny_model(path: Path, seed: int = 0) -> None:
    """A random 2-conv SRVGGNetCompact (x4), its last conv scaled down: fast, deterministic plumbing."""
    import torch
    from safetensors.torch import save_file
    from spandrel.architectures.Compact import Compact

    torch.manual_seed(seed)
    net = Compact(num_feat=8, num_conv=2, upscale=4)
    state = {key: value.detach().clone().contiguous() for key, value in net.state_dict().items()}
    last = max((key for key in state if key.endswith(".weight")), key=lambda k: int(k.split(".")[1]))
    state[last] *= 0.001
    state[last.replace("weight", "bias")].zero_()
    save_file(state, str(path))


async def wait_ready(base: str, seconds: float, server: subprocess.Popen | None = None) -> None:
    """Until /api/health/ready answers 200. A server we started that has exited fails at once, with
    the end of its log: waiting out the timeout on a dead port cost a GPU run its minutes."""
    deadline = time.monotonic() + seconds
    async with httpx.AsyncClient(timeout=5) as client:
        while time.monotonic() < deadline:
            if server is not None and server.poll() is not None:
                log = (RESULTS / "load_server.log").read_text(errors="replace").strip().splitlines()
                tail = "\n".join(log[-8:])
                raise SystemExit(f"the server exited with status {server.returncode} before it was ready:\n{tail}")
            try:
                if (await client.get(f"{base}/api/health/ready")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.5)
    raise SystemExit(f"{base} did not become ready in {seconds:.0f} s")
