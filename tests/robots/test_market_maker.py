"""The market maker: quotes both sides, requotes on drift, respects its inventory limit."""

from __future__ import annotations

from decimal import Decimal

from robots.market_maker import MarketMaker
from yard_actors import CancelOrder, NewOrder, Side
from yard_actors.testing import RobotHarness


def _orders(commands: list[object]) -> dict[Side, NewOrder]:
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
