"""Robots for the order-path tests; importable by path so host subprocesses can load them."""

from __future__ import annotations

from decimal import Decimal

from yard_actors import Fill, Quote, Robot
from yard_actors.robot.robot import HandlerResult


class Taker(Robot):
    """Buys one lot at the ask whenever it has no working order, until it holds ``target``."""

    symbols = ("Si",)

    def on_start(self) -> None:
        self.fills: list[str] = []

    def on_quote(self, quote: Quote) -> HandlerResult:
        target = int(self.params.get("target", 3))
        if self.open_orders() or self.position(quote.symbol) >= target:
            return None
        return self.buy(quote.symbol, 1, quote.ask)

    def on_fill(self, fill: Fill) -> HandlerResult:
        self.fills.append(fill.client_order_id)
        return None


class Ladder(Robot):
    """On its first quote, rests ``rungs`` one-lot bids one tick apart below the bid."""

    symbols = ("Si",)

    def on_start(self) -> None:
        self.placed = False
        self.fills: list[str] = []

    def on_quote(self, quote: Quote) -> HandlerResult:
        if self.placed:
            return None
        self.placed = True
        rungs = int(self.params.get("rungs", 5))
        return [self.buy(quote.symbol, 1, quote.bid - Decimal(n)) for n in range(1, rungs + 1)]

    def on_fill(self, fill: Fill) -> HandlerResult:
        self.fills.append(fill.trade_id)
        return None
