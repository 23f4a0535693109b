"""A restore from a host killed mid-run: the robot replays ahead of what it sent.

A robot journals a run of events before handling them and sends a command before
journaling it, so a kill mid-run leaves a journal whose events produce more commands
than it holds. The restore journals those (never sends the orders among them) and
hands the host every order still awaiting a first report, to ask the gateway about.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from yard_actors.host.restore import Restorer
from yard_actors.journal import Group, Journal
from yard_actors.journal.replay import replay
from yard_actors.robot.loader import class_path
from yard_actors.robot.robot import HandlerResult, Robot
from yard_actors.testing import accepted, quote
from yard_actors.wire.codec import decode, encode
from yard_actors.wire.events import CancelOrder, NewOrder, Quote

TS = 1_700_000_000_000_000_000


class Placer(Robot):
    """Bids one lot at the bid on every quote."""

    symbols = ("Si",)

    def on_quote(self, quote: Quote) -> HandlerResult:
        return self.buy(quote.symbol, 1, quote.bid)


class Withdrawer(Robot):
    """Bids once on its first quote, cancels everything on its second."""

    symbols = ("Si",)

    def on_start(self) -> None:
        self.quotes = 0

    def on_quote(self, quote: Quote) -> HandlerResult:
        self.quotes += 1
        if self.quotes == 1:
            return self.buy(quote.symbol, 1, quote.bid)
        return self.cancel_all()


PLACER = class_path(Placer)


def _quotes(count: int) -> list[bytes]:
    return [encode(quote("Si", 100 + n, 101 + n, ts=TS + n)) for n in range(count)]


def _killed_mid_run(directory: Path, *, handled: int, fanned: int = 3) -> list[bytes]:
    """Journal ``fanned`` quotes under one watermark, and the commands of the first ``handled``."""
    payloads = _quotes(fanned)
    live = Placer("alpha")
    with Journal(directory) as earlier:
        earlier.record_robot("alpha", {"name": "alpha", "class": PLACER})
        first = earlier.record_fanned([(p, Group("Si", ("alpha",))) for p in payloads])
        earlier.record_watermark("alpha", first + fanned - 1)
        commands: list[bytes] = []
        for payload in payloads:
            commands.extend(encode(c) for c in live.handle(quote_of(payload)))
        for command in commands[:handled]:
            earlier.record_command("alpha", command)
    return commands


def quote_of(payload: bytes) -> Quote:
    event = decode(payload)
    assert isinstance(event, Quote)
    return event


def test_commands_the_replay_makes_past_the_journal_are_journaled_and_all_orders_awaited(
    tmp_path: Path,
) -> None:
    produced = _killed_mid_run(tmp_path, handled=1)
    robot = Placer("alpha")

    with Journal(tmp_path) as journal:
        restored = Restorer(journal).restore(robot, PLACER)

    assert restored.unanswered == ("alpha-1", "alpha-2", "alpha-3")
    assert restored.cancels == ()
    result = replay(tmp_path, "alpha", robot_class=Placer)
    assert result.faithful
    assert [encode(c) for c in result.commands] == produced


def test_a_restore_of_a_journal_that_holds_every_command_journals_nothing(
    tmp_path: Path,
) -> None:
    _killed_mid_run(tmp_path, handled=3)

    with Journal(tmp_path) as journal:
        restored = Restorer(journal).restore(Placer("alpha"), PLACER)

    assert restored.unanswered == ("alpha-1", "alpha-2", "alpha-3")
    assert len(replay(tmp_path, "alpha", robot_class=Placer).commands) == 3
    assert replay(tmp_path, "alpha", robot_class=Placer).faithful


def test_a_journal_that_differs_from_the_replay_is_left_as_it_is(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    [payload] = _quotes(1)
    with Journal(tmp_path) as earlier:
        earlier.record_robot("alpha", {"name": "alpha", "class": PLACER})
        earlier.record_delivery("alpha", earlier.record_event(payload))
        earlier.record_command("alpha", b'{"not":"what the robot makes"}')

    with Journal(tmp_path) as journal:
        Restorer(journal).restore(Placer("alpha"), PLACER)

    assert "robot alpha replayed differently: command #0 differs" in caplog.text
    assert len(replay(tmp_path, "alpha", robot_class=Placer).commands) == 1
    assert not replay(tmp_path, "alpha", robot_class=Placer).faithful


def test_an_answered_order_is_not_awaited_and_a_cancel_past_the_journal_is_to_be_sent(
    tmp_path: Path,
) -> None:
    first, second = _quotes(2)
    live = Withdrawer("alpha")
    [order] = live.handle(quote_of(first))
    assert isinstance(order, NewOrder)
    with Journal(tmp_path) as earlier:
        earlier.record_robot("alpha", {"name": "alpha", "class": class_path(Withdrawer)})
        earlier.record_delivery("alpha", earlier.record_event(first))
        earlier.record_command("alpha", encode(order))
        earlier.record_delivery("alpha", earlier.record_event(encode(accepted(order))))
        earlier.record_delivery("alpha", earlier.record_event(second))  # killed: no cancel
    robot = Withdrawer("alpha")

    with Journal(tmp_path) as journal:
        restored = Restorer(journal).restore(robot, class_path(Withdrawer))

    assert restored.unanswered == ()
    cancel = CancelOrder(ts=TS + 1, client_order_id="alpha-1", robot="alpha")
    assert restored.cancels == (encode(cancel),)
    assert replay(tmp_path, "alpha", robot_class=Withdrawer).faithful
