"""Backtest throughput beside the raw limit of reading the same data, in one run.

The sample day (seed 7, ~156,000 events of Si and RTS) is written once to two CSV files,
quotes and trade prints, as a user's data would come. Then, in this one process and
under the same load::

    python benchmarks/bench_backtest.py            # the whole sample day
    python benchmarks/bench_backtest.py --limit 50000

* ``raw``: reading and decoding the files alone, merged in time, with the FORTS sessions
  added (``gateways.feed.market_stream``): what no backtest of these files can beat;
* ``idle``: ``yard backtest`` over the files with a robot that routes Si and RTS and
  sends nothing: the engine's own cost (paper exchange, journal, reading);
* ``market-maker``: the example market maker on Si (the demo config's ``mm-si``), which
  sends about one command every three events: each is stored in SQLite, answered by the
  paper exchange and journaled;
* ``... (in memory)``: the same backtests over the events read beforehand into a list:
  the engine alone, reading left out.

Each prints events/s of wall-clock time and of this process's CPU time; a wall rate far
below the CPU rate means other processes took the cores meanwhile (the figures are then
suspect). A script, not a test: nothing is asserted, the lead quotes the figures.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from gateways.feed import Published, market_stream
from gateways.paper import PaperConfig
from gateways.readers import read_file
from gateways.sample import sample_session
from yard_actors import Robot
from yard_actors.backtest import BacktestSession
from yard_actors.host.host_config import RobotSettings
from yard_actors.robot.risk import DEFAULT_LIMITS
from yard_actors.wire.events import Quote, Tick

MAKER = {"half_spread_ticks": 3, "max_position": 5, "requote_ticks": 3}


class Idle(Robot):
    """Routes Si and RTS and sends nothing."""

    symbols = ("Si", "RTS")


def write_sample_day(folder: Path, seed: int) -> list[Path]:
    """The sample day as two generic CSV files: quotes, and trade prints."""
    quotes, ticks = folder / "quotes.csv", folder / "ticks.csv"
    with quotes.open("w", encoding="utf-8") as q, ticks.open("w", encoding="utf-8") as t:
        q.write("timestamp,symbol,bid,ask,bid_size,ask_size\n")
        t.write("timestamp,symbol,last,volume,side\n")
        for event in sample_session(seed=seed):
            if isinstance(event, Quote):
                q.write(
                    f"{event.ts},{event.symbol},{event.bid},{event.ask},"
                    f"{event.bid_size},{event.ask_size}\n"
                )
            elif isinstance(event, Tick):
                side = event.aggressor.value[0].upper()
                t.write(f"{event.ts},{event.symbol},{event.price},{event.qty},{side}\n")
    return [quotes, ticks]


def market(files: list[Path], limit: int | None) -> Iterator[Published]:
    readers = [read_file(path) for path in files]
    return itertools.islice(market_stream(readers, seed=7, sessions=True), limit)


def timed(work: Callable[[], int]) -> tuple[int, float, float]:
    """Events, wall seconds and CPU seconds of ``work``."""
    wall, cpu = time.perf_counter(), time.process_time()
    events = work()
    return events, time.perf_counter() - wall, time.process_time() - cpu


def backtest(
    folder: Path, robot: RobotSettings, events: Callable[[], Iterable[Published]]
) -> tuple[int, dict[str, Any]]:
    with BacktestSession(folder, [robot], paper=PaperConfig()) as session:
        counts = session.run(events())
        orders = sum(len(o) for o in session.orders().values())
        fills = sum(len(f) for f in session.fills().values())
    journal = sum(p.stat().st_size for p in (folder / "journal").iterdir())
    return counts.events, {"orders": orders, "fills": fills, "journal MB": journal / 1e6}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, help="only the first N events")
    parser.add_argument("--seed", type=int, default=7, help="the sample day's seed")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # not the default risk limits' notice, per run
    robots = {
        "idle": RobotSettings(
            class_path=f"{__name__}:Idle" if __name__ != "__main__" else "bench_backtest:Idle",
            name="idle",
            symbols=None,
            params={},
            limits=DEFAULT_LIMITS,
        ),
        "market-maker": RobotSettings(
            class_path="robots.market_maker:MarketMaker",
            name="mm-si",
            symbols=("Si",),
            params=MAKER,
            limits=DEFAULT_LIMITS,
        ),
    }
    with tempfile.TemporaryDirectory(prefix="yard-bench-backtest-") as tmp:
        folder = Path(tmp)
        files = write_sample_day(folder, args.seed)
        rows: list[tuple[str, int, float, float, dict[str, Any]]] = []
        events, wall, cpu = timed(lambda: sum(1 for _ in market(files, args.limit)))
        rows.append(("raw: read and decode the files", events, wall, cpu, {}))
        in_memory: list[Published] = []  # read once the runs over the files are done
        for source, stream in (
            ("", lambda: market(files, args.limit)),
            (" (in memory)", lambda: in_memory),
        ):
            if source and not in_memory:
                in_memory.extend(market(files, args.limit))
            for name, robot in robots.items():
                run_dir = folder / f"{name}{source.strip(' ()').replace(' ', '-')}"
                extra: dict[str, Any] = {}

                def work(
                    run_dir: Path = run_dir,
                    robot: RobotSettings = robot,
                    stream: Callable[[], Iterable[Published]] = stream,
                    extra: dict[str, Any] = extra,
                ) -> int:
                    count, found = backtest(run_dir, robot, stream)
                    extra.update(found)
                    return count

                events, wall, cpu = timed(work)
                rows.append((f"backtest {name}{source}", events, wall, cpu, extra))
    print(f"{'case':<40} {'events':>9} {'events/s':>10} {'CPU events/s':>13}  notes")
    for name, events, wall, cpu, extra in rows:
        notes = ", ".join(
            f"{k} {v:,.1f}" if isinstance(v, float) else f"{k} {v:,}" for k, v in extra.items()
        )
        print(f"{name:<40} {events:>9,} {events / wall:>10,.0f} {events / cpu:>13,.0f}  {notes}")


if __name__ == "__main__":
    main()
