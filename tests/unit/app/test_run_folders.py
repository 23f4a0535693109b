"""A config run gets a run folder of its own; ``--resume`` continues one (issue 14, item 3).

Real folders, a real journal; the settings are the config's, as ``yard run`` reads them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from yard_actors.app import cli
from yard_actors.app.config_file import SystemSettings, system_settings
from yard_actors.app.run_folders import choose_run, fresh_run, in_data_dir, resumed_run
from yard_actors.errors import ConfigError
from yard_actors.journal import Journal

ROBOTS = [{"class": "robots.market_maker:MarketMaker", "name": "mm-si", "symbols": ["Si"]}]


def settings(tmp_path: Path, **config: object) -> SystemSettings:
    given = {
        "journal_dir": str(tmp_path / "yard-data" / "journal"),
        "store": f"sqlite:///{tmp_path / 'yard-data' / 'yard.db'}",
        "robots": ROBOTS,
        **config,
    }
    return system_settings(given, source="yard.toml")


def journal_of(settings: SystemSettings) -> Path:
    return Path(str(settings.host.host_kwargs["journal_dir"]))


def journal_events(folder: Path, robots: list[str], events: int) -> None:
    with Journal(folder) as journal:
        for robot in robots:
            journal.record_robot(robot, {"name": robot, "class": "x:Y"})
        for n in range(events):
            journal.record_event(b'{"n": %d}' % n)


def test_each_run_gets_the_next_run_folder_beside_the_configs_journal(tmp_path: Path) -> None:
    config = settings(tmp_path)

    first, second = fresh_run(config), fresh_run(config)

    data = tmp_path / "yard-data"
    assert (first.path, second.path) == (data / "run-0001", data / "run-0002")
    assert journal_of(second.settings) == data / "run-0002" / "journal"
    assert second.settings.store == f"sqlite:///{data / 'run-0002' / 'yard.db'}"
    assert second.settings.host.host_kwargs["store"] == second.settings.store
    assert second.settings.host.host_kwargs["control"] == f"ipc://{data / 'run-0002' / 'control'}"
    assert (
        second.announcement
        == f"yard run: a new run in {data / 'run-0002'} (--resume: continue the last)"
    )


def test_a_store_kept_elsewhere_gets_the_same_run_number_there(tmp_path: Path) -> None:
    (tmp_path / "db" / "run-0004").mkdir(parents=True)
    config = settings(tmp_path, store=f"sqlite:///{tmp_path / 'db' / 'orders.db'}")

    run = fresh_run(config)

    assert run.path == tmp_path / "yard-data" / "run-0005"  # past the store's run-0004 too
    assert run.settings.store == f"sqlite:///{tmp_path / 'db' / 'run-0005' / 'orders.db'}"
    assert (tmp_path / "db" / "run-0005").is_dir()
    assert f"(store sqlite:///{tmp_path / 'db' / 'run-0005' / 'orders.db'})" in run.announcement


def test_a_mongodb_store_gets_a_database_of_the_runs_own(tmp_path: Path) -> None:
    config = settings(tmp_path, store="mongodb://ops:secret@db1,db2/trading?replicaSet=rs0")

    run = fresh_run(config)

    assert run.settings.store == "mongodb://ops:secret@db1,db2/trading_run_0001?replicaSet=rs0"
    assert "secret" not in run.announcement
    assert "(store mongodb://db1,db2/trading_run_0001?replicaSet=rs0)" in run.announcement


def test_a_mongodb_url_without_a_database_names_the_default_one(tmp_path: Path) -> None:
    run = fresh_run(settings(tmp_path, store="mongodb://db1:27017"))

    assert run.settings.store == "mongodb://db1:27017/yard_run_0001"


def test_data_dir_moves_the_runs_of_a_config(tmp_path: Path) -> None:
    run = choose_run(settings(tmp_path), data_dir=str(tmp_path / "elsewhere"), resume=None)

    assert run.path == tmp_path / "elsewhere" / "run-0001"
    assert journal_of(run.settings) == tmp_path / "elsewhere" / "run-0001" / "journal"


def test_resume_continues_the_last_run_and_says_what_its_journal_holds(tmp_path: Path) -> None:
    config = settings(tmp_path)
    fresh_run(config)
    last = fresh_run(config)
    journal_events(journal_of(last.settings), ["trend-si", "mm-si"], 12_345)
    Path(last.settings.store.removeprefix("sqlite:///")).touch()

    run = choose_run(config, data_dir=None, resume="")

    assert run.resumed
    assert run.path == last.path
    assert run.settings.store == last.settings.store
    assert run.announcement == (
        f"yard run: resuming {last.path}: 12,345 events journaled, robots trend-si, mm-si"
    )
    assert run.settings.host.host_kwargs["refuse_divergence"] is True


def test_resume_names_a_run_by_its_folder_or_its_name(tmp_path: Path) -> None:
    config = settings(tmp_path)
    first = fresh_run(config)
    fresh_run(config)

    assert resumed_run(config, str(first.path)).path == first.path
    assert resumed_run(config, "run-0001").path == first.path


def test_resume_with_no_run_yet_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"--resume: there is no run to resume in .*yard-data/"):
        resumed_run(settings(tmp_path), None)


def test_resume_refuses_a_folder_of_another_config(tmp_path: Path) -> None:
    other = tmp_path / "other" / "run-0001"
    other.mkdir(parents=True)

    with pytest.raises(ConfigError, match="not a run of this config, whose runs are in"):
        resumed_run(settings(tmp_path), str(other))


def test_resume_refuses_what_is_not_a_run_folder(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"--resume nowhere: not a run folder \(run-NNNN"):
        resumed_run(settings(tmp_path), "nowhere")


def test_resume_refuses_a_run_whose_store_is_gone(tmp_path: Path) -> None:
    config = settings(tmp_path)
    run = fresh_run(config)
    journal_events(journal_of(run.settings), ["mm-si"], 3)

    with pytest.raises(ConfigError, match=r"holds 3 events but its order store .* is missing"):
        resumed_run(config, None)


def test_in_data_dir_keeps_the_file_names(tmp_path: Path) -> None:
    moved = in_data_dir(settings(tmp_path), tmp_path / "d")

    assert journal_of(moved) == tmp_path / "d" / "journal"
    assert moved.store == f"sqlite:///{tmp_path / 'd' / 'yard.db'}"


def test_a_relative_journal_dir_makes_relative_run_folders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    config = system_settings({"robots": ROBOTS}, source="<defaults>")

    run = fresh_run(config)

    assert run.path == Path("yard-data/run-0001")
    assert journal_of(run.settings) == Path("yard-data/run-0001/journal")
    assert run.settings.store == "sqlite:///yard-data/run-0001/yard.db"
    assert os.path.isdir("yard-data/run-0001")


def test_a_host_has_no_run_folders_to_resume(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["run", "--role", "host", "--resume"]) == 2

    assert "--resume and --data-dir choose run folders, which --role host has none of" in (
        capsys.readouterr().err
    )


def test_a_config_given_right_after_resume_is_the_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "yard.toml"
    config.write_text(f'journal_dir = "{tmp_path / "data" / "journal"}"\n', encoding="utf-8")

    assert cli.main(["run", "--resume", str(config), "--quiet"]) == 2

    assert f"--resume: there is no run to resume in {tmp_path / 'data'}/" in capsys.readouterr().err
