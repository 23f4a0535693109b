"""The ``yard`` console script as a new user runs it: from a shell, no PYTHONPATH, in
whatever folder they happen to be in."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

YARD = Path(sys.executable).parent / "yard"  # the console script: no cwd on its import path


def _yard(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run(
        [str(YARD), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_yard_init_then_yard_run_imports_the_robot_beside_the_config(tmp_path: Path) -> None:
    project, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert _yard("init", str(project), cwd=elsewhere).returncode == 0

    result = _yard("run", "../project/yard.toml", "--limit", "3000", "--quiet", cwd=elsewhere)

    assert result.returncode == 0, result.stderr
    assert "│ my-robot" in result.stdout


def test_yard_run_from_the_config_folder_imports_the_robot_too(tmp_path: Path) -> None:
    assert _yard("init", cwd=tmp_path).returncode == 0

    result = _yard("run", "yard.toml", "--limit", "3000", "--quiet", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "│ my-robot" in result.stdout


def test_yard_replay_finds_the_robot_beside_the_config_above_its_journal(tmp_path: Path) -> None:
    project, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert _yard("init", str(project), cwd=elsewhere).returncode == 0
    ran = _yard("run", "yard.toml", "--limit", "3000", "--quiet", cwd=project)
    assert ran.returncode == 0, ran.stderr
    [journal] = {p.parent for p in project.glob("yard-data/**/journal-*.yj")}

    result = _yard("replay", str(journal), "my-robot", cwd=elsewhere)

    assert result.returncode == 0, result.stderr
    assert result.stdout.rstrip().endswith("faithful")


def test_yard_replay_of_a_run_folder_finds_the_journal_inside(tmp_path: Path) -> None:
    assert _yard("run", "--limit", "2000", "--quiet", cwd=tmp_path).returncode == 0

    result = _yard("replay", "yard-data/run-0001", "mm-si", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("mm-si: ")
    assert result.stdout.rstrip().endswith("faithful")
