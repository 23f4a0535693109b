"""Restoring a robot from the journal: its history replayed into a fresh instance."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from yard_actors.errors import RobotError
from yard_actors.host.restore import Restored, Restorer
from yard_actors.journal import Journal
from yard_actors.robot.loader import class_path
from yard_actors.robot.robot import HandlerResult, Robot, RobotStatus
from yard_actors.testing import filled, quote
from yard_actors.wire.codec import encode
from yard_actors.wire.events import Command, Event, NewOrder, Quote, Side

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

    restored = Restorer(journal).restore(robot, COUNTING)

    assert restored == Restored()
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


class Brittle(Counting):
    """Stands for a bug in yard: an error that escapes Robot.handle on the quote bid 13."""

    def handle(self, event: Event) -> list[Command]:
        if isinstance(event, Quote) and event.bid == 13:
            raise RuntimeError("a bug below the handlers")
        return super().handle(event)


class Interrupted(Counting):
    def handle(self, event: Event) -> list[Command]:
        raise KeyboardInterrupt


def journal_events_for(journal: Journal, name: str, robot_class: str, *payloads: bytes) -> None:
    journal.record_robot(name, {"name": name, "class": robot_class})
    for payload in payloads:
        journal.record_delivery(name, journal.record_event(payload))


def test_an_event_that_no_longer_decodes_fails_its_robot_and_not_the_others(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with Journal(tmp_path) as earlier:
        journal_events_for(earlier, "alpha", COUNTING, b'{"type":"Quote","v":99}')
        journal_a_quote_for(earlier, "beta")
    alpha, beta = Counting("alpha"), Counting("beta")

    with Journal(tmp_path) as journal:
        restorer = Restorer(journal)
        restorer.restore(alpha, COUNTING)
        restorer.restore(beta, COUNTING)

    assert alpha.status is RobotStatus.FAILED
    assert (alpha.error or "").startswith("replaying the journal: the event at journal seq 1 ")
    assert "DecodeError" in (alpha.error or "")
    assert (beta.status, beta.quotes) == (RobotStatus.RUNNING, 1)
    assert "robot alpha failed restoring from the journal at" in caplog.text
    assert "the event at journal seq 1 raised DecodeError" in caplog.text


def test_an_error_escaping_handle_fails_the_robot_whose_later_events_still_keep_its_book(
    tmp_path: Path,
) -> None:
    order = NewOrder(
        ts=TS, client_order_id="alpha-1", robot="alpha", symbol="Si", side=Side.BUY, qty=2
    )
    with Journal(tmp_path) as earlier:
        journal_events_for(
            earlier,
            "alpha",
            class_path(Brittle),
            encode(quote("Si", 12, 14, ts=TS)),
            encode(quote("Si", 13, 14, ts=TS + 1)),
            encode(filled(order, price=12, ts=TS + 2)),
        )
    robot = Brittle("alpha")

    with Journal(tmp_path) as journal:
        Restorer(journal).restore(robot, class_path(Brittle))

    assert robot.status is RobotStatus.FAILED
    assert robot.error == (
        "replaying the journal: the event at journal seq 2 raised "
        "RuntimeError: a bug below the handlers"
    )
    assert "RuntimeError: a bug below the handlers" in (robot.failure_traceback or "")
    assert robot.quotes == 1
    assert robot.position("Si") == 2  # the fill after the failure is in the book


def test_a_robot_whose_on_start_raises_is_restored_failed(tmp_path: Path) -> None:
    class NoStart(Counting):
        def on_start(self) -> None:
            raise RuntimeError("cannot start today")

    with Journal(tmp_path) as earlier:
        journal_a_quote_for(earlier, "alpha", class_path(NoStart))
    robot = NoStart("alpha")

    with Journal(tmp_path) as journal:
        Restorer(journal).restore(robot, class_path(NoStart))

    assert robot.status is RobotStatus.FAILED
    assert robot.error == "RuntimeError in on_start: cannot start today"


def test_a_keyboard_interrupt_during_a_restore_still_interrupts(tmp_path: Path) -> None:
    with Journal(tmp_path) as earlier:
        journal_a_quote_for(earlier, "alpha", class_path(Interrupted))

    with Journal(tmp_path) as journal, pytest.raises(KeyboardInterrupt):
        Restorer(journal).restore(Interrupted("alpha"), class_path(Interrupted))
