"""Market time against wall time: events/s of ``yard run``'s all-in-one system on the sample day.

The system is ``yard run``'s own (:class:`~yard_actors.app.running_system.RunningSystem`:
the feed, the order gateway with the paper exchange and a SQLite store in a temporary
directory, one host with the four default robots, over ``inproc://``), publishing the
seeded sample day at full speed, alternately

* ``market``: lockstep (:mod:`yard_actors.app.lockstep`), ``yard run``'s default at full
  speed: each event waits until everything it caused is done;
* ``wall``: ``--clock wall``, the feed publishing as fast as it can while the parts race.

Each run is timed from the first event published to the last robot's last report
handled (the publish plus the system's settle), and the orders and fills it made are
counted; market runs must agree with each other (exit status 1 if they do not: the
lockstep is broken). Runs alternate (market, wall, market, wall, ...) so a machine
getting busier meanwhile costs both alike; the CPU other processes used is printed
per run, and a run on a busy machine is suspect.

    python benchmarks/bench_lockstep.py                    # the whole day, 2 runs of each
    python benchmarks/bench_lockstep.py --limit 20000 --runs 1
    python benchmarks/bench_lockstep.py --json out.json
"""

from __future__ import annotations

import logging
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import cli
from measure import machine, print_machine, timed

from yard_actors.app.config_file import system_settings
from yard_actors.app.running_system import RunningSystem, RunSummary


def one_run(base: Path, n: int, *, market_time: bool, limit: int | None) -> dict[str, Any]:
    """Start the system, publish the day, stop; the figures of that run."""
    run_dir = base / f"run-{n}"
    run_dir.mkdir()
    config = {"journal_dir": str(run_dir / "journal"), "store": f"sqlite:///{run_dir}/yard.db"}
    settings = system_settings(config, source="<bench>")
    with RunningSystem(settings, limit=limit, market_time=market_time) as system:
        system.start()

        def publish_and_settle() -> RunSummary:
            system.publish(speed=None, progress=None)
            return system.stop()

        summary, cpu = timed(publish_and_settle)
    orders = sum(row.orders for row in summary.rows)
    fills = sum(row.fills for row in summary.rows)
    return {
        "clock": "market" if market_time else "wall",
        "events": summary.events,
        "seconds": cpu.wall_s,
        "events_per_s": summary.events / cpu.wall_s,
        "orders": orders,
        "fills": fills,
        "rows": [repr(row) for row in summary.rows],
        "own_cpu_s": cpu.own_s,
        "others_cpu_s": cpu.others_s,
    }


def main(argv: list[str] | None = None) -> int:
    parser = cli.base_parser(__doc__)
    parser.add_argument("--limit", type=int, help="publish only the first N events of the day")
    parser.add_argument("--runs", type=int, default=2, help="runs of each clock (default 2)")
    cli.add_json(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)  # the default risk limits' notice, every run
    info = machine()
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="yard-bench-lockstep-") as tmp:
        for n in range(args.runs * 2):
            run = one_run(Path(tmp), n, market_time=n % 2 == 0, limit=args.limit)
            runs.append(run)
            print(
                f"{run['clock']:>6}: {run['events']:,} events in {run['seconds']:.1f} s: "
                f"{run['events_per_s']:,.0f} events/s; {run['orders']:,} orders, "
                f"{run['fills']:,} fills; CPU: this process {run['own_cpu_s']:.1f} s, "
                f"others {run['others_cpu_s']:.1f} s",
                flush=True,
            )
    rates = {
        clock: statistics.median(r["events_per_s"] for r in runs if r["clock"] == clock)
        for clock in ("market", "wall")
    }
    print(
        f"\nmedian events/s: market {rates['market']:,.0f}, wall {rates['wall']:,.0f} "
        f"(market time costs {1 - rates['market'] / rates['wall']:.0%})"
    )
    repeatable = len({tuple(r["rows"]) for r in runs if r["clock"] == "market"}) == 1
    print(f"market runs the same: {'yes' if repeatable else 'NO'}")
    print_machine(info)
    if args.json is not None:
        cli.write_json(args.json, {"machine": info, "runs": runs, "median_events_per_s": rates})
    return 0 if repeatable else 1


if __name__ == "__main__":
    sys.exit(main())
