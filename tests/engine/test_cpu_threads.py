"""The OpenMP wait policy that keeps NNPACK's thread pool from losing its cores (backend/__init__.py)."""

from __future__ import annotations

import os
import subprocess
import sys

from backend.settings import REPO_DIR

_PRINT_POLICY = "import backend, os; print(os.environ['OMP_WAIT_POLICY'])"


def _policy(env: dict[str, str]) -> str:
    result = subprocess.run(
        [sys.executable, "-c", _PRINT_POLICY], cwd=REPO_DIR, env=env, capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


def test_importing_the_backend_makes_idle_openmp_threads_sleep() -> None:
    env = {key: value for key, value in os.environ.items() if key != "OMP_WAIT_POLICY"}
    assert _policy(env) == "PASSIVE"


def test_an_explicit_policy_wins() -> None:
    assert _policy({**os.environ, "OMP_WAIT_POLICY": "ACTIVE"}) == "ACTIVE"
