"""The crash rig's market: the trading days ``yard feed`` plays, sample or CSV.

Apart from :mod:`.deployment` because a day is data, not a process: the bundled sample
day, or the first hours of a seeded sample day written as CSV files for a date of our
choosing (a long run plays one FORTS trading day after another).
"""

from __future__ import annotations

import csv
from datetime import date, timedelta
from pathlib import Path

import attrs

from gateways.sample import SAMPLE_DATE, sample_session
from gateways.sessions import FORTS
from yard_actors.wire.events import Quote, Tick

__all__ = ["Day", "csv_day", "next_trading_day", "sample_day"]


@attrs.frozen(kw_only=True)
class Day:
    """A trading day for ``yard feed``: the bundled sample day (no files) or CSV files."""

    day: date
    seed: int
    files: tuple[Path, ...] = ()

    def feed_args(self) -> list[str]:
        return [*(str(f) for f in self.files), "--seed", str(self.seed)]


def sample_day(seed: int = 7) -> Day:
    """The bundled sample day, as ``yard feed`` makes it with no files."""
    return Day(day=SAMPLE_DATE, seed=seed)


def next_trading_day(after: date) -> date:
    """The first day after ``after`` with an open FORTS session."""
    day = after + timedelta(days=1)
    while not FORTS.windows_on(day):
        day += timedelta(days=1)
    return day


def csv_day(directory: Path, *, seed: int, day: date, hours: float = 6.0) -> Day:
    """The first ``hours`` of a sample day on ``day`` (seeded), written as two CSV files."""
    directory.mkdir(parents=True, exist_ok=True)
    quotes_path, ticks_path = directory / f"{day}-quotes.csv", directory / f"{day}-ticks.csv"
    with quotes_path.open("w", newline="") as q_file, ticks_path.open("w", newline="") as t_file:
        quotes, ticks = csv.writer(q_file), csv.writer(t_file)
        quotes.writerow(("timestamp", "symbol", "bid", "ask", "bid_size", "ask_size"))
        ticks.writerow(("timestamp", "symbol", "last", "volume", "side"))
        first: int | None = None
        for event in sample_session(seed=seed, date=day):
            first = event.ts if first is None else first
            if event.ts - first > hours * 3600 * 10**9:
                break
            if isinstance(event, Quote):
                quotes.writerow(
                    (event.ts, event.symbol, event.bid, event.ask, event.bid_size, event.ask_size)
                )
            else:
                assert isinstance(event, Tick), event  # a sample day holds no bars
                ticks.writerow(
                    (event.ts, event.symbol, event.price, event.qty, event.aggressor.value)
                )
    files = (quotes_path, ticks_path)
    return Day(day=day, seed=seed, files=files)
