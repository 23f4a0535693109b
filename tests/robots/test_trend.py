"""The trend follower: unit-tested with the harness, then once as a live actor."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from robots.trend import TrendFollower, TrendParams
from yard_actors import NewOrder, RobotError, Side
from yard_actors.testing import RobotHarness, filled, quote, run_robot, wait_until

pytestmark = pytest.mark.usefixtures("each_runtime")

PARAMS = {"fast": 2, "slow": 4, "qty": 1}


def test_it_waits_for_a_full_slow_window() -> None:
    harness = RobotHarness(TrendFollower, params=PARAMS)

    out = [harness.quote("Si", bid, bid + 1) for bid in (100, 101, 102)]

    assert out == [[], [], []]


def test_a_rising_market_buys_at_the_ask() -> None:
    harness = RobotHarness(TrendFollower, name="trend", params=PARAMS)
    for bid in (100, 101, 102):
        harness.quote("Si", bid, bid + 1)

    [order] = harness.quote("Si", 103, 104)

    assert isinstance(order, NewOrder)
    assert (order.side, order.qty, order.price) == (Side.BUY, 1, Decimal(104))


def test_a_reversal_sells_twice_the_size_to_go_short() -> None:
    harness = RobotHarness(TrendFollower, name="trend", params=PARAMS)
    for bid in (100, 101, 102):
        harness.quote("Si", bid, bid + 1)
    [buy] = harness.quote("Si", 103, 104)
    assert isinstance(buy, NewOrder)
    harness.fill(buy)

    out = [harness.quote("Si", bid, bid + 1) for bid in (99, 95, 90)]

    [sell] = [c for batch in out for c in batch]
    assert isinstance(sell, NewOrder)
    assert (sell.side, sell.qty) == (Side.SELL, 2)


def test_it_does_not_stack_orders_while_one_is_working() -> None:
    harness = RobotHarness(TrendFollower, params=PARAMS)
    orders = [c for bid in range(100, 110) for c in harness.quote("Si", bid, bid + 1)]

    assert len(orders) == 1


def test_params_are_validated_with_field_names() -> None:
    with pytest.raises(ValueError, match="fast must be shorter than slow"):
        TrendParams(fast=5, slow=5)
    with pytest.raises(RobotError, match="qty must be positive, was 0"):
        TrendFollower("t", params={"qty": 0})


def test_it_trades_as_a_live_actor(tmp_path: Path) -> None:
    with run_robot(TrendFollower, name="trend", params=PARAMS, journal_dir=tmp_path) as live:
        for n, bid in enumerate((100, 101, 102, 103)):
            live.publish(quote("Si", bid, bid + 1, ts=1_000 + n))
        order = live.next_command()
        assert isinstance(order, NewOrder)
        live.reply(filled(order))
        live.publish(quote("Si", 104, 105, ts=2_000))
        wait_until(lambda: live.snapshot("trend")["now"] == 2_000, what="the last quote handled")

        snapshot = live.snapshot("trend")

    assert order.price == Decimal(104)
    assert snapshot["state"]["target"] == 1
