"""The paper exchange and bars: a bar is a print of its volume at its close, nothing more."""

from __future__ import annotations

from tests.unit.gateways.test_paper import BUY, SELL, T0, accepted, fill, order, paper
from yard_actors.testing import bar

MINUTE = 60_000_000_000


def test_a_bar_fills_a_resting_buy_its_close_reaches_at_the_limit_capped_by_its_volume() -> None:
    exchange = paper()
    buy = order("b1", BUY, 5, 90002)
    assert exchange.submit(buy) == [accepted(buy, 1)]  # no quote: nothing to fill on arrival

    above = exchange.on_market(bar("Si", 90010, 90012, 89990, 90003, volume=9, ts=T0 + MINUTE))
    through = exchange.on_market(
        bar("Si", 90003, 90004, 89999, 90001, volume=3, ts=T0 + 2 * MINUTE)
    )

    assert above == []  # its low went through the limit, but where and how much is unknown
    assert through == [fill(buy, 1, 3, 90002, ts=T0 + 2 * MINUTE)]


def test_a_bar_fills_resting_sells_in_time_priority_up_to_its_volume() -> None:
    exchange = paper()
    first, second = order("s1", SELL, 2, 90003), order("s2", SELL, 2, 90003, ts=T0 + 1)
    exchange.submit(first)
    exchange.submit(second)

    reports = exchange.on_market(bar("Si", 90000, 90005, 90000, 90004, volume=3, ts=T0 + MINUTE))

    assert reports == [
        fill(first, 1, 2, 90003, ts=T0 + MINUTE),
        fill(second, 2, 1, 90003, ts=T0 + MINUTE),
    ]


def test_a_bar_of_no_volume_fills_nothing() -> None:
    exchange = paper()
    exchange.submit(order("b1", BUY, 1, 90002))

    assert exchange.on_market(bar("Si", 90000, 90000, 90000, 90000, volume=0, ts=T0 + MINUTE)) == []


def test_a_market_order_after_bars_alone_finds_no_liquidity() -> None:
    exchange = paper()
    exchange.on_market(bar("Si", 90000, 90005, 89995, 90001, volume=50, ts=T0 + MINUTE))

    reports = exchange.submit(order("m1", BUY, 1, ts=T0 + 2 * MINUTE))

    assert [type(r).__name__ for r in reports] == ["OrderAccepted", "CancelReply"]
    assert reports[1].reason == "market order: no more liquidity"  # type: ignore[union-attr]
