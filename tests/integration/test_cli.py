"""The yard command as a user runs it: a real subprocess in a fresh directory."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def _yard(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "yard_actors.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_yard_help_lists_the_commands(tmp_path: Path) -> None:
    result = _yard("--help", cwd=tmp_path)

    assert result.returncode == 0
    assert "run" in result.stdout
    assert "replay" in result.stdout


def test_yard_run_trades_the_demo_and_journals_it(tmp_path: Path) -> None:
    result = _yard("run", "--quotes", "3000", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "yard: publishing 3,000 quotes (seed 7) to 3 robots"
    for robot in ("trend-si", "mm-si", "mm-rts"):
        assert any(line.startswith(robot) and "running" in line for line in lines)
    run_dir = tmp_path / "yard-data" / "run-0001"
    assert list((run_dir / "journal").glob("journal-*.yj"))
    assert (run_dir / "yard.db").stat().st_size > 0
    assert any(line.startswith("3,000 quotes in") and "fills" in line for line in lines)

    replayed = _yard("replay", "yard-data/run-0001/journal", "mm-si", cwd=tmp_path)

    assert replayed.returncode == 0, replayed.stderr
    assert replayed.stdout.rstrip().endswith("faithful")


def test_yard_replay_of_an_unknown_robot_exits_2_with_a_message(tmp_path: Path) -> None:
    result = _yard("replay", str(tmp_path), "ghost", cwd=tmp_path)

    assert result.returncode == 2
    assert f"journal {tmp_path} has no robot named 'ghost'" in result.stderr


def test_pinning_to_a_cpu_that_does_not_exist_exits_2(tmp_path: Path) -> None:
    result = _yard("--cpu", "9999", "run", "--quotes", "10", cwd=tmp_path)

    assert result.returncode == 2
    assert "yard: cannot pin to CPUs [9999]" in result.stderr
