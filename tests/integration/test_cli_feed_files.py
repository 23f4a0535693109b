"""``yard feed`` and ``yard run`` given data files a user really has: crossed quotes, an empty
export; and the counts they print."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.integration.cli_process import yard as _yard

T0 = 1_764_226_800_000_000_000  # 2025-11-27T07:00:00Z, 10:00 in Moscow
QUOTE_HEADER = "timestamp,symbol,bid,ask,bid_size,ask_size"


def _feed(*files: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return _yard(
        "feed", *files, "--bind", f"ipc://{cwd}/data", "--wait-for", "0", "--no-sessions", cwd=cwd
    )


def test_yard_feed_drops_a_crossed_quote_naming_file_and_line_and_counts_in_good_english(
    tmp_path: Path,
) -> None:
    rows = [QUOTE_HEADER, f"{T0},Si,90000,90001,3,4", f"{T0 + 1},Si,90002,90001,3,4"]
    (tmp_path / "si.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")

    result = _feed("si.csv", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(
        "yard feed: 1 event (1 quote, 0 ticks, 0 session changes) from 1 file, 1 bad row skipped"
    )
    assert "si.csv line 3: its bid 90002 is not below its ask 90001 (a crossed" in result.stderr


def test_yard_feed_of_an_empty_file_exits_2_saying_so(tmp_path: Path) -> None:
    (tmp_path / "empty.csv").write_text("", encoding="utf-8")

    result = _feed("empty.csv", cwd=tmp_path)

    assert result.returncode == 2
    assert "yard feed: Market data file empty.csv is empty" in result.stderr


def test_yard_run_of_an_empty_file_exits_2_saying_so(tmp_path: Path) -> None:
    (tmp_path / "empty.csv").write_text(QUOTE_HEADER + "\n", encoding="utf-8")
    (tmp_path / "yard.toml").write_text('[feed]\nfiles = ["empty.csv"]\n', encoding="utf-8")

    result = _yard("run", "yard.toml", "--quiet", cwd=tmp_path)

    assert result.returncode == 2, result.stdout
    assert "empty.csv has a header but no rows" in result.stderr
