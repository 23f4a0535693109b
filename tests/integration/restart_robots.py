"""Robots for the restart tests: one with a bug that does not come back, one with a poison
event, one that cannot start again. Class-level sets say which robots (by name) misbehave,
so a twin of the same class, or the rebuilt instance, behaves."""

from __future__ import annotations

import time
from typing import ClassVar

from yard_actors import Fill, Quote, Robot
from yard_actors.robot.robot import HandlerResult


class Counter(Robot):
    """Counts its quotes; buys one lot at the ask on its 5th, 15th, 25th ... quote."""

    symbols = ("Si",)
    #: robots that raise on their ``crash_at``-th quote, once: a bug a replay does not meet
    crash_once: ClassVar[set[str]] = set()
    crash_at: ClassVar[int] = 100
    #: robots whose on_start raises: every rebuild of them fails
    fail_on_start: ClassVar[set[str]] = set()
    #: a bid that fails every robot of the class, every time: a poison event
    poison_bid: ClassVar[str | None] = None
    #: seconds each new instance takes to start (a test robot may sleep; a real one must not)
    slow_start: ClassVar[float] = 0.0

    def on_start(self) -> None:
        if self.name in type(self).fail_on_start:
            msg = "cannot start"
            raise RuntimeError(msg)
        time.sleep(type(self).slow_start)
        self.quotes = 0
        self.bids: list[int] = []
        self.fills: list[str] = []

    def on_quote(self, quote: Quote) -> HandlerResult:
        if str(quote.bid) == type(self).poison_bid:
            msg = f"poisoned by bid {quote.bid}"
            raise ValueError(msg)
        self.quotes += 1
        self.bids.append(int(quote.bid))
        if self.quotes == type(self).crash_at and self.name in type(self).crash_once:
            type(self).crash_once.discard(self.name)
            msg = "a bug that does not come back"
            raise RuntimeError(msg)
        if self.quotes % 10 == 5:
            return self.buy(quote.symbol, 1, quote.ask)
        return None

    def on_fill(self, fill: Fill) -> HandlerResult:
        self.fills.append(fill.client_order_id)
        return None
