"""The market maker: quotes both sides, requotes on drift, respects its inventory limit."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from robots.market_maker import MarketMaker
from yard_actors import CancelOrder, Command, NewOrder, RobotError, Side, replay
from yard_actors.testing import RobotHarness, accepted, filled, quote, run_robot, wait_until

pytestmark = pytest.mark.usefixtures("each_runtime")


def _orders(commands: list[Command]) -> dict[Side, NewOrder]:
    return {c.side: c for c in commands if isinstance(c, NewOrder)}


def test_it_quotes_both_sides_around_the_mid() -> None:
    harness = RobotHarness(MarketMaker, name="mm", params={"half_spread_ticks": 2})

    orders = _orders(harness.quote("Si", 100, 102))

    assert orders[Side.BUY].price == Decimal(99)
    assert orders[Side.SELL].price == Decimal(103)


def test_unchanged_market_leaves_quotes_working() -> None:
    harness = RobotHarness(MarketMaker, params={"half_spread_ticks": 2})
    harness.quote("Si", 100, 102)

    assert harness.quote("Si", 100, 102) == []


def test_a_moved_market_cancels_the_stale_quotes() -> None:
    harness = RobotHarness(MarketMaker, name="mm", params={"half_spread_ticks": 2})
    harness.quote("Si", 100, 102)

    out = harness.quote("Si", 110, 112)

    assert sorted(c.client_order_id for c in out if isinstance(c, CancelOrder)) == ["mm-1", "mm-2"]
    assert not [c for c in out if isinstance(c, NewOrder)]


def test_with_requote_ticks_a_small_drift_leaves_quotes_working_and_a_larger_one_does_not() -> None:
    harness = RobotHarness(
        MarketMaker, name="mm", params={"half_spread_ticks": 2, "requote_ticks": 3}
    )
    harness.quote("Si", 100, 102)  # bid 99, offer 103

    assert harness.quote("Si", 102, 104) == []  # should be 101 / 105: 2 ticks off, kept
    out = harness.quote("Si", 103, 105)  # should be 102 / 106: 3 ticks off, cancelled

    assert sorted(c.client_order_id for c in out if isinstance(c, CancelOrder)) == ["mm-1", "mm-2"]


def test_requote_ticks_below_one_is_refused() -> None:
    with pytest.raises(RobotError, match="requote_ticks must be positive"):
        RobotHarness(MarketMaker, params={"requote_ticks": 0})


def test_a_long_inventory_skews_quotes_down_and_stops_buying_at_the_limit() -> None:
    harness = RobotHarness(
        MarketMaker, name="mm", params={"half_spread_ticks": 2, "max_position": 2, "qty": 2}
    )
    orders = _orders(harness.quote("Si", 100, 102))
    harness.fill(orders[Side.BUY])
    harness.cancel_done(orders[Side.SELL])

    requote = _orders(harness.quote("Si", 100, 102))

    assert Side.BUY not in requote
    assert requote[Side.SELL].price == Decimal(101)  # mid 101 + 2 ticks - 2 lots of skew


def test_it_quotes_and_requotes_as_a_live_actor(tmp_path: Path) -> None:
    with run_robot(
        MarketMaker, name="mm", params={"half_spread_ticks": 2}, journal_dir=tmp_path
    ) as live:
        live.publish(quote("Si", 100, 102, ts=1_000))
        opening = {c.side: c for c in live.gateway.commands(2) if isinstance(c, NewOrder)}
        live.reply(accepted(opening[Side.BUY]))
        live.reply(filled(opening[Side.BUY]))  # bought one lot at 99: skew the quotes down
        wait_until(lambda: live.snapshot("mm")["positions"].get("Si", {}).get("qty") == 1)
        live.publish(quote("Si", 100, 102, ts=2_000))
        cancel, requote = live.gateway.commands(2)

    assert cancel == CancelOrder(ts=2_000, client_order_id="mm-2", robot="mm")  # the stale offer
    assert isinstance(requote, NewOrder)
    assert (requote.side, requote.price) == (Side.BUY, Decimal(98))  # mid 101 - 1 skew - 2
    assert replay(tmp_path, "mm").faithful
