"""The ``yard`` console script as a new user runs it: from a shell, no PYTHONPATH, in
whatever folder they happen to be in."""

from __future__ import annotations

from pathlib import Path

from tests.integration.cli_process import yard_script


def test_yard_init_then_yard_run_imports_the_robot_beside_the_config(tmp_path: Path) -> None:
    project, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert yard_script("init", str(project), cwd=elsewhere).returncode == 0

    result = yard_script("run", "../project/yard.toml", "--limit", "3000", "--quiet", cwd=elsewhere)

    assert result.returncode == 0, result.stderr
    assert "│ my-robot" in result.stdout


def test_yard_run_from_the_config_folder_imports_the_robot_too(tmp_path: Path) -> None:
    assert yard_script("init", cwd=tmp_path).returncode == 0

    result = yard_script("run", "yard.toml", "--limit", "3000", "--quiet", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "│ my-robot" in result.stdout


def test_yard_replay_finds_the_robot_beside_the_config_above_its_journal(tmp_path: Path) -> None:
    project, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert yard_script("init", str(project), cwd=elsewhere).returncode == 0
    ran = yard_script("run", "yard.toml", "--limit", "3000", "--quiet", cwd=project)
    assert ran.returncode == 0, ran.stderr
    [journal] = {p.parent for p in project.glob("yard-data/**/journal-*.yj")}

    result = yard_script("replay", str(journal), "my-robot", cwd=elsewhere)

    assert result.returncode == 0, result.stderr
    assert result.stdout.rstrip().endswith("faithful")


def test_yard_replay_of_a_run_folder_finds_the_journal_inside(tmp_path: Path) -> None:
    assert yard_script("run", "--limit", "2000", "--quiet", cwd=tmp_path).returncode == 0

    result = yard_script("replay", "yard-data/run-0001", "mm-si", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("mm-si: ")
    assert result.stdout.rstrip().endswith("faithful")
