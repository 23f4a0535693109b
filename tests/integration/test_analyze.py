"""yard analyze end to end: MongoDB as the analysis database, and a real yard run analysed."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from matplotlib import image
from pymongo import MongoClient

from gateways.store import OrderState, open_store
from tests.integration.cli_process import yard
from tests.unit.analysis.journals import filled_by_hand
from tests.unit.analysis.test_analyzer import _long_run, _replayed_snapshots, _round_trip
from yard_actors.analysis.analyzer import analyze_robot
from yard_actors.analysis.mongo_sink import MongoSink
from yard_actors.analysis.report import report_robots
from yard_actors.app.cli import main
from yard_actors.errors import StoreError
from yard_actors.journal.replay_steps import open_replay
from yard_actors.wire.events import NewOrder

ROBOTS = ("trend-si", "mm-si", "mm-rts", "spread")


def test_mongodb_holds_one_document_per_event_with_the_replays_state(
    tmp_path: Path, mongo_url: str
) -> None:
    seqs = _long_run(tmp_path / "journal", 600)

    with MongoSink(mongo_url) as sink:
        analysis = analyze_robot(tmp_path / "journal", "r", sink, full_every=50, batch_rows=200)
        documents = sink.documents("r")
        picked = [seqs[0], seqs[49], seqs[50], seqs[333], seqs[-1]]
        states = {seq: sink.state_at("r", seq) for seq in picked}

    replayed = _replayed_snapshots(tmp_path / "journal")
    assert [(d["robot"], d["seq"]) for d in documents] == [("r", seq) for seq in seqs]
    assert analysis.events == len(seqs)
    assert states == {seq: replayed[seq] for seq in picked}
    assert documents[0]["kind"] == "Quote"
    assert documents[0]["event"]["symbol"] == "Si"
    assert documents[0]["actions"][0]["type"] == "NewOrder"


def test_mongodb_indexes_the_rows_by_robot_and_seq_and_by_robot_and_time(
    tmp_path: Path, mongo_url: str
) -> None:
    _round_trip(tmp_path / "journal")

    with MongoSink(mongo_url) as sink:
        analysis = analyze_robot(tmp_path / "journal", "r", sink)
        report_robots([analysis], sink, tmp_path / "out", title="a test")
    client: MongoClient[dict[str, Any]] = MongoClient(mongo_url)
    try:
        indexes = client.get_default_database()["events"].index_information()
        robots = list(client.get_default_database()["robots"].find())
    finally:
        client.close()

    keys = {
        tuple(k for k, _ in index["key"]): index.get("unique", False) for index in indexes.values()
    }
    assert keys[("robot", "seq")] is True
    assert ("robot", "ts") in keys
    assert [robot["_id"] for robot in robots] == ["r"]
    assert robots[0]["metrics"]["net"] == "9.0"  # exact: 10 - 0.5 - 0.5


def test_yard_analyze_writes_to_mongodb_by_url(tmp_path: Path, mongo_url: str) -> None:
    _round_trip(tmp_path / "journal")

    code = main(
        ["analyze", str(tmp_path / "journal"), "--db", mongo_url, "--out", str(tmp_path / "out")]
    )

    assert code == 0
    assert (tmp_path / "out" / "report.html").is_file()
    assert not (tmp_path / "out" / "analysis.sqlite").exists()
    with MongoSink(mongo_url) as sink:
        assert len(sink.documents("r")) == 9


def test_an_unreachable_mongodb_is_a_store_error_naming_it() -> None:
    with pytest.raises(StoreError, match=r"analysis database .* could not"):
        MongoSink("mongodb://127.0.0.1:9/x?serverSelectionTimeoutMS=200&connectTimeoutMS=200")


@pytest.mark.slow
def test_yard_analyze_a_yard_run_folder_exits_0_and_writes_the_report(tmp_path: Path) -> None:
    run = yard("run", "--limit", "5000", "--quiet", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "yard analyze " in run.stdout
    [folder] = (tmp_path / "yard-data").glob("run-*")

    result = yard("analyze", str(folder), cwd=tmp_path, timeout=300)

    assert result.returncode == 0, result.stdout + result.stderr
    out = folder / "analysis"
    for robot in ROBOTS:
        assert f"{robot}: " in result.stdout
        for plot in ("equity", "position", "price"):
            assert image.imread(out / f"{robot}-{plot}.png").ndim == 3
    assert result.stdout.count("replay identical; store agrees") == len(ROBOTS)
    html = (out / "report.html").read_text(encoding="utf-8")
    assert all(f"href='{robot}-equity.png'" in html for robot in ROBOTS)
    with sqlite3.connect(out / "analysis.sqlite") as db:
        counted = dict(db.execute("SELECT robot, COUNT(*) FROM events GROUP BY robot").fetchall())
        events = dict(db.execute("SELECT robot, events FROM robots").fetchall())
    assert counted == events
    assert set(counted) == set(ROBOTS)


def _store_the_round_trip(journal: Path, url: str, *, fills: int) -> None:
    """Write the journal's orders into the order store at ``url`` as the gateway does, with
    only the first ``fills`` of their fills."""
    session = open_replay(journal, "r")
    orders = [c for step in session.steps() for c in step.commands if isinstance(c, NewOrder)]
    with open_store(url) as store:
        for n, order in enumerate(orders, start=1):
            store.add_pending(order)
            store.transition(order.client_order_id, OrderState.ACCEPTED, ts=order.ts)
            if n <= fills:
                store.apply_fill(filled_by_hand(order, n))


def test_a_mongodb_order_store_cross_checks_the_journal(
    tmp_path: Path, mongo_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _round_trip(tmp_path / "journal")
    _store_the_round_trip(tmp_path / "journal", mongo_url, fills=2)

    code = main(["analyze", str(tmp_path / "journal"), "--store", mongo_url])

    assert code == 0
    assert "store agrees: orders: 2 in the journal, 2 in the store; fills: 2 and 2" in (
        capsys.readouterr().out
    )


def test_a_fill_missing_from_the_store_is_a_mismatch_and_exit_1(
    tmp_path: Path, mongo_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _round_trip(tmp_path / "journal")
    _store_the_round_trip(tmp_path / "journal", mongo_url, fills=1)

    code = main(["analyze", str(tmp_path / "journal"), "--store", mongo_url])

    assert code == 1
    assert (
        "MISMATCH: orders: 2 in the journal, 2 in the store; fills: 2 and 1; "
        "fills the robot got that the store lacks: T2"
    ) in capsys.readouterr().out
