"""Robots for the risk-limit tests; importable by path, as a config names its robots."""

from __future__ import annotations

from decimal import Decimal

from yard_actors import Quote, Robot, Tick
from yard_actors.robot.robot import HandlerResult


class Blind(Robot):
    """Buys ``qty`` at the ask while flat and idle; declares nothing about its params."""

    symbols = ("Si",)

    def on_quote(self, quote: Quote) -> HandlerResult:
        if self.open_orders() or self.position(quote.symbol):
            return None
        return self.buy(quote.symbol, int(self.params.get("qty", 1)), quote.ask)


class Spammer(Robot):
    """On every trade print, rests one lot far from it, buying and selling in turn."""

    symbols = ("Si",)

    def on_start(self) -> None:
        self.prints = 0

    def on_tick(self, tick: Tick) -> HandlerResult:
        self.prints += 1
        if self.prints % 2:
            return self.buy(tick.symbol, 1, tick.price - Decimal(10_000))
        return self.sell(tick.symbol, 1, tick.price + Decimal(10_000))
