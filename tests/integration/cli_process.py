"""Run a yard command as a real process, to its end, its output caught: the CLI tests' helper."""

from __future__ import annotations

import os
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


YARD_SCRIPT = Path(sys.executable).parent / "yard"  # the console script: no cwd on its path


def yard_script(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``yard ARGS...`` through the installed console script, as a user types it, without
    ``PYTHONPATH``: unlike ``python -m``, nothing puts the working folder on the import
    path, so a test sees what a user's shell gives."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run(
        [str(YARD_SCRIPT), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
