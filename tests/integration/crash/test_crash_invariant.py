"""The invariant catches what it claims to: a store and a journal made to disagree on purpose.

Each history is one market maker's: a quote, its two orders, their acceptances and a
fill, written to a real SQLite store and a real journal as a gateway and a host
would; then one thing is made to go wrong. ``check_consistency`` runs ``yard replay``.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from gateways.store import OrderState, OrderStore, open_store
from robots.market_maker import MarketMaker
from tests.integration.crash.invariant import check_consistency
from yard_actors.journal import Journal
from yard_actors.testing import quote
from yard_actors.wire.codec import encode
from yard_actors.wire.events import CancelReply, Event, Fill, NewOrder, OrderAccepted

ROBOT = "mm"
SPEC = {"name": ROBOT, "class": "robots.market_maker:MarketMaker", "symbols": ["Si"]}
TS = 1_764_223_200_000_000_000


class History:
    """A gateway's store and a host's journal for one robot, written step by step."""

    def __init__(self, root: Path) -> None:
        self.store_url = f"sqlite:///{root / 'yard.db'}"
        self.journal_dir = root / "journal"
        self.store: OrderStore = open_store(self.store_url)
        self.journal = Journal(self.journal_dir)
        self.journal.record_robot(ROBOT, SPEC)
        self.robot = MarketMaker(ROBOT, symbols=["Si"])

    def deliver(self, event: Event) -> list[NewOrder]:
        """Journal ``event`` for the robot, hand it over, journal what it sends."""
        self.journal.record_delivery(ROBOT, self.journal.record_event(encode(event)))
        commands = self.robot.handle(event)
        for command in commands:
            self.journal.record_command(ROBOT, encode(command))
        return [c for c in commands if isinstance(c, NewOrder)]

    def accept(self, order: NewOrder) -> OrderAccepted:
        """The gateway takes the order and the exchange accepts it; the stored report."""
        self.store.add_pending(order)
        self.store.transition(order.client_order_id, OrderState.ACCEPTED, ts=TS)
        accepted = OrderAccepted(ts=TS, client_order_id=order.client_order_id, robot=ROBOT)
        report = self.store.add_report(ROBOT, accepted).report
        assert isinstance(report, OrderAccepted)
        return report

    def fill(self, order: NewOrder, trade_id: str) -> Fill:
        fill = Fill(
            ts=TS,
            trade_id=trade_id,
            client_order_id=order.client_order_id,
            robot=ROBOT,
            symbol=order.symbol,
            side=order.side,
            price=order.price or Decimal(0),
            qty=order.qty,
        )
        applied = self.store.apply_fill(fill)
        assert applied is not None
        report = applied[1].report
        assert isinstance(report, Fill)
        return report

    def refuse_cancel(self, order: NewOrder) -> CancelReply:
        reply = CancelReply(
            ts=TS, client_order_id=order.client_order_id, robot=ROBOT, cancelled=False
        )
        report = self.store.add_report(ROBOT, reply).report
        assert isinstance(report, CancelReply)
        return report

    def check(self) -> list[str]:
        self.store.close()
        self.journal.close()
        return list(check_consistency(self.store_url, [self.journal_dir]).violations)


@pytest.fixture
def history(tmp_path: Path) -> Iterator[History]:
    made = History(tmp_path)
    yield made
    made.store.close()
    made.journal.close()


def quoted(history: History) -> tuple[NewOrder, NewOrder]:
    """The market maker quotes both sides of Si: its buy and its sell."""
    buy, sell = history.deliver(quote("Si", 90000, 90002, ts=TS))
    return buy, sell


def test_a_history_the_store_and_the_journal_agree_on_has_no_violation(
    history: History,
) -> None:
    buy, sell = quoted(history)
    history.deliver(history.accept(buy))
    history.deliver(history.accept(sell))
    history.deliver(history.fill(buy, "T1"))

    assert history.check() == []


def test_a_fill_applied_twice_to_the_robot_is_a_violation(history: History) -> None:
    buy, sell = quoted(history)
    history.deliver(history.accept(buy))
    history.deliver(history.accept(sell))
    fill = history.fill(buy, "T1")
    history.deliver(fill)
    history.deliver(fill)

    violations = history.check()

    assert "robot mm applied 1 fills more than once: T1" in violations
    assert any("holds +2 Si when rebuilt" in v for v in violations)


def test_a_stored_fill_the_robot_never_got_is_a_violation(history: History) -> None:
    buy, sell = quoted(history)
    history.deliver(history.accept(buy))
    history.deliver(history.accept(sell))
    history.fill(buy, "T1")

    violations = history.check()

    assert "robot mm never applied 1 of its 1 stored fills: T1 (order mm-1, seq 3)" in violations
    assert (
        "robot mm waits on 1 orders the store has final: mm-1 (accepted, filled in the store)"
        in (violations)
    )


def test_an_order_the_gateway_never_got_is_a_robot_waiting_in_vain(history: History) -> None:
    buy, _ = quoted(history)
    history.deliver(history.accept(buy))  # the sell never reached the gateway

    violations = history.check()

    assert "robot mm waits on 1 orders the store does not have: mm-2 (pending)" in violations


def test_a_cancel_the_gateway_never_answered_is_a_robot_waiting_in_vain(
    history: History,
) -> None:
    buy, sell = quoted(history)
    history.deliver(history.accept(buy))
    history.deliver(history.accept(sell))
    history.deliver(quote("Si", 90010, 90012, ts=TS + 1))  # it cancels both: they drifted

    violations = history.check()

    assert (
        "robot mm waits for the answer to its cancel of 2 orders, which the gateway never "
        "gave: mm-1, mm-2"
    ) in violations


def test_an_open_order_whose_cancel_was_refused_is_a_violation(history: History) -> None:
    buy, sell = quoted(history)
    history.deliver(history.accept(buy))
    history.deliver(history.accept(sell))
    history.deliver(history.refuse_cancel(sell))

    violations = history.check()

    assert any(
        v.startswith("1 orders of robot mm are open in the store, yet the gateway refused to ")
        and "mm-2 (accepted: '')" in v
        for v in violations
    ), violations
