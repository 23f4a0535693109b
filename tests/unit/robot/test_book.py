"""Positions and P&L from fills: exact, FIFO, through flips."""

from __future__ import annotations

from decimal import Decimal

from yard_actors.robot.book import Position
from yard_actors.wire.events import Side


def test_adding_to_a_position_keeps_each_lot() -> None:
    position = Position(symbol="Si")
    position.apply(Side.BUY, 2, Decimal(100), Decimal(0))
    position.apply(Side.BUY, 1, Decimal(103), Decimal(0))

    assert position.qty == 3
    assert list(position.lots) == [(2, Decimal(100)), (1, Decimal(103))]
    assert position.avg_price == Decimal("101")


def test_closing_matches_the_oldest_lots_first() -> None:
    position = Position(symbol="Si")
    position.apply(Side.BUY, 2, Decimal(100), Decimal(0))
    position.apply(Side.BUY, 2, Decimal(110), Decimal(0))

    position.apply(Side.SELL, 3, Decimal(120), Decimal("1.5"))

    assert position.qty == 1
    assert position.realized == Decimal(2 * 20 + 1 * 10)
    assert position.fees == Decimal("1.5")
    assert list(position.lots) == [(1, Decimal(110))]


def test_a_fill_through_flat_opens_the_rest_at_its_price() -> None:
    position = Position(symbol="Si")
    position.apply(Side.SELL, 1, Decimal(100), Decimal(0))

    position.apply(Side.BUY, 3, Decimal(90), Decimal(0))

    assert position.qty == 2
    assert position.realized == Decimal(10)
    assert list(position.lots) == [(2, Decimal(90))]
    assert position.unrealized(Decimal(95)) == Decimal(10)


def test_an_average_that_does_not_divide_stays_exact_in_pnl() -> None:
    position = Position(symbol="Si")
    for price in (100, 100, 101):
        position.apply(Side.BUY, 1, Decimal(price), Decimal(0))

    position.apply(Side.SELL, 3, Decimal(101), Decimal(0))

    assert position.avg_price == Decimal(0)
    assert position.realized == Decimal(2)
    assert str(position.realized) == "2"
