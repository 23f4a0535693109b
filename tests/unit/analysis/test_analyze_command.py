"""yard analyze's command line: its refusals, and the line yard run ends with."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.analysis.test_analyzer import _round_trip
from yard_actors.app.analyze_command import analyze_hint
from yard_actors.app.cli import main


def test_a_folder_without_a_journal_is_refused_and_nothing_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["analyze", str(tmp_path / "missing")])

    assert code == 2
    assert "there is no journal at" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_a_database_url_it_cannot_write_to_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _round_trip(tmp_path / "journal")

    code = main(["analyze", str(tmp_path / "journal"), "--db", "postgres://db/x"])

    assert code == 2
    assert "--db 'postgres://db/x' is not a database yard analyze writes to" in (
        capsys.readouterr().err
    )


def test_a_run_folder_is_analysed_into_its_analysis_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _round_trip(tmp_path / "run" / "journal")

    code = main(["analyze", str(tmp_path / "run")])

    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith("r: 9 events, 2 orders, 2 fills, net 9.0 (realised 10, fees 1.0")
    assert "replay identical" in out
    assert "no store to check against" in out
    assert {p.name for p in (tmp_path / "run" / "analysis").iterdir()} >= {
        "analysis.sqlite",
        "report.html",
        "r-equity.png",
        "r-position.png",
        "r-price.png",
    }


def test_the_hint_leaves_out_the_store_beside_the_journal(tmp_path: Path) -> None:
    journal = tmp_path / "run-0001" / "journal"
    journal.mkdir(parents=True)
    (tmp_path / "run-0001" / "yard.db").touch()
    beside = f"sqlite:///{tmp_path / 'run-0001' / 'yard.db'}"

    assert analyze_hint(journal, beside) == f"analyse the run: yard analyze {journal}"
    assert analyze_hint(journal, "mongodb://db1/yard_run_0001") == (
        f"analyse the run: yard analyze {journal} --store mongodb://db1/yard_run_0001"
    )
    assert analyze_hint(None, beside) == "analyse the run: no journal was kept"
