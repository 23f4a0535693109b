"""Overload: a looping max-speed feed into one host with a slow robot beside a fast one.

A feed in its own process publishes the seeded sample day (quotes and ticks of Si and
RTS) over ``ipc://`` in a loop, as fast as it can, for ``--seconds``. The host (default
runtime: pooled, one worker; journal on) runs ``fast`` (counts) and ``slow`` (takes
``--slow-ms`` per event, sleeping or spinning: ``--how``) on both symbols. First
``--alone-seconds`` with ``fast`` alone, for its wait figures running alone; then
both. Every second it prints the host's RSS, what each robot handled, its backlog,
the quotes conflated for it, ticks withheld, and its wait p50/p99 (µs, from the
intake to handling); at the end, how long ``Host.stop`` took and what it shed.

What to read: RSS flat after the first seconds (bounded: mailbox limits, quotes
conflated, an overrun robot halted); ``fast``'s wait p99 beside ``slow`` close to its
p99 alone (the pool's hand-off monitor gives it a worker while ``slow`` holds one);
``Host.stop`` within a few seconds whatever the backlog.

    python benchmarks/bench_overload.py                    # 60 s, sleeping slow robot
    python benchmarks/bench_overload.py --how spin --seconds 20
    python benchmarks/bench_overload.py --runtime threads  # the same on a thread per robot
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import cli
from measure import machine, rss_kb

from gateways.looping_feed import LoopingFeed
from yard_actors import Host, MailboxLimits, Quote, Robot, Tick

LOOP_EVENTS = 50_000  # the first events of the sample day, published in a loop


class Fast(Robot):
    """Counts its events: a robot that keeps up."""

    symbols = ("Si", "RTS")

    def on_start(self) -> None:
        self.seen = 0

    def on_quote(self, quote: Quote) -> None:
        self.seen += 1

    def on_tick(self, tick: Tick) -> None:
        self.seen += 1


class Slow(Robot):
    """Takes ``ms`` milliseconds over each event, sleeping or spinning (``how``)."""

    symbols = ("Si", "RTS")

    def on_start(self) -> None:
        self.seen = 0

    def on_quote(self, quote: Quote) -> None:
        self._take()

    def on_tick(self, tick: Tick) -> None:
        self._take()

    def _take(self) -> None:
        self.seen += 1
        seconds = float(self.params.get("ms", 5)) / 1000
        if self.params.get("how") == "spin":
            until = time.perf_counter() + seconds
            while time.perf_counter() < until:
                pass
        else:
            time.sleep(seconds)


def row(host: Host, name: str) -> dict[str, Any]:
    return host.robots().by_name(name)


def report(second: float, host: Host, names: list[str]) -> None:
    parts = [f"{second:5.0f} s  rss {rss_kb() / 1024:7.1f} MB"]
    for name in names:
        r = row(host, name)
        parts.append(
            f"{name}: {r['events_in']:>8,} in, backlog {r['backlog']:>6,}, "
            f"conflated {r['conflated']:>8,}, withheld {r['withheld']:>7,}, "
            f"wait p50/p99 {r['wait_p50_us'] or 0:>9,.0f}/{r['wait_p99_us'] or 0:>11,.0f} us"
        )
    print("  ".join(parts), flush=True)


def run_phase(
    args: argparse.Namespace, names: list[str], seconds: float, tmp: Path
) -> dict[str, Any]:
    """Run the feed and a host with ``names`` for ``seconds``; return the fast robot's last row."""
    url = f"ipc://{tmp}/data-{'-'.join(names)}"
    limits = MailboxLimits(conflate_at=args.conflate_at, overrun_at=args.overrun_at)
    with LoopingFeed(url, events=LOOP_EVENTS, symbols=("Si", "RTS")) as feed:
        host = Host(
            data=url,
            orders=f"ipc://{tmp}/orders",
            trades=f"ipc://{tmp}/trades",
            control=f"ipc://{tmp}/control-{'-'.join(names)}",
            journal_dir=tmp / f"journal-{'-'.join(names)}",
            runtime=args.runtime,
            mailbox=limits,
        )
        try:
            if "fast" in names:
                host.add_robot(Fast, name="fast")
            if "slow" in names:
                host.add_robot(Slow, name="slow", params={"ms": args.slow_ms, "how": args.how})
            started = time.monotonic()
            for second in range(1, int(seconds) + 1):
                time.sleep(max(0.0, started + second - time.monotonic()))  # the report's pacing
                report(second, host, names)
            return row(host, "fast")
        finally:
            feed.stop()  # before timing the host's stop, as a feed that ended would be
            began = time.monotonic()
            host.stop()
            print(f"Host.stop took {time.monotonic() - began:.2f} s", flush=True)


def main() -> None:
    parser = cli.base_parser(__doc__)
    parser.add_argument("--seconds", type=float, default=60.0, help="the slow+fast phase")
    parser.add_argument("--alone-seconds", type=float, default=10.0, help="fast alone first")
    parser.add_argument("--slow-ms", type=float, default=5.0, help="the slow robot, per event")
    parser.add_argument("--how", choices=("sleep", "spin"), default="sleep")
    parser.add_argument("--runtime", choices=("pooled", "threads"), default="pooled")
    parser.add_argument("--conflate-at", type=int, default=MailboxLimits().conflate_at)
    parser.add_argument("--overrun-at", type=int, default=MailboxLimits().overrun_at)
    args = parser.parse_args()
    print(machine(), flush=True)
    with tempfile.TemporaryDirectory(prefix="yard-overload-") as directory:
        tmp = Path(directory)
        alone = None
        if args.alone_seconds > 0:
            print(f"--- fast alone, {args.alone_seconds:.0f} s", flush=True)
            alone = run_phase(args, ["fast"], args.alone_seconds, tmp)
        print(f"--- slow ({args.slow_ms} ms, {args.how}) beside fast, {args.seconds:.0f} s")
        beside = run_phase(args, ["fast", "slow"], args.seconds, tmp)
    for label, figures in (("alone", alone), ("beside slow", beside)):
        if figures is not None:
            print(
                f"fast robot's wait {label}: p50 {figures['wait_p50_us'] or 0:,.0f} us, "
                f"p99 {figures['wait_p99_us'] or 0:,.0f} us ({figures['events_in']:,} events)"
            )


if __name__ == "__main__":
    main()
