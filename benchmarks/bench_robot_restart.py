"""Time from a robot's failure to its restarted instance handling live events again.

The journal is written first, directly (``Journal.record_fanned`` in bursts of 1,000
quotes, one watermark per burst, as the data intake and the robot write them live), with
``--events`` quotes for one robot; then a host on that journal (``live_host``: inproc,
a test feed and gateway) adds the robot, which is restored from it. Each round:

1. the feed publishes a quote the robot's handler raises on, once (so its replay does
   not): the robot fails, and its host restarts it from the journal; ``t0`` is the
   moment the handler raises;
2. as soon as it has failed, a marker quote, which waits in the robot's mailbox during the
   rebuild; ``t1`` is the moment the restarted instance handles it. (Published with the
   crash quote, it could come in the same run, which the replay hands the new instance.)

Printed per round: ``t1 - t0`` (failure to live again), the rebuild's own time (read the
journal, replay it: from the restart's sentence) and the events replayed. Each round's
replay is one event longer (the crash quote) plus the marker.

    python benchmarks/bench_robot_restart.py [--events 10000] [--rounds 3] [--million]

``--million`` adds a 1,000,000-event journal (slow to write: a minute or more).
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, ClassVar

import cli
from measure import machine, print_machine

from yard_actors import Quote, Robot, encode
from yard_actors.host.supervision_config import SupervisionConfig
from yard_actors.journal import Group, Journal
from yard_actors.robot.loader import class_path
from yard_actors.robot.robot import HandlerResult
from yard_actors.testing import live_host, quote, wait_until

SYMBOL = "Si"
NAME = "bench"
TS0 = 1_700_000_000_000_000_000
STEP_NS = 1_000_000
BURST = 1_000
CRASH_BID = 13
MARKER_BID = 42
RESTART_S = 600.0


class Crashy(Robot):
    """Counts its quotes; raises once on the crash quote; notes when it handles the marker.

    The two clock readings are the benchmark's (class-level, not the robot's state): a
    real robot never reads a clock.
    """

    symbols = (SYMBOL,)
    armed: ClassVar[bool] = False
    marker: ClassVar[int] = 0  # this round's marker bid: earlier rounds' come back in replays
    failed_at: ClassVar[float] = 0.0
    live_at: ClassVar[float] = 0.0

    def on_start(self) -> None:
        self.quotes = 0

    def on_quote(self, quote: Quote) -> HandlerResult:
        self.quotes += 1
        if quote.bid == CRASH_BID and type(self).armed:
            type(self).armed = False
            type(self).failed_at = time.perf_counter()
            msg = "benchmark crash"
            raise RuntimeError(msg)
        if quote.bid == type(self).marker:
            type(self).live_at = time.perf_counter()
        return None


def write_journal(directory: Path, events: int) -> float:
    """Journal ``events`` quotes handled by robot ``NAME``; return the seconds it took."""
    started = time.perf_counter()
    spec = {"name": NAME, "class": class_path(Crashy), "symbols": [SYMBOL], "params": {}}
    group = Group(SYMBOL, (NAME,))
    with Journal(directory) as journal:
        journal.record_robot(NAME, spec)
        for first in range(0, events, BURST):
            burst = [
                (encode(quote(SYMBOL, 100 + n % 7, 101 + n % 7, ts=TS0 + n * STEP_NS)), group)
                for n in range(first, min(first + BURST, events))
            ]
            seq = journal.record_fanned(burst)
            journal.record_watermark(NAME, seq + len(burst) - 1)
    return time.perf_counter() - started


def run(events: int, rounds: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="yard-bench-restart-") as tmp:
        directory = Path(tmp) / "journal"
        written = write_journal(directory, events)
        supervision = SupervisionConfig(max_restarts=rounds + 1, within_s=3600)
        with live_host(directory, supervision=supervision, ask_timeout=RESTART_S) as live:
            started = time.perf_counter()
            live.add_robot(Crashy, name=NAME)
            restored = time.perf_counter() - started
            ts = TS0 + events * STEP_NS
            results = []
            for n in range(1, rounds + 1):
                Crashy.armed, Crashy.marker = True, MARKER_BID + n
                Crashy.failed_at = Crashy.live_at = 0.0
                live.publish(quote(SYMBOL, CRASH_BID, CRASH_BID + 1, ts=ts + 1))
                # after the failure, or it would be in the failed run, replayed, not live
                wait_until(lambda: Crashy.failed_at > 0, timeout=RESTART_S, what="the crash")
                live.publish(quote(SYMBOL, Crashy.marker, Crashy.marker + 1, ts=ts + 2))
                ts += 2
                wait_until(lambda: Crashy.live_at > 0, timeout=RESTART_S, what="live again")
                row = live.host.robots().by_name(NAME)
                assert row["restarts"] == n, row
                results.append(Crashy.live_at - Crashy.failed_at)
                print(
                    f"{events:>9,} events  round {n}: failure to live again "
                    f"{results[-1] * 1000:9.1f} ms",
                    flush=True,
                )
    return {"events": events, "written_s": written, "restored_s": restored, "live_s": results}


def main() -> int:
    parser = cli.base_parser(__doc__)
    parser.add_argument("--events", type=int, default=10_000, help="journaled quotes")
    parser.add_argument("--rounds", type=int, default=3, help="failures per journal")
    parser.add_argument("--million", action="store_true", help="also a 1,000,000-event journal")
    args = parser.parse_args()
    print_machine(machine())
    sizes = [args.events] + ([1_000_000] if args.million else [])
    for events in sizes:
        result = run(events, args.rounds)
        print(
            f"{events:>9,} events: journal written in {result['written_s']:.1f} s, robot "
            f"restored in {result['restored_s'] * 1000:.1f} ms; failure to live again p50 "
            f"{statistics.median(result['live_s']) * 1000:.1f} ms, "
            f"max {max(result['live_s']) * 1000:.1f} ms ({args.rounds} rounds)\n",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    threading.current_thread().name = "bench"
    sys.exit(main())
