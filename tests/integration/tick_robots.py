"""Robots that trade on trade prints alone, for the runs over Finam tick files (no quotes).

Each rests a one-lot limit at the last print's price and is filled by a later print at
or through it (the paper exchange's rule for ticks); two of them on Si share the
prints, so the order in which their orders reach the exchange matters.
"""

from __future__ import annotations

from collections import deque
from decimal import Decimal
from typing import ClassVar

from yard_actors import Robot, Tick
from yard_actors.robot.robot import HandlerResult

__all__ = ["TickFader", "TickTrend"]

_WINDOW = 8


class TickTrend(Robot):
    """Long one lot while the last print is above the average of the last few, else short."""

    symbols: ClassVar[tuple[str, ...]] = ("Si",)
    side = 1

    def on_start(self) -> None:
        self.prices: dict[str, deque[Decimal]] = {}

    def on_tick(self, tick: Tick) -> HandlerResult:
        prices = self.prices.setdefault(tick.symbol, deque(maxlen=_WINDOW))
        prices.append(tick.price)
        if len(prices) < _WINDOW or self.open_orders(tick.symbol):
            return None
        above = tick.price > sum(prices) / len(prices)
        target = self.side if above else -self.side
        gap = target - self.position(tick.symbol)
        if gap > 0:
            return self.buy(tick.symbol, gap, tick.price)
        if gap < 0:
            return self.sell(tick.symbol, -gap, tick.price)
        return None


class TickFader(TickTrend):
    """The other way round: short above the average, long below."""

    symbols = ("Si", "RTS")
    side = -1
