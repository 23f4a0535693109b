"""The time series a robot's plots draw, kept small however long the journal is.

A run of ten million events cannot be plotted point by point, nor held in memory to be, so
each series is downsampled as it grows, in bounded memory:

- :class:`Envelope` (equity, position, price) cuts the series into buckets of ``stride``
  consecutive points and keeps of each bucket its lowest and its highest point, in time
  order: the drawn line keeps every peak and every trough (a drawdown is never smoothed
  away). Past ``2 x buckets`` buckets, neighbours merge in pairs and the stride doubles, so
  it holds at most ``4 x buckets`` points. Its last point is always the series' last.
- :class:`Thinned` (order and fill markers) keeps every ``stride``-th point; past
  ``2 x limit`` points it drops every other one and the stride doubles.

Both are deterministic: the same journal draws the same plots. Values are floats: they are
for drawing only; the figures of the report are computed exactly (:mod:`.metrics`).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import attrs

from yard_actors.wire.events import Command, Event, Fill, MarketEvent, NewOrder, Quote, Side

__all__ = ["Envelope", "Marker", "RobotSeries", "Thinned"]

DEFAULT_BUCKETS = 1000
DEFAULT_MARKERS = 1000
MAX_SYMBOLS = 4  # price and position plots draw the first symbols a robot traded or saw

Point = tuple[int, float]


class Envelope:
    """A series downsampled to the low and high point of each bucket (module docstring)."""

    def __init__(self, buckets: int = DEFAULT_BUCKETS) -> None:
        self._buckets = buckets
        self._stride = 1
        self._lows: list[Point] = []
        self._highs: list[Point] = []
        self._filled = 0  # points in the last bucket
        self.last: Point | None = None

    def add(self, ts: int, value: float) -> None:
        point = (ts, value)
        self.last = point
        if self._filled and self._filled < self._stride:
            self._filled += 1
            if value < self._lows[-1][1]:
                self._lows[-1] = point
            elif value > self._highs[-1][1]:
                self._highs[-1] = point
            return
        self._lows.append(point)
        self._highs.append(point)
        self._filled = 1
        if len(self._lows) > 2 * self._buckets:
            self._merge()

    def points(self) -> list[Point]:
        """The kept points in time order, the series' last point included."""
        kept: list[Point] = []
        for low, high in zip(self._lows, self._highs, strict=True):
            kept.extend(sorted({low, high}))
        if self.last is not None and (not kept or kept[-1] != self.last):
            kept.append(self.last)
        return kept

    def _merge(self) -> None:
        lows, highs = self._lows, self._highs
        self._lows = [min(lows[i : i + 2], key=_value) for i in range(0, len(lows), 2)]
        self._highs = [max(highs[i : i + 2], key=_value) for i in range(0, len(highs), 2)]
        self._stride *= 2  # the last bucket, just begun (2n + 1 of them), keeps its one point


def _value(point: Point) -> float:
    return point[1]


@attrs.frozen
class Marker:
    """An order sent or a fill, for the price plot: when, at what price, which side."""

    ts: int
    price: float
    side: Side


class Thinned:
    """Every ``stride``-th marker, the stride doubling to keep at most ``2 x limit``."""

    def __init__(self, limit: int = DEFAULT_MARKERS) -> None:
        self._limit = limit
        self._stride = 1
        self._seen = 0
        self.kept: list[Marker] = []

    def add(self, marker: Marker) -> None:
        self._seen += 1
        if (self._seen - 1) % self._stride:
            return
        self.kept.append(marker)
        if len(self.kept) > 2 * self._limit:
            self.kept = self.kept[::2]
            self._stride *= 2


class RobotSeries:
    """What one robot's plots need, fed event by event: equity, positions, prices, markers."""

    def __init__(self, buckets: int = DEFAULT_BUCKETS, markers: int = DEFAULT_MARKERS) -> None:
        self._buckets = buckets
        self._markers = markers
        self.equity = Envelope(buckets)
        self.positions: dict[str, Envelope] = {}
        self.prices: dict[str, Envelope] = {}
        self.orders: dict[str, Thinned] = {}
        self.fills: dict[str, Thinned] = {}
        self._start = 0  # the ts of the robot's first event
        self._equity: tuple[Decimal, float] | None = None  # the last equity and its float

    def add(
        self,
        event: Event,
        commands: tuple[Command, ...],
        *,
        equity: Decimal,
        mark: Callable[[str], Decimal | None],
        position: Callable[[str], int],
    ) -> None:
        """Take the state after one event: its ``equity``, each symbol's mark and position."""
        ts = event.ts
        if self.equity.last is None:
            self._start = ts
        last = self._equity
        if last is None or last[0] is not equity:  # most events leave the equity as it was
            last = self._equity = (equity, float(equity))
        self.equity.add(ts, last[1])
        # a quote first: most events are, and isinstance of a union is the slower check
        if (type(event) is Quote or isinstance(event, MarketEvent)) and self._line(
            event.symbol, self.prices
        ):
            price = mark(event.symbol)
            if price is not None:
                self.prices[event.symbol].add(ts, float(price))
        if type(event) is Fill:
            if self._marked(event.symbol, self.fills):
                self.fills[event.symbol].add(Marker(ts, float(event.price), event.side))
            if self._line(event.symbol, self.positions):
                self.positions[event.symbol].add(ts, float(position(event.symbol)))
        for command in commands:
            if type(command) is NewOrder and self._marked(command.symbol, self.orders):
                price = command.price if command.price is not None else mark(command.symbol)
                if price is not None:
                    self.orders[command.symbol].add(Marker(ts, float(price), command.side))

    def symbols(self) -> list[str]:
        """The symbols drawn: traded ones first, then those only quoted, at most four."""
        return list(dict.fromkeys([*self.positions, *self.prices]))[:MAX_SYMBOLS]

    # A robot may see hundreds of symbols: series are kept for the first few met only.

    def _line(self, symbol: str, series: dict[str, Envelope]) -> bool:
        if symbol not in series:
            if len(series) >= _KEPT_SYMBOLS:
                return False
            series[symbol] = Envelope(self._buckets)
            if series is self.positions:  # flat from the robot's first event to its first fill
                series[symbol].add(self._start, 0.0)
        return True

    def _marked(self, symbol: str, series: dict[str, Thinned]) -> bool:
        if symbol not in series:
            if len(series) >= _KEPT_SYMBOLS:
                return False
            series[symbol] = Thinned(self._markers)
        return True


_KEPT_SYMBOLS = 2 * MAX_SYMBOLS
