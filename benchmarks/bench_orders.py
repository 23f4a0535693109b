"""Order-path benchmarks: a robot's order round trip and the gateway's throughput, per store.

Everything runs in one process and one run (the MongoDB wire server, nx-27017,
is a child process started and stopped by each MongoDB case), beside the raw
ZeroMQ and Pykka limits of the same run::

    python benchmarks/bench_orders.py            # full run: ~2.5 min on the 2-core box
    python benchmarks/bench_orders.py --quick    # counts / 4: ~40 s
    python benchmarks/bench_orders.py --json out.json
    python benchmarks/bench_orders.py --only roundtrip/sqlite --only gateway/
    python benchmarks/bench_orders.py --pin-host 0   # this process on CPU 0, nx-27017 elsewhere
    python benchmarks/bench_orders.py --only roundtrip/sqlite-process --pin-host 0 --pin-gateway 1

Cases (``--only`` takes name prefixes):

* ``raw/...`` and ``latency/journal``: bench_core's raw limits and its
  tick-to-command latency (no gateway), for scale.
* ``costs/gateway-sqlite``: the gateway's steps for one marketable order (decode,
  store calls, exchange, commit, publish), each timed alone on this thread.
* ``roundtrip/<store>-<path>``: a feed, an :class:`OrderGateway` over the store
  with a paper exchange, and a :class:`Host` with one robot, all inproc. Each
  quote makes the robot take one lot (marketable: filled at once); the fill
  makes it send a marker, an IOC sell far above the market. The exchange stamps
  the taking order and the marker as they reach it; their difference is the
  round trip (exchange → store → publish or change stream → host intake →
  journal → robot → order link → gateway → store → exchange). The next quote
  goes out only when the marker is final and its cancel written (and, on the
  fast path, handled by the robot), so the robot never has two orders in flight.
  ``sqlite-fast``: SQLite, fills on the gateway's PUB (with recovery).
  ``mongo-stream``: MongoDB, the host's trades endpoint a PUB nobody publishes
  on, so fills come by the change stream alone. ``mongo-fast``: MongoDB, fast path.
  MongoDB cases also count pymongo's commands per round, by calling thread.
* ``roundtrip/sqlite-process``: ``sqlite-fast`` with the gateway (store and paper
  exchange) in a child process, as ``yard gateway`` runs it, on ipc:// endpoints;
  ``--pin-gateway`` puts it on one CPU (default: the CPUs ``--pin-host`` left).
* ``gateway/<store>``: pre-encoded marketable NewOrders pushed straight at the
  gateway's orders endpoint as fast as possible, timed until it has sent an
  acceptance and a fill for each.

Every case checks its counts (each order accepted and filled, each report sent,
nothing dropped) and the script exits with status 1 if one did not add up. The
rig the cases run on is :mod:`order_rig` (and :mod:`order_process` for the gateway
in a child process); this module holds the cases, the command line and the report.
"""

from __future__ import annotations

import itertools
import os
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

import attrs
import cli
import zmq
from bench_core import Counts, print_report, quote_payloads
from bench_host import latency
from bench_raw import SYMBOL, TOPIC, Context, bound, endpoint_ids, raw_pingpong, raw_pykka, raw_zmq
from measure import (
    Case,
    Result,
    all_ok,
    free_cpus,
    machine,
    percentile_head,
    percentile_row,
    percentiles,
    pin_host,
    run_cases,
)
from order_rig import (
    ASK,
    BID,
    COMMANDS,
    DEPTH,
    FLOOD,
    PAPER,
    TS,
    flood_orders,
    gateway_troubles,
    market_payloads,
    order_rig,
)
from order_roundtrip import round_trip, round_trip_process
from pymongo import monitoring

from gateways.paper import PaperExchange
from gateways.store import OrderState, SQLiteOrderStore
from gateways.store.mongo_errors import redacted
from yard_actors import Fill, NewOrder, OrderAccepted, decode
from yard_actors.testing import quote as build_quote
from yard_actors.wire.frames import send


@attrs.frozen(kw_only=True)
class OrderCounts:
    """Rounds and orders per case; ``--quick`` and ``--scale`` shrink or grow them."""

    sqlite_rounds: int = 5_000
    mongo_rounds: int = 2_000
    warmup: int = 200
    sqlite_orders: int = 20_000
    mongo_orders: int = 1_000
    cost_orders: int = 5_000

    def scaled(self, factor: float) -> OrderCounts:
        def n(value: int) -> int:
            return max(50, int(value * factor))

        return OrderCounts(
            sqlite_rounds=n(self.sqlite_rounds),
            mongo_rounds=n(self.mongo_rounds),
            warmup=n(self.warmup),
            sqlite_orders=n(self.sqlite_orders),
            mongo_orders=n(self.mongo_orders),
            cost_orders=n(self.cost_orders),
        )


# --- the gateway's throughput --------------------------------------------------------------------


def gateway_throughput(store_kind: str, count: int, mongo: str | None = None) -> Result:
    """Push ``count`` marketable NewOrders at the gateway; time until all are filled."""
    orders = flood_orders(count + 1)
    prime, flood = orders[0], orders[1:]
    problems: list[str] = []
    COMMANDS.reset()
    with (
        tempfile.TemporaryDirectory(prefix="yard-bench-orders-") as tmp,
        order_rig(store_kind, Path(tmp), None, PaperExchange(PAPER), mongo) as (rig, url),
    ):
        rig.wait_subscribers(1)
        send(rig.feed, TOPIC, market_payloads(1)[0])
        push = rig.connect_orders()
        send(push, FLOOD.encode(), prime)  # its fill says the exchange has the quote
        if not rig.wait_reports(2, timeout=30.0):
            msg = f"the priming order got {rig.gateway.stats['reports']} of 2 reports"
            raise RuntimeError(msg)
        COMMANDS.reset()
        topic, clock = FLOOD.encode(), time.perf_counter_ns
        started = clock()
        for payload in flood:
            send(push, topic, payload)
        pushed = clock()
        finished = rig.wait_reports(2 * (count + 1), timeout=max(60.0, count / 50))
        ended = clock()
        commands = COMMANDS.per(count) if url is not None else {}
        stats = dict(rig.gateway.stats)
        filled = len(rig.store.orders(robot=FLOOD, state=OrderState.FILLED))
        trades = len(rig.store.trades(robot=FLOOD))
    if not finished:
        problems.append(f"the gateway sent {stats.get('reports')} of {2 * (count + 1)} reports")
    if stats.get("commands") != count + 1 or gateway_troubles(stats):
        problems.append(f"gateway stats {stats}")
    if filled != count + 1 or trades != count + 1:
        problems.append(f"the store holds {filled} filled orders, {trades} trades of {count + 1}")
    seconds = (ended - started) / 1e9
    return {
        "store": store_kind,
        "gateway_orders": count,
        "gateway_seconds": seconds,
        "orders_per_s": count / seconds,
        "reports_per_s": 2 * count / seconds,
        "push_per_s": count / ((pushed - started) / 1e9),
        "gateway_stats": stats,
        "store_filled": filled,
        "mongo_per_order": commands,
        "ok": not problems,
        "problems": problems,
    }


def gateway_costs(count: int) -> Result:
    """The gateway's steps for one marketable order, each timed alone on this thread (SQLite).

    The same store calls, in the same order, as :class:`OrderGateway` makes for a
    NewOrder that fills at once, one order per transaction as in the round trip.
    """
    steps: dict[str, list[int]] = {
        name: []
        for name in (
            "begin a batch",
            "decode a NewOrder",
            "store add_pending",
            "paper exchange submit",
            "store accepted + its report",
            "store apply_fill",
            "commit",
            "publish the 2 reports",
            "all of the above",
        )
    }
    bins = list(steps.values())
    clock = time.perf_counter_ns
    context: Context = zmq.Context()
    trades = bound(context, zmq.PUB, f"inproc://yard-bench-costs-{next(endpoint_ids)}")
    exchange = PaperExchange(PAPER)
    exchange.on_market(build_quote(SYMBOL, BID, ASK, bid_size=DEPTH, ask_size=DEPTH, ts=TS))
    with tempfile.TemporaryDirectory(prefix="yard-bench-orders-") as tmp:
        store = SQLiteOrderStore(Path(tmp) / "orders.db")
        for payload in flood_orders(count):
            t0 = clock()
            with store.batch():
                t1 = clock()
                order = decode(payload)
                t2 = clock()
                assert isinstance(order, NewOrder)  # the gateway checks this too
                coid = order.client_order_id
                store.add_pending(order)
                t3 = clock()
                accepted, fill = exchange.submit(order)
                t4 = clock()
                assert isinstance(accepted, OrderAccepted)
                assert isinstance(fill, Fill)
                store.transition(
                    coid, OrderState.ACCEPTED, ts=TS, exchange_order_id=accepted.exchange_order_id
                )
                reports = [store.add_report(FLOOD, accepted)]
                t5 = clock()
                applied = store.apply_fill(fill)
                t6 = clock()
            t7 = clock()
            assert applied is not None
            for record in (*reports, applied[1]):  # as the gateway: the bytes the store wrote
                send(trades, FLOOD.encode(), record.payload)
            t8 = clock()
            stamps = (t0, t1, t2, t3, t4, t5, t6, t7, t8)
            for n, spent in enumerate(b - a for a, b in itertools.pairwise(stamps)):
                bins[n].append(spent)
            bins[-1].append(t8 - t0)
        store.close()
    trades.close()
    context.term()
    return {"gateway_steps_us": {name: percentiles(ns) for name, ns in steps.items()}}


# --- running and printing ----------------------------------------------------------------------


def _cases(
    core: Counts,
    orders: OrderCounts,
    latency_payloads: list[bytes],
    mongo: str | None,
    gateway_cpus: list[int],
) -> list[Case]:
    payload = latency_payloads[0]
    warm = orders.warmup
    return [
        ("raw/zmq-push-pull", lambda: raw_zmq(core.zmq_messages, payload, "push-pull")),
        ("raw/zmq-xpub-sub", lambda: raw_zmq(core.zmq_messages, payload, "xpub-sub")),
        ("raw/pykka-tell", lambda: raw_pykka(core.tells)),
        ("raw/pingpong", lambda: raw_pingpong(core.pingpongs, core.latency_warmup, payload)),
        ("latency/journal", lambda: latency("every-event", latency_payloads, core.latency_warmup)),
        ("costs/gateway-sqlite", lambda: gateway_costs(orders.cost_orders)),
        ("roundtrip/sqlite-fast", lambda: round_trip("sqlite", "fast", orders.sqlite_rounds, warm)),
        (
            "roundtrip/sqlite-process",
            lambda: round_trip_process(orders.sqlite_rounds, warm, gateway_cpus),
        ),
        (
            "roundtrip/mongo-stream",
            lambda: round_trip("mongo", "change-stream", orders.mongo_rounds, warm, mongo),
        ),
        (
            "roundtrip/mongo-fast",
            lambda: round_trip("mongo", "fast", orders.mongo_rounds, warm, mongo),
        ),
        ("gateway/sqlite", lambda: gateway_throughput("sqlite", orders.sqlite_orders)),
        ("gateway/mongo", lambda: gateway_throughput("mongo", orders.mongo_orders, mongo)),
    ]


def _print_round_trips(results: dict[str, Result]) -> None:
    for name, r in results.items():
        if "stages_us" not in r:
            continue
        print("\n" + percentile_head(f"{name} (µs)", 38))
        for stage, p in r["stages_us"].items():
            print(percentile_row(stage, p, 38))
        _print_mongo(r.get("mongo_per_round", {}), "per round")


def _print_gateway_steps(results: dict[str, Result]) -> None:
    for name, r in results.items():
        if "gateway_steps_us" in r:
            print(f"\n{name + ' (µs per order)':<40}{'p50':>8}{'p99':>8}{'max':>9}{'mean':>8}")
            for step, p in r["gateway_steps_us"].items():
                print(
                    f"{step:<40}{p['p50_us']:>8.1f}{p['p99_us']:>8.1f}{p['max_us']:>9.0f}"
                    f"{p['mean_us']:>8.1f}"
                )


def _print_mongo(table: dict[str, dict[str, float]], per: str) -> None:
    if not table:
        return
    print(f"  pymongo commands {per}:{'calls':>18}{'µs':>9}{'µs each':>9}")
    for key, row in table.items():
        print(f"    {key:<36}{row['calls']:>7.2f}{row['us']:>9.0f}{row['mean_us']:>9.0f}")


def _print_throughput(results: dict[str, Result]) -> None:
    found = {k: v for k, v in results.items() if "orders_per_s" in v}
    if found:
        head = f"{'orders':>8}{'s':>7}{'orders/s':>10}{'reports/s':>11}{'pushed/s':>10}"
        print(f"\n{'gateway throughput':<24}{head}")
    for name, r in found.items():
        print(
            f"{name:<24}{r['gateway_orders']:>8,}{r['gateway_seconds']:>7.2f}"
            f"{r['orders_per_s']:>10,.0f}{r['reports_per_s']:>11,.0f}{r['push_per_s']:>10,.0f}"
        )
    for name, r in found.items():
        _print_mongo(r["mongo_per_order"], f"per order ({name})")


def _print_checks(results: dict[str, Result]) -> None:
    print()
    for name, r in results.items():
        for problem in r.get("problems", []):
            print(f"FAILED {name}: {problem}")
    if all_ok(results):
        print("checks: every order accepted and filled, every report sent, nothing dropped")


def _gateway_cpus(pinned: int | None) -> list[int]:
    """The gateway process's CPUs: as asked, or those this process is not pinned to."""
    if pinned is not None:
        return [pinned]
    return free_cpus() or list(range(os.cpu_count() or 1))


def _stop_on_sigterm(signum: int, frame: object) -> NoReturn:
    raise SystemExit(128 + signum)  # so the finally blocks stop nx-27017


def main(argv: Sequence[str] | None = None) -> int:
    parser = cli.base_parser(__doc__)
    cli.add_run_options(parser)
    cli.add_pin_host(parser, rest="nx-27017 gets the others")
    parser.add_argument(
        "--pin-gateway",
        type=int,
        metavar="CPU",
        help="run roundtrip/sqlite-process's gateway on this CPU (default: the CPUs "
        "--pin-host left free, or all)",
    )
    cli.add_mongo_url(parser, per="per case")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    pin_host(args.pin_host)
    factor = cli.count_factor(args)
    core, orders = Counts().scaled(factor), OrderCounts().scaled(factor)
    monitoring.register(COMMANDS)  # before any MongoClient exists
    info = machine()
    info["mongo"] = "nx-27017 per case" if args.mongo_url is None else redacted(args.mongo_url)
    latency_payloads = quote_payloads(core.latency_quotes + core.latency_warmup)
    run_started = time.perf_counter()
    cases = _cases(core, orders, latency_payloads, args.mongo_url, _gateway_cpus(args.pin_gateway))
    results = run_cases(cases, args.only)
    print_report(info, results)  # the machine, the raw limits, and each case's CPU
    print(f"\nMongoDB: {info['mongo']}")
    _print_gateway_steps(results)
    _print_round_trips(results)
    _print_throughput(results)
    _print_checks(results)
    print(f"\nrun took {time.perf_counter() - run_started:.0f} s")
    report = {
        "machine": info,
        "counts": {"core": attrs.asdict(core), "orders": attrs.asdict(orders)},
        "results": results,
    }
    cli.write_json(args.json, report)
    return 0 if all_ok(results) else 1


if __name__ == "__main__":
    sys.exit(main())
