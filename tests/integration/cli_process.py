"""Run a yard command as a real process, to its end, its output caught: the CLI tests' helper."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def yard(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``yard ARGS...`` with this interpreter, in ``cwd``; never raises for its exit code."""
    return subprocess.run(
        [sys.executable, "-m", "yard_actors.app.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
