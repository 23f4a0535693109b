"""A row's event is the journal's payload: the bytes the robot's intake received, not re-encoded."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from yard_actors import Quote, Robot
from yard_actors.analysis.analyzer import analyze_journal
from yard_actors.analysis.sqlite_sink import SQLiteSink
from yard_actors.journal import Journal
from yard_actors.journal.replay_steps import replay_steps
from yard_actors.robot.loader import class_path
from yard_actors.robot.robot import HandlerResult


class Quiet(Robot):
    symbols = ("Si",)

    def on_quote(self, quote: Quote) -> HandlerResult:
        return None


# a feed may write the fields in its own order and spacing; the codec reads it all the same
FOREIGN = (
    b'{"v": 1, "type": "Quote", "symbol": "Si", "ts": 5, "ask": "102", "bid": "100", '
    b'"ask_size": 3, "bid_size": 2}'
)


def _journal(directory: Path) -> None:
    with Journal(directory) as journal:
        journal.record_robot("q", {"name": "q", "class": class_path(Quiet), "symbols": ["Si"]})
        journal.record_delivery("q", journal.record_event(FOREIGN))


def test_each_step_carries_its_event_as_journaled(tmp_path: Path) -> None:
    _journal(tmp_path / "journal")

    [step] = replay_steps(tmp_path / "journal", "q")

    assert step.payload == FOREIGN
    assert step.event.ts == 5


def test_the_row_holds_the_journaled_bytes_of_its_event(tmp_path: Path) -> None:
    _journal(tmp_path / "journal")

    with SQLiteSink(tmp_path / "analysis.sqlite") as sink:
        analyze_journal(tmp_path / "journal", sink)
    with sqlite3.connect(tmp_path / "analysis.sqlite") as db:
        rows = db.execute("SELECT seq, kind, event FROM events").fetchall()

    assert rows == [(1, "Quote", FOREIGN.decode())]
