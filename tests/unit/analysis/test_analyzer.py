"""The analysis pass over a hand-made journal: one row per event with the replay's state."""

from __future__ import annotations

import json
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.unit.analysis.hand_robots import BuyThenSell
from tests.unit.analysis.journals import write_journal
from yard_actors.analysis.analyzer import analyze_journal, analyze_robot
from yard_actors.analysis.sqlite_sink import SQLiteSink
from yard_actors.app.cli import main
from yard_actors.errors import RobotError
from yard_actors.journal.replay_steps import open_replay
from yard_actors.testing import quote
from yard_actors.wire.codec import encode

S = 1_000_000_000
T0 = 1_700_000_000 * S


def _round_trip(directory: Path) -> list[int]:
    """Buy 1 at 100, sell 1 at 110, 0.5 a lot in fees; nine events in all."""
    market = [
        quote("Si", 99, 100, ts=T0),
        quote("Si", 105, 106, ts=T0 + 10 * S),
        quote("Si", 101, 102, ts=T0 + 20 * S),
        quote("Si", 110, 111, ts=T0 + 30 * S),
        quote("Si", 108, 109, ts=T0 + 40 * S),
    ]
    return write_journal(directory, BuyThenSell("r"), market)


def _long_run(directory: Path, quotes: int) -> list[int]:
    market = [quote("Si", 90 + n % 7, 91 + n % 7, ts=T0 + n * S) for n in range(quotes)]
    return write_journal(directory, BuyThenSell("r"), market)


def _replayed_snapshots(directory: Path) -> dict[int, dict[str, Any]]:
    session = open_replay(directory, "r")
    return {step.seq: session.robot.snapshot() for step in session.steps()}


def test_the_database_has_one_row_per_event_with_the_replays_state(tmp_path: Path) -> None:
    seqs = _round_trip(tmp_path / "journal")

    with SQLiteSink(tmp_path / "analysis.sqlite") as sink:
        analyze_robot(tmp_path / "journal", "r", sink, full_every=3)
        states = {seq: sink.state_at("r", seq) for seq in seqs}

    assert len(seqs) == 9
    with sqlite3.connect(tmp_path / "analysis.sqlite") as db:
        rows = db.execute("SELECT robot, seq FROM events ORDER BY seq").fetchall()
    assert rows == [("r", seq) for seq in seqs]
    assert states == _replayed_snapshots(tmp_path / "journal")


def test_a_rows_actions_are_the_commands_the_robot_sent_for_its_event(tmp_path: Path) -> None:
    seqs = _round_trip(tmp_path / "journal")

    with SQLiteSink(tmp_path / "analysis.sqlite") as sink:
        analyze_robot(tmp_path / "journal", "r", sink)
    with sqlite3.connect(tmp_path / "analysis.sqlite") as db:
        rows = db.execute("SELECT seq, kind, event, actions FROM events ORDER BY seq").fetchall()

    first_seq, kind, event, actions = rows[0]
    assert (first_seq, kind) == (seqs[0], "Quote")
    assert json.loads(event) == json.loads(encode(quote("Si", 99, 100, ts=T0)))
    [order] = json.loads(actions)
    assert (order["type"], order["side"], order["price"], order["qty"]) == (
        "NewOrder",
        "buy",
        "100",
        1,
    )
    assert [kind for _, kind, _, _ in rows] == [
        "Quote",
        "OrderAccepted",
        "Fill",
        "Quote",
        "Quote",
        "Quote",
        "OrderAccepted",
        "Fill",
        "Quote",
    ]
    assert sum(len(json.loads(a)) for _, _, _, a in rows) == 2


def test_the_figures_of_the_hand_made_run(tmp_path: Path) -> None:
    _round_trip(tmp_path / "journal")

    with SQLiteSink(tmp_path / "analysis.sqlite") as sink:
        analysis = analyze_robot(tmp_path / "journal", "r", sink, collect_facts=True)

    metrics = analysis.metrics
    assert (metrics.realized, metrics.fees, metrics.net) == (Decimal(10), Decimal(1), Decimal(9))
    assert (metrics.orders, metrics.fills, metrics.fill_ratio) == (2, 2, Decimal(1))
    assert metrics.max_drawdown == Decimal(4)
    assert metrics.time_in_market == Decimal("0.75")
    assert analysis.divergence is None
    assert analysis.facts is not None
    assert analysis.facts.fills == {"T1": ("100", 1, "0.5"), "T2": ("110", 1, "0.5")}


def test_a_long_journal_is_written_in_batches_and_reads_back_at_any_seq(tmp_path: Path) -> None:
    seqs = _long_run(tmp_path / "journal", 3000)
    progress: list[int] = []

    with SQLiteSink(tmp_path / "analysis.sqlite") as sink:
        analysis = analyze_robot(
            tmp_path / "journal",
            "r",
            sink,
            full_every=100,
            batch_rows=500,
            progress=lambda done, seq: progress.append(done),
        )
        picked = [seqs[0], seqs[1], seqs[99], seqs[100], seqs[1234], seqs[-1]]
        states = {seq: sink.state_at("r", seq) for seq in picked}
        missing = sink.state_at("r", seqs[-1] + 1)

    replayed = _replayed_snapshots(tmp_path / "journal")
    assert states == {seq: replayed[seq] for seq in picked}
    assert missing is None
    assert analysis.events == len(seqs)
    assert progress[-1] == len(seqs)
    with sqlite3.connect(tmp_path / "analysis.sqlite") as db:
        assert db.execute("SELECT COUNT(*), SUM(full) FROM events").fetchone() == (len(seqs), 31)


def test_analysing_again_rewrites_a_robots_rows(tmp_path: Path) -> None:
    seqs = _round_trip(tmp_path / "journal")

    for _ in range(2):
        with SQLiteSink(tmp_path / "analysis.sqlite") as sink:
            analyze_robot(tmp_path / "journal", "r", sink)

    with sqlite3.connect(tmp_path / "analysis.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM events").fetchone() == (len(seqs),)


def test_a_robot_the_journal_does_not_have_is_refused_by_name(tmp_path: Path) -> None:
    _round_trip(tmp_path / "journal")

    with (
        SQLiteSink(tmp_path / "analysis.sqlite") as sink,
        pytest.raises(RobotError, match=r"has no robot ghost \(it has r\)"),
    ):
        analyze_journal(tmp_path / "journal", sink, robots=["ghost"])


def test_a_robot_whose_code_changed_is_flagged_where_it_diverged(tmp_path: Path) -> None:
    market = [
        quote("Si", 99, 100, ts=T0),
        quote("Si", 110, 111, ts=T0 + 10 * S),
        quote("Si", 111, 112, ts=T0 + 20 * S),
    ]
    changed = "tests.unit.analysis.hand_robots:BuyThenSellHigher"
    seqs = write_journal(tmp_path / "journal", BuyThenSell("r"), market, journaled_class=changed)

    with SQLiteSink(tmp_path / "analysis.sqlite") as sink:
        analysis = analyze_robot(tmp_path / "journal", "r", sink)
    code = main(["analyze", str(tmp_path / "journal"), "--out", str(tmp_path / "out")])

    assert analysis.divergence is not None
    assert analysis.divergence.startswith(f"the replay diverged at event seq {seqs[3]} ")
    assert '"side":"sell","qty":1,"price":"110"' in analysis.divergence
    assert code == 1
