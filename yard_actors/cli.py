"""The ``yard`` command line.

``yard run`` runs an in-process demo on embedded defaults: a seeded feed of
Si and RTS quotes, the example robots, and a gateway that accepts every order,
all over ``inproc://``, with journals under ``./yard-data/``. ``yard replay``
rebuilds a robot from its journal and says whether the replay was faithful.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import zmq

from yard_actors.errors import YardError
from yard_actors.host import Host
from yard_actors.replay import replay

__all__ = ["main"]

_DEMO_URLS = {
    "data": "inproc://yard-demo-data",
    "orders": "inproc://yard-demo-orders",
    "trades": "inproc://yard-demo-trades",
    "control": "inproc://yard-demo-control",
}
_DEMO_ROBOTS = (
    ("robots.trend:TrendFollower", "trend-si", ("Si",), {"fast": 5, "slow": 20, "qty": 1}),
    ("robots.market_maker:MarketMaker", "mm-si", ("Si",), {"half_spread_ticks": 2}),
    (
        "robots.market_maker:MarketMaker",
        "mm-rts",
        ("RTS",),
        {"half_spread_ticks": 1, "tick_size": "10", "max_position": 3},
    ),
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="yard", description="An actor-model host for algorithmic trading robots."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    parser.add_argument(
        "--cpu",
        type=int,
        action="append",
        metavar="N",
        help="pin this process to CPU N (repeatable); one core halves latency, see BENCHMARKS.md",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    run = commands.add_parser("run", help="run the demo: feed, robots and gateway in one process")
    run.add_argument("--data-dir", default="yard-data", help="where journals go (./yard-data)")
    run.add_argument("--quotes", type=int, default=20_000, help="quotes the demo feed publishes")
    run.add_argument("--seed", type=int, default=7, help="seed of the demo feed's random walk")
    rep = commands.add_parser("replay", help="rebuild a robot from its journal")
    rep.add_argument("journal_dir", help="the host's journal directory")
    rep.add_argument("robot", help="the robot's name")
    rep.add_argument("--snapshot", action="store_true", help="print the rebuilt robot's state")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        if args.cpu:
            _pin(args.cpu)
        if args.command == "run":
            return _run_demo(Path(args.data_dir), args.quotes, args.seed)
        if args.command == "replay":
            return _replay(args.journal_dir, args.robot, show=args.snapshot)
    except YardError as exc:
        print(f"yard: {exc}", file=sys.stderr)
        return 2
    _parser().print_help()
    return 0


def _pin(cpus: list[int]) -> None:
    """Keep the process on ``cpus``: threads that hand work to each other under one GIL
    run faster on one core than across two (measured in BENCHMARKS.md)."""
    try:
        os.sched_setaffinity(0, set(cpus))
    except (OSError, ValueError) as exc:
        msg = f"cannot pin to CPUs {sorted(set(cpus))}: {exc}"
        raise YardError(msg) from exc


def _run_demo(data_dir: Path, quotes: int, seed: int) -> int:
    from gateways.accept_all import AcceptAllGateway  # noqa: PLC0415 - demo-only parts
    from gateways.feed import QuotePublisher, SyntheticQuotes  # noqa: PLC0415

    journal_dir = data_dir / "journal"
    context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    feed = QuotePublisher(context, _DEMO_URLS["data"])
    gateway = AcceptAllGateway(
        context, orders=_DEMO_URLS["orders"], trades=_DEMO_URLS["trades"], data=_DEMO_URLS["data"]
    )
    started = time.perf_counter()
    try:
        with Host(
            data=_DEMO_URLS["data"],
            orders=_DEMO_URLS["orders"],
            trades=_DEMO_URLS["trades"],
            control=_DEMO_URLS["control"],
            context=context,
            journal_dir=journal_dir,
        ) as host:
            for class_path, name, symbols, params in _DEMO_ROBOTS:
                host.add_robot(class_path, name=name, symbols=symbols, params=params)
            feed.wait_for_subscribers(["Si", "RTS"], count=2)  # the host and the gateway
            print(f"yard: publishing {quotes:,} quotes (seed {seed}) to {len(_DEMO_ROBOTS)} robots")
            for quote in SyntheticQuotes(("Si", "RTS"), seed=seed, count=quotes):
                feed.publish(quote)
            _settle(host)
            elapsed = time.perf_counter() - started
            print(host.robots())
            print(
                f"\n{quotes:,} quotes in {elapsed:.2f} s; gateway took {gateway.orders_in:,} "
                f"commands and sent {gateway.fills_out:,} fills"
            )
            print(f"journal: {host.journal_dir}  (try: yard replay {host.journal_dir} trend-si)")
    finally:
        gateway.stop()
        feed.close()
        context.term()
    return 0


def _settle(host: Host, quiet_checks: int = 3) -> None:
    """Wait until no robot's event count moves for a few checks: fills are asynchronous."""
    last: list[int] = []
    still = 0
    while still < quiet_checks:
        host.wait_idle(timeout=30)
        counts = [row["events_in"] for row in host.robots()]
        still = still + 1 if counts == last else 0
        last = counts
        time.sleep(0.05)  # the CLI's own pacing, not a test wait


def _replay(journal_dir: str, robot: str, *, show: bool) -> int:
    result = replay(journal_dir, robot)
    print(
        f"{robot}: {len(result.events):,} events, {len(result.commands):,} commands replayed; "
        + ("faithful" if result.faithful else f"DIVERGED at {result.divergence}")
    )
    if show:
        print(json.dumps(result.robot.snapshot(), indent=2, sort_keys=True))
    return 0 if result.faithful else 1


if __name__ == "__main__":
    sys.exit(main())
