"""Risk limits: an order, a position, an order rate and a param past a limit are refused."""

from __future__ import annotations

import logging
from typing import Any, ClassVar, TypedDict

import attrs
import pytest

from yard_actors import CancelOrder, NewOrder, OrderRejected, Quote, Robot, RobotError, Side
from yard_actors.robot.book import Book
from yard_actors.robot.lifecycle import RobotStatus
from yard_actors.robot.risk import (
    DEFAULT_LIMITS,
    NO_LIMITS,
    RiskGuard,
    RiskLimits,
    limits_notice,
)
from yard_actors.robot.robot import HandlerResult
from yard_actors.testing import RobotHarness, filled
from yard_actors.wire.instruments import InstrumentTable

SECOND = 1_000_000_000
MS = 1_000_000


@attrs.frozen(kw_only=True)
class SizeParams:
    qty: int = 1
    cap: int = 3


class Sized(Robot):
    """Buys ``qty`` at the bid of every quote, keeping what it was told of its orders."""

    symbols = ("Si",)
    params_class = SizeParams
    order_qty_params: ClassVar[tuple[str, ...]] = ("qty",)
    position_params: ClassVar[tuple[str, ...]] = ("cap",)

    def on_start(self) -> None:
        self.rejections: list[str] = []

    def on_quote(self, quote: Quote) -> HandlerResult:
        return self.buy("Si", self.params.qty, quote.bid)

    def on_order_update(self, reply: Any) -> HandlerResult:
        if isinstance(reply, OrderRejected):
            self.rejections.append(reply.reason)
        return None


class Undeclared(Sized):
    """The same robot with nothing declared: only the orders themselves are checked."""

    order_qty_params = ()
    position_params = ()


class DictSized(Robot):
    """Plain-dict params: a declared param need not be there, and may be anything."""

    symbols = ("Si",)
    order_qty_params = ("qty",)

    def on_quote(self, quote: Quote) -> HandlerResult:
        return self.buy("Si", int(self.params.get("qty", 1)), quote.bid)


def test_an_order_over_max_order_qty_comes_back_rejected_with_the_limit_named() -> None:
    harness = RobotHarness(Undeclared, params={"qty": 5}, limits=RiskLimits(max_order_qty=3))

    assert harness.quote("Si", 100, 101) == []  # refused: nothing leaves the robot

    robot = harness.robot
    assert isinstance(robot, Undeclared)
    assert robot.rejections == ["risk limit max_order_qty: qty 5 is over 3 lots per order"]
    assert robot.risk_refusals == {"max_order_qty": 1}
    assert robot.open_orders() == []


def test_max_position_counts_working_orders() -> None:
    harness = RobotHarness(Undeclared, params={"qty": 3}, limits=RiskLimits(max_position=4))

    [first] = harness.quote("Si", 100, 101)
    second = harness.quote("Si", 100, 101)  # 3 working + 3 more could make 6 > 4

    assert isinstance(first, NewOrder)
    assert second == []
    assert harness.robot.risk_refusals == {"max_position": 1}


@pytest.mark.parametrize(("qty", "refused"), [(3, False), (8, False), (9, True)])
def test_an_order_that_leaves_the_position_no_larger_goes_through(qty: int, refused: bool) -> None:
    bought = NewOrder(ts=1, client_order_id="r-1", robot="r", symbol="Si", side=Side.BUY, qty=4)
    book = Book()
    book.order_sent(bought)
    book.filled(filled(bought, price=100))
    sell = NewOrder(ts=2, client_order_id="r-2", robot="r", symbol="Si", side=Side.SELL, qty=qty)
    guard = RiskGuard("r", RiskLimits(max_position=2))  # already past it: 4 long

    reply = guard.admit(
        sell, status=RobotStatus.RUNNING, book=book, instruments=InstrumentTable(), ts=2
    )

    assert (reply is not None) is refused  # from 4 long: 1 and -4 are no larger, -5 is


def test_the_reason_for_a_position_says_what_and_how_much() -> None:
    guard = RiskGuard("r", RiskLimits(max_position=5))
    order = NewOrder(ts=1, client_order_id="r-1", robot="r", symbol="Si", side=Side.SELL, qty=9)

    reply = guard.admit(
        order, status=RobotStatus.RUNNING, book=Book(), instruments=InstrumentTable(), ts=1
    )

    assert isinstance(reply, OrderRejected)
    assert reply.reason == (
        "risk limit max_position: Si position could reach 9 lots with this order and those "
        "working, over 5"
    )
    assert guard.refusals == {"max_position": 1}


def test_the_order_rate_is_counted_on_event_time_and_recovers_a_second_later() -> None:
    limits = RiskLimits(max_orders_per_second=3)
    harness = RobotHarness(Undeclared, limits=limits, step_ns=100 * MS)
    start = harness.ts

    sent = [len(harness.quote("Si", 100, 101)) for _ in range(12)]  # 12 quotes, 1.2 s

    # Quotes at 0.1, 0.2 ... 1.2 s: three orders, then none until the first is a second old.
    assert sent == [1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1]
    assert harness.robot.risk_refusals == {"max_orders_per_second": 7}
    robot = harness.robot
    assert isinstance(robot, Undeclared)
    assert robot.rejections[0] == (
        "risk limit max_orders_per_second: 3 orders were sent in the last second of event "
        "time, the most allowed is 3"
    )
    fresh, commands = harness.replay()  # the same events refuse the same orders
    assert commands == harness.commands
    assert fresh.snapshot() == harness.snapshot()
    assert harness.snapshot()["risk"] == {
        "limits": {"max_order_qty": None, "max_position": None, "max_orders_per_second": 3},
        "refusals": {"max_orders_per_second": 7},
        "recent_orders": [start + 300 * MS, start + 1100 * MS, start + 1200 * MS],
    }


def test_orders_handled_at_one_instant_share_one_second() -> None:
    harness = RobotHarness(Undeclared, limits=RiskLimits(max_orders_per_second=2), step_ns=0)

    sent = [len(harness.quote("Si", 100, 101)) for _ in range(4)]

    assert sent == [1, 1, 0, 0]


class _GuardKit(TypedDict):
    """What :meth:`RiskGuard.admit` takes besides the command and its time."""

    status: RobotStatus
    book: Book
    instruments: InstrumentTable


def test_cancels_are_never_refused_by_the_order_rate() -> None:
    guard = RiskGuard("r", RiskLimits(max_orders_per_second=1))
    book = Book()
    kit: _GuardKit = {"status": RobotStatus.RUNNING, "book": book, "instruments": InstrumentTable()}
    first = NewOrder(ts=1, client_order_id="r-1", robot="r", symbol="Si", side=Side.BUY, qty=1)
    second = attrs.evolve(first, client_order_id="r-2")

    assert guard.admit(first, ts=1, **kit) is None
    book.order_sent(first)
    assert guard.admit(second, ts=2, **kit) is not None
    cancel = CancelOrder(ts=3, client_order_id="r-1", robot="r")
    assert guard.admit(cancel, ts=3, **kit) is None
    assert guard.refusals == {"max_orders_per_second": 1}


def test_set_params_past_max_order_qty_is_refused_and_the_robot_carries_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    harness = RobotHarness(Sized, name="sized", limits=RiskLimits(max_order_qty=10))

    assert harness.control("set_params", qty=500) == []
    [order] = harness.quote("Si", 100, 101)

    robot = harness.robot
    assert robot.params == SizeParams(qty=1)
    assert robot.status is RobotStatus.RUNNING
    assert isinstance(order, NewOrder)
    assert order.qty == 1
    assert robot.risk_refusals == {"max_order_qty": 1}
    assert (robot.last_refusal or "").endswith(
        ": risk limit max_order_qty: param qty would be 500, over 10 lots per order"
    )
    assert "robot sized refused set_params {'qty': 500}: risk limit max_order_qty" in caplog.text


def test_set_params_within_the_limits_is_applied() -> None:
    harness = RobotHarness(Sized, limits=RiskLimits(max_order_qty=10, max_position=10))

    harness.control("set_params", qty=10, cap=10)

    assert harness.robot.params == SizeParams(qty=10, cap=10)
    assert harness.robot.risk_refusals == {}


def test_set_params_past_max_position_is_refused() -> None:
    harness = RobotHarness(Sized, limits=RiskLimits(max_position=5))

    harness.control("set_params", cap=50)

    assert harness.robot.params == SizeParams()
    assert (harness.robot.last_refusal or "").endswith(
        ": risk limit max_position: param cap would be 50, over 5 lots"
    )


def test_an_undeclared_param_can_be_set_but_its_orders_are_still_refused() -> None:
    harness = RobotHarness(Undeclared, limits=RiskLimits(max_order_qty=10))

    harness.control("set_params", qty=500)
    sent = harness.quote("Si", 100, 101)

    assert harness.robot.params == SizeParams(qty=500)
    assert sent == []
    assert harness.robot.risk_refusals == {"max_order_qty": 1}


def test_a_declared_dict_param_must_be_a_whole_number_of_lots() -> None:
    harness = RobotHarness(DictSized, params={"qty": 2}, limits=RiskLimits(max_order_qty=10))

    harness.control("set_params", qty="500")

    assert harness.robot.params == {"qty": 2}
    assert (harness.robot.last_refusal or "").endswith(
        ": risk limit max_order_qty: param qty must be a whole number of lots to be checked "
        "against it, was '500'"
    )


def test_a_robot_built_with_params_over_a_limit_is_refused() -> None:
    with pytest.raises(
        RobotError,
        match=r"^robot big: risk limit max_order_qty: param qty would be 50, over 10 lots",
    ):
        Sized("big", params={"qty": 50}, limits=DEFAULT_LIMITS)


def test_without_limits_params_are_not_checked() -> None:
    robot = Sized("big", params={"qty": 50, "cap": 500})

    assert robot.params == SizeParams(qty=50, cap=500)


def test_a_declaration_naming_no_param_is_refused_at_build() -> None:
    class Typo(Sized):
        order_qty_params = ("qyt",)

    class Bare(Sized):
        position_params = "cap"  # type: ignore[assignment]  # a str, not a tuple

    with pytest.raises(RobotError, match="order_qty_params names 'qyt', which is not a field of"):
        Typo("typo")
    with pytest.raises(RobotError, match="position_params must be a tuple of param names"):
        Bare("bare")


def test_refusals_by_a_limit_are_logged_at_1_10_100_not_each_time(
    caplog: pytest.LogCaptureFixture,
) -> None:
    harness = RobotHarness(Undeclared, params={"qty": 5}, limits=RiskLimits(max_order_qty=3))

    with caplog.at_level(logging.WARNING, logger="yard_actors.robot.risk"):
        for _ in range(120):
            harness.quote("Si", 100, 101)

    assert harness.robot.risk_refusals == {"max_order_qty": 120}
    logged = [r.getMessage() for r in caplog.records if r.name == "yard_actors.robot.risk"]
    assert [m.split("(refusal ")[1].split(" ")[0] for m in logged] == ["1", "10", "100"]
    assert logged[0].startswith("robot robot refused order robot-1 (refusal 1 by max_order_qty")


def test_limits_name_the_field_and_its_unit_when_invalid() -> None:
    with pytest.raises(ValueError, match=r"^max_order_qty must be a positive whole number of lots"):
        RiskLimits(max_order_qty=0)
    with pytest.raises(ValueError, match=r"orders a second, was 2\.5$"):
        RiskLimits(max_orders_per_second=2.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_position must be a positive whole number"):
        RiskLimits(max_position=True)


def test_the_start_notice_warns_of_defaults_and_of_no_limits() -> None:
    assert attrs.asdict(DEFAULT_LIMITS) == {
        "max_order_qty": 10,
        "max_position": 10,
        "max_orders_per_second": 10,
    }
    level, line = limits_notice(DEFAULT_LIMITS)
    assert level == logging.WARNING
    assert "default risk limits (max_order_qty 10 lots, max_position 10 lots, " in line
    assert limits_notice(NO_LIMITS)[0] == logging.WARNING
    assert "no risk limits" in limits_notice(NO_LIMITS)[1]
    assert limits_notice(RiskLimits(max_order_qty=2)) == (
        logging.INFO,
        "robots run with risk limits max_order_qty 2 lots, max_position none, "
        "max_orders_per_second none",
    )
