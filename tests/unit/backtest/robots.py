"""Robots for the backtest's tests: small, deterministic, each showing one rule."""

from __future__ import annotations

from yard_actors import Fill, Quote, Robot, Tick, Timer
from yard_actors.robot.robot import HandlerResult


class Idle(Robot):
    """Routes Si and does nothing: the engine's own cost."""

    symbols = ("Si",)


class BuysOnce(Robot):
    """Buys one lot at the ask of its first quote; notes which events it saw, in order."""

    symbols = ("Si",)

    def on_start(self) -> None:
        self.seen: list[str] = []

    def on_quote(self, quote: Quote) -> HandlerResult:
        self.seen.append(f"quote {quote.ts}")
        if len(self.seen) == 1:
            return self.buy("Si", 1, quote.ask)
        return None

    def on_fill(self, fill: Fill) -> HandlerResult:
        self.seen.append(f"fill {fill.ts}")
        return None


class RestsBelow(Robot):
    """Rests a buy one tick under the first bid: the next quote that reaches it fills it."""

    symbols = ("Si",)

    def on_start(self) -> None:
        self.seen: list[str] = []

    def on_quote(self, quote: Quote) -> HandlerResult:
        self.seen.append(f"quote {quote.ts}")
        if len(self.seen) == 1:
            return self.buy("Si", 1, quote.bid - 1)
        return None

    def on_fill(self, fill: Fill) -> HandlerResult:
        self.seen.append(f"fill {fill.ts}")
        return None


class Beats(Robot):
    """Every 10 ms of event time, buys one lot at the last bid (timers between quotes)."""

    symbols = ("Si",)

    def on_start(self) -> None:
        self.beats: list[int] = []
        self.every("beat", 10)

    def on_timer(self, timer: Timer) -> HandlerResult:
        self.beats.append(timer.ts)
        last = self.last_quote("Si")
        return None if last is None else self.buy("Si", 1, last.bid)


class Breaks(Robot):
    """Raises on its third quote: a bug in a robot's handler."""

    symbols = ("Si",)

    def on_start(self) -> None:
        self.quotes = 0

    def on_quote(self, quote: Quote) -> HandlerResult:
        self.quotes += 1
        if self.quotes == 3:
            msg = "the third quote breaks me"
            raise RuntimeError(msg)
        return None


class BuysAtFirstPrint(Robot):
    """Rests a buy at its first trade print's price and holds what fills: a position that
    trade prints alone mark (no quote in the data)."""

    symbols = ("Si",)

    def on_start(self) -> None:
        self.sent = False

    def on_tick(self, tick: Tick) -> HandlerResult:
        if not self.sent:
            self.sent = True
            return self.buy("Si", 1, tick.price)
        return None
