"""The real command line, `python -m callister ...`, run as a child process the way an
operator's shell or script runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path


def run_callister(
    *args: str,
    stdin: str | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 120,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `python -m callister ARGS` to the end and capture its output. `env` is its whole
    environment (default: this process's). It runs in a session of its own, with no
    controlling terminal, so a password prompt reads standard input (`stdin`)."""
    return subprocess.run(
        [sys.executable, "-m", "callister", *args], capture_output=True, text=True,
        input=stdin, timeout=timeout, check=False, start_new_session=True, env=env, cwd=cwd,
    )  # fmt: skip


def operator_env(**extra: str) -> dict[str, str]:
    """This process's environment without any CALLISTER_ setting (a test's server settings
    must not leak into the operator's command), plus `extra`."""
    return {k: v for k, v in os.environ.items() if not k.startswith("CALLISTER_")} | extra
