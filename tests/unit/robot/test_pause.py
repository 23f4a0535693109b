"""Pause holds commands: a paused robot handles every event, its new orders held, not sent."""

from __future__ import annotations

import logging
from decimal import Decimal

import pytest

from yard_actors import CancelOrder, NewOrder, OrderRejected, Quote, Robot, RobotStatus
from yard_actors.robot.commands import HELD_REASON, HELD_SHOWN
from yard_actors.robot.robot import HandlerResult
from yard_actors.testing import RobotHarness
from yard_actors.wire.events import Control, ControlAction


class Quoter(Robot):
    """Bids one lot at every quote's bid; cancels its working orders when the bid moves."""

    symbols = ("Si",)

    def on_start(self) -> None:
        self.seen = 0
        self.rejections: list[str] = []

    def on_quote(self, quote: Quote) -> HandlerResult:
        self.seen += 1
        stale = [
            self.cancel(o)
            for o in self.open_orders()
            if o.price != quote.bid and not o.cancel_requested
        ]
        if stale:
            return stale
        if self.open_orders():
            return None
        return self.buy(quote.symbol, 1, quote.bid)

    def on_order_update(self, reply: object) -> HandlerResult:
        if isinstance(reply, OrderRejected):
            self.rejections.append(f"{reply.client_order_id}: {reply.reason}")
        return None


def test_a_paused_robot_handles_market_data_and_its_new_orders_are_held() -> None:
    harness = RobotHarness(Quoter, name="q")
    harness.control("pause")

    out = harness.quote("Si", 100, 101)

    robot = harness.robot
    assert isinstance(robot, Quoter)
    assert out == []
    assert robot.status is RobotStatus.PAUSED
    assert robot.seen == 1
    assert robot.rejections == [f"q-1: {HELD_REASON}"]
    assert robot.open_orders() == []  # the book never holds an order the gateway never saw
    assert robot.held.count == 1
    [held] = robot.held.last
    assert (held.client_order_id, held.price) == ("q-1", Decimal(100))


def test_a_paused_robot_still_sends_its_cancels() -> None:
    harness = RobotHarness(Quoter, name="q")
    [order] = harness.quote("Si", 100, 101)
    assert isinstance(order, NewOrder)
    harness.accept(order)
    harness.control("pause")

    out = harness.quote("Si", 99, 100)  # the bid moved: the robot cancels its bid

    assert out == [CancelOrder(ts=harness.ts, client_order_id="q-1", robot="q")]
    assert harness.robot.held.count == 0


def test_resume_sends_new_orders_again() -> None:
    harness = RobotHarness(Quoter, name="q")
    harness.control("pause")
    harness.quote("Si", 100, 101)

    harness.control("resume")
    out = harness.quote("Si", 100, 101)

    assert [type(c) for c in out] == [NewOrder]
    assert harness.robot.held.count == 1  # what was held stays counted


def test_the_snapshot_shows_the_held_count_and_the_last_few_held_orders() -> None:
    harness = RobotHarness(Quoter, name="q")
    harness.control("pause")
    for _ in range(HELD_SHOWN + 5):
        harness.quote("Si", 100, 101)

    held = harness.snapshot()["held"]

    assert held["count"] == HELD_SHOWN + 5
    assert len(held["last"]) == HELD_SHOWN
    assert held["last"][-1]["client_order_id"] == f"q-{HELD_SHOWN + 5}"
    assert held["last"][0] == {
        "ts": held["last"][0]["ts"],
        "client_order_id": "q-6",
        "symbol": "Si",
        "side": "buy",
        "qty": 1,
        "price": "100",
        "tif": "day",
    }


def test_a_replay_holds_what_the_live_robot_held() -> None:
    harness = RobotHarness(Quoter, name="q")
    [order] = harness.quote("Si", 100, 101)
    assert isinstance(order, NewOrder)
    harness.accept(order)
    harness.control("pause")
    harness.quote("Si", 99, 100)  # cancels q-1
    harness.cancel_done(order)
    harness.quote("Si", 98, 99)  # q-2 held
    harness.control("resume")
    harness.quote("Si", 98, 99)  # q-3 sent

    fresh, commands = harness.replay()

    assert commands == harness.commands
    assert fresh.snapshot() == harness.snapshot()
    assert fresh.held.count == harness.robot.held.count == 1


def test_a_halted_robot_does_not_handle_market_data() -> None:
    harness = RobotHarness(Quoter, name="q")
    harness.control("halt")

    assert harness.quote("Si", 100, 101) == []
    assert isinstance(harness.robot, Quoter)
    assert harness.robot.seen == 0
    assert harness.robot.held.count == 0


def test_an_obeyed_control_is_logged_with_its_sender(caplog: pytest.LogCaptureFixture) -> None:
    harness = RobotHarness(Quoter, name="q")
    control = Control(ts=harness.ts + 1, robot="q", action=ControlAction.PAUSE, sender="ops")

    with caplog.at_level(logging.INFO, logger="yard_actors.robot.robot"):
        harness.feed(control)

    assert f"robot q: pause by ops at {control.ts}" in caplog.text
