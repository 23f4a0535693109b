"""Restoring a robot from the journal: its history replayed into a fresh instance."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from yard_actors.errors import RobotError
from yard_actors.host.restore import Restorer
from yard_actors.journal import Journal
from yard_actors.robot.loader import class_path
from yard_actors.robot.robot import HandlerResult, Robot
from yard_actors.testing import quote
from yard_actors.wire.codec import encode
from yard_actors.wire.events import Quote

TS = 1_700_000_000_000_000_000


class Counting(Robot):
    symbols = ("Si",)

    def on_start(self) -> None:
        self.quotes = 0

    def on_quote(self, quote: Quote) -> HandlerResult:
        self.quotes += 1
        return None


COUNTING = class_path(Counting)


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    with Journal(tmp_path) as opened:
        yield opened


def journal_a_quote_for(journal: Journal, name: str, robot_class: str = COUNTING) -> None:
    journal.record_robot(name, {"name": name, "class": robot_class})
    journal.record_delivery(name, journal.record_event(encode(quote("Si", 1, 2, ts=TS))))


def test_a_name_the_journal_never_saw_is_restored_from_nothing(journal: Journal) -> None:
    robot = Counting("alpha")

    seen = Restorer(journal).restore(robot, COUNTING)

    assert seen == ()
    assert robot.quotes == 0


def test_a_robot_of_an_earlier_run_gets_its_events_again(tmp_path: Path) -> None:
    with Journal(tmp_path) as earlier:
        journal_a_quote_for(earlier, "alpha")
    robot = Counting("alpha")

    with Journal(tmp_path) as journal:
        Restorer(journal).restore(robot, COUNTING)

    assert robot.quotes == 1


def test_a_name_journaled_under_another_class_is_refused(journal: Journal) -> None:
    journal_a_quote_for(journal, "alpha", robot_class="robots.other:Other")

    with pytest.raises(RobotError, match=r"robot 'alpha' was a robots\.other:Other in the"):
        Restorer(journal).restore(Counting("alpha"), COUNTING)


def test_a_robot_removed_in_this_process_is_read_again_with_the_current_segment(
    journal: Journal,
) -> None:
    restorer = Restorer(journal)
    restorer.restore(Counting("beta"), COUNTING)  # the first restore reads earlier runs
    journal_a_quote_for(journal, "alpha")  # alpha runs in this process
    before_removal = Counting("alpha")
    restorer.restore(before_removal, COUNTING)

    restorer.removed("alpha")
    again = Counting("alpha")
    restorer.restore(again, COUNTING)

    assert before_removal.quotes == 0  # what this process journals is not an earlier run
    assert again.quotes == 1
