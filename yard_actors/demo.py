"""``yard run`` with no config: a whole trading setup in one process, on embedded defaults.

A seeded feed of Si and RTS quotes, the example robots on one host, the order
gateway with the paper exchange and a SQLite order store, all over ``inproc://``.
Each run gets a directory of its own under ``data_dir`` (``run-0001``, ...) for
its journal and store, so no run overwrites another's and each can be replayed.
"""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path

import zmq

from yard_actors.host import Host

__all__ = ["run_demo"]

_URLS = {
    "data": "inproc://yard-demo-data",
    "orders": "inproc://yard-demo-orders",
    "trades": "inproc://yard-demo-trades",
    "recovery": "inproc://yard-demo-recovery",
    "control": "inproc://yard-demo-control",
}
_ROBOTS = (
    ("robots.trend:TrendFollower", "trend-si", ("Si",), {"fast": 5, "slow": 20, "qty": 1}),
    ("robots.market_maker:MarketMaker", "mm-si", ("Si",), {"half_spread_ticks": 2}),
    (
        "robots.market_maker:MarketMaker",
        "mm-rts",
        ("RTS",),
        {"half_spread_ticks": 1, "tick_size": "10", "max_position": 3},
    ),
)


def _next_run_dir(data_dir: Path) -> Path:
    taken = [int(p.name[4:]) for p in data_dir.glob("run-[0-9][0-9][0-9][0-9]")]
    run_dir = data_dir / f"run-{max(taken, default=0) + 1:04d}"
    run_dir.mkdir(parents=True)
    return run_dir


def run_demo(data_dir: Path, *, quotes: int, seed: int) -> int:
    """Run the demo and print the robots' table; returns the exit code."""
    from gateways.feed import QuotePublisher, SyntheticQuotes  # noqa: PLC0415
    from gateways.order_gateway import OrderGateway  # noqa: PLC0415
    from gateways.paper import PaperConfig, PaperExchange  # noqa: PLC0415
    from gateways.store import open_store  # noqa: PLC0415

    run_dir = _next_run_dir(data_dir)
    store_url = f"sqlite:///{run_dir / 'yard.db'}"
    context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    store = open_store(store_url)
    feed = QuotePublisher(context, _URLS["data"])
    gateway = OrderGateway(
        store=store,
        exchange=PaperExchange(PaperConfig(fee_per_lot=_FEE)),
        orders=_URLS["orders"],
        trades=_URLS["trades"],
        recovery=_URLS["recovery"],
        data=_URLS["data"],
        symbols=("Si", "RTS"),
        context=context,
    )
    started = time.perf_counter()
    try:
        with Host(
            data=_URLS["data"],
            orders=_URLS["orders"],
            trades=_URLS["trades"],
            recovery=_URLS["recovery"],
            control=_URLS["control"],
            journal_dir=run_dir / "journal",
            context=context,
        ) as host:
            for class_path, name, symbols, params in _ROBOTS:
                host.add_robot(class_path, name=name, symbols=symbols, params=params)
            feed.wait_for_subscribers(["Si", "RTS"], count=2)  # the host and the gateway
            print(f"yard: publishing {quotes:,} quotes (seed {seed}) to {len(_ROBOTS)} robots")
            for quote in SyntheticQuotes(("Si", "RTS"), seed=seed, count=quotes):
                feed.publish(quote)
            _settle(host)
            elapsed = time.perf_counter() - started
            print(host.robots())
            orders = len(store.orders())
            fills = len(store.trades())
            print(f"\n{quotes:,} quotes in {elapsed:.2f} s; {orders:,} orders, {fills:,} fills")
            print(f"journal: {host.journal_dir}  store: {store_url}")
            print(f"replay a robot: yard replay {host.journal_dir} trend-si")
    finally:
        gateway.stop()
        feed.close()
        store.close()
        context.term()
    return 0


_FEE = Decimal("0.5")  # per lot, roughly a FORTS exchange fee


def _settle(host: Host, quiet_checks: int = 3) -> None:
    """Wait until no robot's event count moves for a few checks: reports are asynchronous."""
    last: list[int] = []
    still = 0
    while still < quiet_checks:
        host.wait_idle(timeout=30)
        counts = [row["events_in"] for row in host.robots()]
        still = still + 1 if counts == last else 0
        last = counts
        time.sleep(0.05)  # the demo's own pacing, not a test wait
