"""Robots for the overload tests; importable by path so a ``yard run`` process can load them."""

from __future__ import annotations

import time

from yard_actors import Quote, Robot, Tick


class Counting(Robot):
    """Counts its quotes and ticks: a robot that keeps up, and whose state stays small."""

    symbols = ("Si",)

    def on_start(self) -> None:
        self.quotes = 0
        self.ticks = 0

    def on_quote(self, quote: Quote) -> None:
        self.quotes += 1

    def on_tick(self, tick: Tick) -> None:
        self.ticks += 1


class Fast(Counting):
    """As :class:`Counting`, and records each quote's bid and each tick's time, in order."""

    def on_start(self) -> None:
        super().on_start()
        self.bids: list[int] = []
        self.tick_times: list[int] = []

    def on_quote(self, quote: Quote) -> None:
        super().on_quote(quote)
        self.bids.append(int(quote.bid))

    def on_tick(self, tick: Tick) -> None:
        super().on_tick(tick)
        self.tick_times.append(tick.ts)


class Slow(Fast):
    """As :class:`Fast`, but takes ``ms`` milliseconds over each event: sleeping or spinning.

    ``how = "spin"`` holds the GIL the whole time, as pure-Python work does; ``"sleep"``
    releases it, as a blocking call does. The time taken changes nothing the robot
    records, so a replay (which sleeps too) rebuilds the same state.
    """

    def on_quote(self, quote: Quote) -> None:
        super().on_quote(quote)
        self._take()

    def on_tick(self, tick: Tick) -> None:
        super().on_tick(tick)
        self._take()

    def _take(self) -> None:
        seconds = float(self.params.get("ms", 5)) / 1000
        if self.params.get("how") == "spin":
            until = time.perf_counter() + seconds
            while time.perf_counter() < until:
                pass
        else:
            time.sleep(seconds)
