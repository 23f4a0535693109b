"""``yard init`` ends with the command that runs what it wrote, as README's next line does."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from yard_actors.app.cli import main


def test_init_here_says_yard_run_yard_toml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)

    assert main(["init"]) == 0

    assert capsys.readouterr().out.splitlines()[-1] == "run it: yard run yard.toml"


def test_init_elsewhere_names_the_config_in_that_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "my project"

    assert main(["init", str(folder)]) == 0

    last = capsys.readouterr().out.splitlines()[-1]
    assert last == f"run it: yard run '{folder}{os.sep}yard.toml'"
    assert (folder / "yard.toml").is_file()
