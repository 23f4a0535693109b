"""``yard run`` on a real 80-column terminal: the live progress line and the summary table fit
(issue 14, item 9).

The run is a real process on a real pseudo-terminal (pexpect) 80 columns wide. What it
drew is split where the terminal would start a line (``\\n``) or redraw one (``\\r``), its
ANSI escapes stripped. Plain sentences (a log line, a note under the table) are left to
the terminal to wrap, as any program's are; the progress line and the table must fit.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

pexpect = pytest.importorskip("pexpect")

pytestmark = pytest.mark.slow

_COLUMNS = 80
_RUN_S = 300.0  # every wait is bounded; a loaded 2-core machine gets wide margins
_ANSI = re.compile(
    r"\x1b\[[0-9;?<=>]*[ -/]*[@-~]"  # CSI: colours, cursor moves, erases
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"  # OSC
    r"|\x1b[()][0-9A-Za-z]|\x1b[=>78]"
)
_TABLE = ("┏", "┃", "┡", "│", "└", "yard run: per-robot summary")


def drawn_on_a_terminal(tmp_path: Path, *args: str) -> tuple[int | None, list[str]]:
    """Run ``yard ARGS`` on an 80-column pty to its end: its exit code and its screen lines."""
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "NO_COLOR")}
    env["TERM"] = "xterm-256color"
    child = pexpect.spawn(
        sys.executable,
        ["-m", "yard_actors.app.cli", *args],
        cwd=str(tmp_path),
        env=env,
        dimensions=(24, _COLUMNS),
        encoding="utf-8",
        timeout=_RUN_S,
    )
    try:
        out = child.read()  # to EOF, within the timeout
    finally:
        child.close(force=True)
    return child.exitstatus, re.split(r"[\r\n]", _ANSI.sub("", out))


def test_the_progress_line_and_the_summary_fit_80_columns(tmp_path: Path) -> None:
    code, lines = drawn_on_a_terminal(tmp_path, "run", "--limit", "6000")

    assert code == 0, "\n".join(lines)
    progress = [line for line in lines if "/6,000" in line]
    assert progress, "no progress line was drawn"
    table = [line for line in lines if line.strip().startswith(_TABLE)]
    assert table, "no summary table was printed"
    too_wide = [line for line in progress + table if len(line) > _COLUMNS]
    assert not too_wide, f"wider than {_COLUMNS} columns: {too_wide}"
    last = progress[-1]
    assert "100%" in last
    assert "6,000/6,000" in last  # the whole count, not "6,0…"
    assert re.search(r"\d\d:\d\d:\d\d UTC", last), last  # the market clock
    assert any(re.search(r"[\d,]+ ev/s +ETA \d+:\d\d", line) for line in progress)
    assert "│ trend-si │ running" in "\n".join(table)  # names and statuses whole
