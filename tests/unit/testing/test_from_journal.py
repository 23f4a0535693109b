"""RobotHarness.from_journal: a robot rebuilt from a real journal up to an event, then the
incident fed by the test, from the journal itself or from the small slice exported from it."""

from __future__ import annotations

from pathlib import Path

import pytest

from yard_actors import Quote, Robot
from yard_actors.errors import JournalError
from yard_actors.journal import Group, Journal
from yard_actors.robot.robot import HandlerResult
from yard_actors.testing import RobotHarness, quote
from yard_actors.testing.journal_slice import export_slice
from yard_actors.wire.codec import encode

CLASS = "tests.unit.testing.test_from_journal:EveryThird"


class EveryThird(Robot):
    """Buys ``qty`` lots on every third quote."""

    symbols = ("Si",)
    qty = 1

    def on_start(self) -> None:
        self.quotes = 0

    def on_quote(self, quote: Quote) -> HandlerResult:
        self.quotes += 1
        if self.quotes % 3:
            return None
        return self.buy(quote.symbol, self.qty, quote.bid - 5)


class Changed(EveryThird):
    qty = 2


def record(directory: Path, quotes: int) -> None:
    """Journal two live robots of EveryThird on fanned quotes, a watermark per quote."""
    robots = {name: EveryThird(name) for name in ("a", "b")}
    group = Group("Si", tuple(robots))
    with Journal(directory) as journal:
        for name in robots:
            journal.record_robot(name, {"name": name, "class": CLASS, "symbols": ["Si"]})
        for n in range(quotes):
            event = quote("Si", 100 + n, 102 + n, ts=n + 1)
            seq = journal.record_fanned([(encode(event), group)])
            for name, robot in robots.items():
                journal.record_watermark(name, seq)
                for command in robot.handle(event):
                    journal.record_command(name, encode(command))


def test_the_robot_is_rebuilt_up_to_start_and_the_slice_is_recorded(tmp_path: Path) -> None:
    record(tmp_path, quotes=30)

    harness = RobotHarness.from_journal(tmp_path, "a", start=10, end=15)

    assert harness.snapshot()["state"]["quotes"] == 9
    assert [step.seq for step in harness.recorded] == [10, 11, 12, 13, 14, 15]
    for step in harness.recorded:
        assert harness.feed_journaled(step.event) == list(step.commands)
    assert [len(step.commands) for step in harness.recorded] == [0, 0, 1, 0, 0, 1]


def test_a_changed_robot_decides_otherwise_at_the_recorded_event(tmp_path: Path) -> None:
    record(tmp_path, quotes=30)

    harness = RobotHarness.from_journal(tmp_path, "a", start=10, end=15, robot_class=Changed)

    differing = [
        step.seq
        for step in harness.recorded
        if harness.feed_journaled(step.event) != list(step.commands)
    ]
    assert differing == [12, 15]


def test_the_exported_slice_holds_one_robot_up_to_end_and_reads_back_the_same(
    tmp_path: Path,
) -> None:
    journal = tmp_path / "journal"
    record(journal, quotes=300)
    slice_file = tmp_path / "incident.slice.jsonl"

    before, inside = export_slice(journal, "a", slice_file, start=100, end=120)
    from_slice = RobotHarness.from_journal(slice_file, "a", start=100, end=120)
    from_journal = RobotHarness.from_journal(journal, "a", start=100, end=120)

    assert (before, inside) == (99, 21)
    assert from_slice.recorded == from_journal.recorded
    assert from_slice.snapshot() == from_journal.snapshot()
    assert len(slice_file.read_text().splitlines()) == 1 + 120
    assert slice_file.stat().st_size < (journal / "journal-000001.yj").stat().st_size


def test_a_slice_of_another_robot_is_refused_by_name(tmp_path: Path) -> None:
    record(tmp_path / "journal", quotes=6)
    slice_file = tmp_path / "a.slice.jsonl"
    export_slice(tmp_path / "journal", "a", slice_file, start=1, end=6)

    with pytest.raises(JournalError, match=r"the slice .* is of robot 'a', not 'b'"):
        RobotHarness.from_journal(slice_file, "b", start=1, end=6)
