"""`bash scripts/setup.sh --help`: the usage a newcomer reads, and nothing of the script's code."""

from __future__ import annotations

import subprocess

from deploy_helpers import REPO


def test_setup_help_prints_the_usage_comment_only() -> None:
    done = subprocess.run(
        ["bash", "scripts/setup.sh", "--help"], cwd=REPO, capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines and all(line.startswith("#") for line in lines), done.stdout
    assert any("SKIP_APT=1" in line for line in lines), "the options and environment are part of the usage"
