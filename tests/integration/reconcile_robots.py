"""Robots for the reconciliation tests; importable by path so host processes can load them."""

from __future__ import annotations

import time

from yard_actors import Fill, Quote, Robot
from yard_actors.robot.robot import HandlerResult


class SlowBidder(Robot):
    """Takes ``pause_ms`` over each quote and rests a bid far below it on every ``every``-th.

    Slow on purpose: a burst of quotes takes long to handle, so a host killed while it
    runs is killed in the middle of a journaled run. The pause changes no output, so
    a replay stays exact.
    """

    symbols = ("Si",)

    def on_start(self) -> None:
        self.quotes = 0
        self.fills: list[str] = []

    def on_quote(self, quote: Quote) -> HandlerResult:
        self.quotes += 1
        time.sleep(float(self.params.get("pause_ms", 1)) / 1000)
        if self.quotes % int(self.params.get("every", 5)):
            return None
        return self.buy(quote.symbol, 1, quote.bid - 1000)

    def on_fill(self, fill: Fill) -> HandlerResult:
        self.fills.append(fill.trade_id)
        return None
