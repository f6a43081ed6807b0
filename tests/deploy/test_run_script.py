"""scripts/run.sh: the port it announces is the backend's, and stopping the script stops the backend."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time

from deploy_helpers import REPO, free_port


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_sigterm_to_run_sh_stops_the_backend(tmp_path) -> None:  # noqa: ANN001
    port = free_port()
    env = {
        **os.environ,
        "SKIP_APT": "1",
        "SKIP_FRONTEND": "1",
        "RUN_FRONTEND": "0",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WARMUP": "false",
        "DEVICE": "cpu",
        "JOBS_DIR": str(tmp_path / "jobs"),
    }
    log = tmp_path / "run.log"
    with log.open("wb") as out:
        script = subprocess.Popen(["bash", "scripts/run.sh"], cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 240  # setup.sh first; it skips what is already done
        while not _listening(port):
            assert script.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.5)
        assert f"http://127.0.0.1:{port}" in log.read_text()
        script.send_signal(signal.SIGTERM)
        script.wait(timeout=60)
        assert not _listening(port), "the backend outlived run.sh"
    finally:
        if script.poll() is None:
            script.kill()


def test_frontend_preview_proxies_to_the_port_the_backend_listens_on(tmp_path) -> None:  # noqa: ANN001
    """With PORT=18xxx the preview on :3332 must send /api there, not to vite's default :8000.

    A stand-in `npm` records the environment `npm run preview` gets (vite.config.ts reads
    API_PROXY_TARGET from it); other npm calls go to the real npm.
    """
    port = free_port()
    seen = tmp_path / "preview-env"
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    real_npm = shutil.which("npm") or "/usr/bin/npm"
    (fake_bin / "npm").write_text(
        "#!/usr/bin/env bash\n"
        f'case " $* " in *" preview "*) echo "target=$API_PROXY_TARGET" > {seen}; exec sleep 600;; esac\n'
        f'exec {real_npm} "$@"\n'
    )
    (fake_bin / "npm").chmod(0o755)
    dist = REPO / "frontend" / "dist"
    index = dist / "index.html"
    made_dist, made_index = not dist.exists(), not index.exists()  # run.sh starts the preview only after a build
    dist.mkdir(exist_ok=True)
    if made_index:
        index.write_text("<!doctype html>")
    env = {
        **os.environ,
        "PATH": f"{fake_bin}:{os.environ['PATH']}",
        "SKIP_APT": "1",
        "SKIP_FRONTEND": "1",
        "HOST": "0.0.0.0",
        "PORT": str(port),
        "WARMUP": "false",
        "DEVICE": "cpu",
        "JOBS_DIR": str(tmp_path / "jobs"),
    }
    env.pop("API_PROXY_TARGET", None)
    script = subprocess.Popen(["bash", "scripts/run.sh"], cwd=REPO, env=env, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 240
        while not (seen.exists() and seen.read_text().strip()):
            assert script.poll() is None, "run.sh exited before starting the preview"
            assert time.monotonic() < deadline
            time.sleep(0.5)
        assert seen.read_text().strip() == f"target=http://127.0.0.1:{port}"
    finally:
        script.send_signal(signal.SIGTERM)
        try:
            script.wait(timeout=60)
        except subprocess.TimeoutExpired:
            script.kill()
        if made_index:
            index.unlink()
        if made_dist:
            dist.rmdir()
