"""The kill switch: how long Host.halt() takes with 100 robots and 1,000 working orders.

One process, real parts throughout: a feed (``QuotePublisher``), an ``OrderGateway`` with
its SQLite store (in a temporary directory) and the paper exchange, and a :class:`Host`
with ``--robots`` robots, each resting ``--orders`` one-lot bids far below the market (so
nothing fills), all over ``inproc://``. Each round:

1. one quote; wait until the store holds ``robots * orders`` working orders and every
   robot knows its orders accepted;
2. ``host.halt()``, timed: every robot gets a journaled ``halt``, cancels its working
   orders, and the call returns once the gateway has answered every cancel (the robots'
   books are empty) or ``--timeout`` passed;
3. the store is checked: no working order left; then every robot is resumed for the next
   round.

Printed per round: the seconds halt() took, its report, and the store's count of working
orders after it. The script exits with status 1 if a round left an order working.

    python benchmarks/bench_halt.py [--robots 100] [--orders 10] [--rounds 3]
"""

from __future__ import annotations

import logging
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import cli
import zmq
from measure import machine, print_machine

from gateways.feed import QuotePublisher
from gateways.order_gateway import OrderGateway
from gateways.paper import PaperConfig, PaperExchange
from gateways.store import SQLiteOrderStore
from yard_actors import Host, Quote, Robot
from yard_actors.robot.robot import HandlerResult
from yard_actors.testing import quote

SYMBOL = "Si"
TS0 = 1_700_000_000_000_000_000
AWAY = Decimal(1_000)  # below the bid: far enough that no order fills
READY_S = 120.0  # for every order to rest before a round's halt


class Rester(Robot):
    """Keeps ``orders`` one-lot bids resting ``AWAY`` and more below the bid."""

    symbols = (SYMBOL,)

    def on_quote(self, quote: Quote) -> HandlerResult:
        wanted = int(self.params.get("orders", 10))
        missing = wanted - len(self.open_orders())
        base = quote.bid - AWAY - len(self.open_orders())
        return [self.buy(SYMBOL, 1, base - n) for n in range(missing)]


def _rested(host: Host, store: SQLiteOrderStore, expected: int) -> bool:
    if len(store.open_orders()) != expected:
        return False
    return all(
        all(o["state"] == "accepted" for o in host.snapshot(row["name"])["open_orders"])
        for row in host.robots()
    )


def _wait(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            msg = f"{what}: not within {timeout} s"
            raise TimeoutError(msg)
        time.sleep(0.05)


def run_round(
    host: Host,
    feed: QuotePublisher,
    store: SQLiteOrderStore,
    *,
    n: int,
    expected: int,
    timeout: float,
) -> dict[str, Any]:
    feed.publish(quote(SYMBOL, 90_000, 90_001, ts=TS0 + n * 1_000_000))
    _wait(lambda: _rested(host, store, expected), READY_S, f"{expected} orders resting")
    start = time.perf_counter()
    report = host.halt(timeout=timeout)
    seconds = time.perf_counter() - start
    left = len(store.open_orders())
    for row in host.robots():
        host.resume(row["name"])
    return {
        "seconds": seconds,
        "cancelled": report.cancelled,
        "robots": report.robots,
        "unconfirmed": report.unconfirmed,
        "working_after": left,
        "report": str(report),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = cli.base_parser(__doc__)
    parser.add_argument("--robots", type=int, default=100)
    parser.add_argument("--orders", type=int, default=10, help="working orders per robot")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=30.0, help="halt()'s wait, seconds")
    cli.add_json(parser)
    args = parser.parse_args(argv)
    print_machine(machine())
    expected = args.robots * args.orders
    results: list[dict[str, Any]] = []
    context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    with tempfile.TemporaryDirectory(prefix="yard-bench-halt-") as scratch:
        directory = Path(scratch)
        store = SQLiteOrderStore(directory / "orders.db")
        feed = QuotePublisher(context, "inproc://bench-halt-data")
        gateway = OrderGateway(
            store=store,
            exchange=PaperExchange(PaperConfig(require_session=False)),
            orders="inproc://bench-halt-orders",
            trades="inproc://bench-halt-trades",
            recovery="inproc://bench-halt-recovery",
            data="inproc://bench-halt-data",
            symbols=[SYMBOL],
            context=context,
        )
        try:
            with Host(
                data="inproc://bench-halt-data",
                orders="inproc://bench-halt-orders",
                trades="inproc://bench-halt-trades",
                recovery="inproc://bench-halt-recovery",
                control="inproc://bench-halt-control",
                journal_dir=directory / "journal",
                context=context,
            ) as host:
                for r in range(args.robots):
                    host.add_robot(Rester, name=f"rest-{r}", params={"orders": args.orders})
                feed.wait_for_subscribers([SYMBOL], count=2)  # the host and the gateway
                for n in range(1, args.rounds + 1):
                    result = run_round(
                        host, feed, store, n=n, expected=expected, timeout=args.timeout
                    )
                    results.append(result)
                    print(
                        f"round {n}: halt() {result['seconds'] * 1000:8.1f} ms; "
                        f"{result['report']}; working orders in the store after: "
                        f"{result['working_after']}",
                        flush=True,
                    )
        finally:
            gateway.stop()
            feed.close()
            store.close()
            context.term()
    times = [r["seconds"] for r in results]
    ok = all(r["working_after"] == 0 and r["cancelled"] == expected for r in results)
    if times:
        print(
            f"\n{args.robots} robots, {expected:,} working orders, {len(times)} rounds: "
            f"halt() p50 {statistics.median(times) * 1000:.1f} ms, "
            f"max {max(times) * 1000:.1f} ms; "
            + ("every order cancelled and confirmed" if ok else "SOME ORDERS LEFT WORKING")
        )
    cli.write_json(args.json, {"machine": machine(), "results": results})
    return 0 if ok else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    logging.basicConfig(level=logging.WARNING)
    threading.current_thread().name = "bench"
    sys.exit(main())
