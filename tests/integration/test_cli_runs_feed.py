"""``yard feed`` says at once what it waits for, rather than sitting silent (issue 14, item 9)."""

from __future__ import annotations

import select
import signal
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

_SAY_S = 30.0  # a loaded 2-core machine starts a Python process in well under this


def test_a_feed_waiting_for_subscribers_says_so_at_once(tmp_path: Path) -> None:
    url = f"ipc://{tmp_path}/data"
    feed = subprocess.Popen(
        [sys.executable, "-m", "yard_actors.app.cli", "feed", "--bind", url, "--wait-for", "2"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert feed.stderr is not None
        ready, _, _ = select.select([feed.stderr], [], [], _SAY_S)
        said = feed.stderr.readline() if ready else ""
    finally:
        feed.send_signal(signal.SIGINT)
        try:
            feed.communicate(timeout=_SAY_S)
        except subprocess.TimeoutExpired:
            feed.kill()
            feed.communicate()

    assert said == (
        f"yard feed: waiting for 2 subscribers to a symbol on {url}; start the hosts now "
        "(Ctrl-C to stop)\n"
    )
