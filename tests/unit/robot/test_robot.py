"""The Robot API, driven through the RobotHarness: commands, book, lifecycle, determinism."""

from __future__ import annotations

from decimal import Decimal

import attrs
import pytest

from yard_actors import (
    CancelOrder,
    ControlAction,
    NewOrder,
    Quote,
    Robot,
    RobotError,
    RobotStatus,
    Side,
)
from yard_actors.robot.robot import HandlerResult
from yard_actors.testing import RobotHarness


class BuyOnEveryQuote(Robot):
    """Buys one lot at the bid of every quote and records what it saw."""

    symbols = ("Si",)

    def on_start(self) -> None:
        self.seen = 0
        self.replies: list[str] = []

    def on_quote(self, quote: Quote) -> HandlerResult:
        self.seen += 1
        return self.buy(quote.symbol, 1, quote.bid)

    def on_order_update(self, reply: object) -> HandlerResult:
        self.replies.append(type(reply).__name__)
        return None


class Exploding(Robot):
    symbols = ("Si",)

    def on_start(self) -> None:
        self.quotes = 0

    def on_quote(self, quote: Quote) -> HandlerResult:
        self.quotes += 1
        if self.quotes == 2:
            raise ZeroDivisionError("the strategy divided by zero")
        return self.buy("Si", 1, quote.bid)


@attrs.frozen(kw_only=True)
class SizeParams:
    qty: int = 1

    def __attrs_post_init__(self) -> None:
        if self.qty <= 0:
            msg = f"qty must be positive, was {self.qty}"
            raise ValueError(msg)


class Sized(Robot):
    symbols = ("Si",)
    params_class = SizeParams

    def on_quote(self, quote: Quote) -> HandlerResult:
        return self.buy("Si", self.params.qty, quote.bid)


def test_a_quote_becomes_a_new_order_with_a_deterministic_id() -> None:
    harness = RobotHarness(BuyOnEveryQuote, name="alpha")

    first = harness.quote("Si", 90_000, 90_001)
    second = harness.quote("Si", 90_002, 90_003)

    assert first == [
        NewOrder(
            ts=harness.events[0].ts,
            client_order_id="alpha-1",
            robot="alpha",
            symbol="Si",
            side=Side.BUY,
            qty=1,
            price=Decimal(90_000),
        )
    ]
    assert [c.client_order_id for c in second] == ["alpha-2"]


def test_the_book_follows_replies_and_fills() -> None:
    harness = RobotHarness(BuyOnEveryQuote, name="alpha")
    [order] = harness.quote("Si", 90_000, 90_001)
    assert isinstance(order, NewOrder)

    harness.accept(order)
    harness.fill(order, qty=1, price=90_000, fee="0.5")

    robot = harness.robot
    assert isinstance(robot, BuyOnEveryQuote)
    assert robot.position("Si") == 1
    assert robot.open_orders() == []
    assert robot.pnl == Decimal("-0.5")
    assert robot.replies == ["OrderAccepted"]


def test_round_trip_realises_pnl_net_of_fees() -> None:
    harness = RobotHarness(BuyOnEveryQuote, name="alpha")
    [buy] = harness.quote("Si", 90_000, 90_001)
    assert isinstance(buy, NewOrder)
    harness.fill(buy, price=90_000, fee=1)
    sell = harness.robot.sell("Si", 1, 90_010)
    harness.fill(sell, price=90_010, fee=1)

    assert harness.robot.position("Si") == 0
    assert harness.robot.pnl == Decimal(8)


def test_partial_fill_keeps_the_rest_working() -> None:
    harness = RobotHarness(Sized, params={"qty": 5})
    [order] = harness.quote("Si", 90_000, 90_001)
    assert isinstance(order, NewOrder)

    harness.fill(order, qty=2)

    [working] = harness.robot.open_orders()
    assert (working.filled, working.remaining, working.state.value) == (2, 3, "partially_filled")
    assert harness.robot.position("Si") == 2


def test_a_price_off_the_tick_grid_is_refused_as_a_rejection_event() -> None:
    class OffGrid(BuyOnEveryQuote):
        symbols = ("RTS",)

        def on_quote(self, quote: Quote) -> HandlerResult:
            return self.buy("RTS", 1, quote.bid + 5)  # RTS moves in steps of 10

    harness = RobotHarness(OffGrid, name="rts")
    out = harness.quote("RTS", 110_000, 110_010)

    assert out == []
    assert isinstance(harness.robot, OffGrid)
    assert harness.robot.replies == ["OrderRejected"]
    assert harness.robot.open_orders() == []


def test_cancel_of_an_unknown_order_is_answered_without_reaching_the_gateway() -> None:
    class CancelsNonsense(BuyOnEveryQuote):
        def on_quote(self, quote: Quote) -> HandlerResult:
            return self.cancel("alpha-999")

    harness = RobotHarness(CancelsNonsense, name="alpha")
    assert harness.quote("Si", 1, 2) == []
    assert isinstance(harness.robot, CancelsNonsense)
    assert harness.robot.replies == ["CancelReply"]


def test_a_raising_handler_marks_the_robot_failed_and_cancels_its_orders() -> None:
    harness = RobotHarness(Exploding, name="boom")
    [order] = harness.quote("Si", 90_000, 90_001)
    assert isinstance(order, NewOrder)

    out = harness.quote("Si", 90_000, 90_001)

    assert out == [CancelOrder(ts=harness.ts, client_order_id="boom-1", robot="boom")]
    assert harness.robot.status is RobotStatus.FAILED
    assert harness.robot.error == "ZeroDivisionError in on_quote: the strategy divided by zero"
    assert "ZeroDivisionError" in (harness.robot.failure_traceback or "")
    assert harness.quote("Si", 90_000, 90_001) == []


def test_a_failed_robot_still_books_its_fills() -> None:
    harness = RobotHarness(Exploding, name="boom")
    [order] = harness.quote("Si", 90_000, 90_001)
    assert isinstance(order, NewOrder)
    harness.quote("Si", 90_000, 90_001)

    harness.fill(order)

    assert harness.robot.position("Si") == 1


def test_pause_holds_new_orders_and_resume_sends_them_again() -> None:
    harness = RobotHarness(BuyOnEveryQuote, name="alpha")
    harness.control("pause")

    assert harness.quote("Si", 1, 2) == []
    assert isinstance(harness.robot, BuyOnEveryQuote)
    assert harness.robot.status is RobotStatus.PAUSED
    assert harness.robot.seen == 1  # a paused robot still handles market data (pause-holds tests)

    harness.control("resume")
    assert len(harness.quote("Si", 1, 2)) == 1


def test_halt_cancels_every_working_order() -> None:
    harness = RobotHarness(BuyOnEveryQuote, name="alpha")
    harness.quote("Si", 1, 2)
    harness.quote("Si", 1, 2)

    out = harness.control(ControlAction.HALT)

    assert [c.client_order_id for c in out] == ["alpha-1", "alpha-2"]
    assert all(isinstance(c, CancelOrder) for c in out)
    assert harness.robot.status is RobotStatus.HALTED


def test_an_illegal_transition_is_refused_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    harness = RobotHarness(BuyOnEveryQuote, name="alpha")
    harness.control("stop")

    harness.control("resume")

    assert harness.robot.status is RobotStatus.STOPPED
    assert "robot alpha refused resume: it is stopped" in caplog.text


def test_set_params_applies_valid_params_and_keeps_old_ones_on_error() -> None:
    harness = RobotHarness(Sized, params={"qty": 2})
    harness.control("set_params", qty=3)
    assert harness.robot.params == SizeParams(qty=3)

    harness.control("set_params", qty=-1)

    assert harness.robot.params == SizeParams(qty=3)


def test_invalid_params_at_construction_name_the_field() -> None:
    with pytest.raises(RobotError, match="qty must be positive, was 0"):
        Sized("s", params={"qty": 0})


def test_snapshot_is_json_able_and_complete() -> None:
    harness = RobotHarness(BuyOnEveryQuote, name="alpha")
    [order] = harness.quote("Si", 90_000, 90_001)
    assert isinstance(order, NewOrder)
    harness.fill(order, qty=1)

    snapshot = harness.snapshot()

    assert snapshot["name"] == "alpha"
    assert snapshot["status"] == "running"
    assert snapshot["positions"] == {
        "Si": {"qty": 1, "avg_price": "90000", "realized": "0", "fees": "0", "lots": [[1, "90000"]]}
    }
    assert snapshot["state"] == {"replies": [], "seen": 1}
    assert snapshot["order_seq"] == 1


def test_replaying_the_same_events_gives_the_same_commands_and_snapshot() -> None:
    harness = RobotHarness(BuyOnEveryQuote, name="alpha")
    for bid in range(90_000, 90_020):
        for command in harness.quote("Si", bid, bid + 1):
            if isinstance(command, NewOrder) and bid % 3 == 0:
                harness.fill(command, qty=1)
    harness.control("halt")

    fresh, commands = harness.replay()

    assert commands == harness.commands
    assert fresh.snapshot() == harness.snapshot()


def test_unjsonable_state_names_the_attribute() -> None:
    class Leaky(Robot):
        def on_start(self) -> None:
            self.socket = object()

    with pytest.raises(RobotError, match=r"leaky\.socket is a object"):
        Leaky("leaky").snapshot()


def test_a_handler_returning_garbage_fails_the_robot() -> None:
    class Garbage(BuyOnEveryQuote):
        def on_quote(self, quote: Quote) -> HandlerResult:
            return [42]  # type: ignore[list-item]

    harness = RobotHarness(Garbage, name="g")
    harness.quote("Si", 1, 2)
    assert harness.robot.error == "on_quote returned int, not a command"


def test_rejection_and_cancel_reply_update_the_book() -> None:
    harness = RobotHarness(BuyOnEveryQuote, name="alpha")
    [first] = harness.quote("Si", 1, 2)
    [second] = harness.quote("Si", 1, 2)
    assert isinstance(first, NewOrder)
    assert isinstance(second, NewOrder)

    harness.reject(first, "no money")
    harness.cancel_done(second)

    assert isinstance(harness.robot, BuyOnEveryQuote)
    assert harness.robot.open_orders() == []
    assert harness.robot.replies == ["OrderRejected", "CancelReply"]
