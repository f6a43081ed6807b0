"""scripts/run.sh: the port it announces is the backend's, and stopping the script stops the backend."""

from __future__ import annotations

import os
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
