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
nothing dropped) and the script exits with status 1 if one did not add up.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import multiprocessing
import os
import signal
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, NoReturn

import attrs
import zmq
from bench_core import (
    Counts,
    _payloads,
    _print_report,
    _run_case,
    machine,
    source_version,
)
from bench_host import latency
from bench_raw import (
    SYMBOL,
    TOPIC,
    Context,
    Socket,
    endpoint_ids,
    percentiles,
    raw_pingpong,
    raw_pykka,
    raw_zmq,
)
from pymongo import monitoring

from gateways.order_gateway import OrderGateway
from gateways.paper import PaperExchange
from gateways.store import MongoOrderStore, OrderState, SQLiteOrderStore, open_store
from gateways.store.base import OrderStore, Report, ReportRecord
from gateways.store.mongo_errors import redacted as _redacted
from yard_actors import Fill, Host, NewOrder, OrderAccepted, Quote, Robot, Side, decode, encode
from yard_actors.robot.robot import HandlerResult
from yard_actors.testing import quote as build_quote
from yard_actors.testing.mongo import nx_server, scratch_database
from yard_actors.wire.events import CancelReply, TimeInForce
from yard_actors.wire.frames import send

TS = 1_700_000_000_000_000_000
BID, ASK = Decimal(90_000), Decimal(90_001)
MS = 1_000_000
DEPTH = 1_000_000_000  # displayed size: never used up, so every taking order fills at once
MARKER_ABOVE = Decimal(10_000)  # the marker sells this far above the fill: it never fills
ROUND_TIMEOUT_S = 15.0
ROBOT = "rt"
FLOOD = "flood"


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


def _exact(payload: bytes) -> bytes:
    return bytes(memoryview(payload))  # an orjson result pins ~4 KB of heap; a copy does not


def _quote_payloads(count: int) -> list[bytes]:
    """The same market every 1 ms of market time, so a taking order at it always fills."""
    return [
        _exact(
            encode(build_quote(SYMBOL, BID, ASK, bid_size=DEPTH, ask_size=DEPTH, ts=TS + n * MS))
        )
        for n in range(1, count + 1)
    ]


# --- the parts under test, stamped ---------------------------------------------------------------


class StampedExchange(PaperExchange):
    """The paper exchange, noting when each taking order and each marker reaches it."""

    def __init__(self) -> None:
        super().__init__()
        self.taker_in_ns: list[int] = []
        self.marker_in_ns: list[int] = []

    def submit(self, order: NewOrder) -> list[Report]:
        now = time.perf_counter_ns()
        (self.marker_in_ns if order.tif is TimeInForce.IOC else self.taker_in_ns).append(now)
        return super().submit(order)


class Stamps:
    """When each fill was written; ``settled`` is set when a marker's cancel is written."""

    def __init__(self, settled: threading.Event | None) -> None:
        self.fill_ns: list[int] = []
        self.settled = settled

    def reported(self, report: Report) -> None:
        if self.settled is not None and type(report) is CancelReply:
            self.settled.set()


class StampedSQLite(SQLiteOrderStore):
    def __init__(self, path: Path, stamps: Stamps) -> None:
        super().__init__(path)
        self.stamps = stamps

    def apply_fill(self, fill: Fill) -> Any:
        applied = super().apply_fill(fill)
        self.stamps.fill_ns.append(time.perf_counter_ns())
        return applied

    def add_report(self, robot: str, report: Report) -> ReportRecord:
        record = super().add_report(robot, report)
        self.stamps.reported(report)
        return record


class StampedMongo(MongoOrderStore):
    """Stamps "fill written" when apply_fill returns (the trade is in; the order and
    the report follow at the batch's end), and settles once a batch that held a
    cancel has written it."""

    def __init__(self, url: str, stamps: Stamps) -> None:
        super().__init__(url)
        self.stamps = stamps
        self._held: list[Report] = []
        self._depth = 0

    def apply_fill(self, fill: Fill) -> Any:
        applied = super().apply_fill(fill)
        self.stamps.fill_ns.append(time.perf_counter_ns())
        return applied

    def add_report(self, robot: str, report: Report) -> ReportRecord:
        record = super().add_report(robot, report)
        self._held.append(report)
        if not self._depth:  # written already
            self._settle()
        return record

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        self._depth += 1
        try:
            with super().batch():
                yield
        finally:
            self._depth -= 1
        if not self._depth:
            self._settle()

    def _settle(self) -> None:
        held, self._held = self._held, []
        for report in held:
            self.stamps.reported(report)


def round_trip_robot(settled: threading.Event | None, *, book_complete: bool) -> type[Robot]:
    """The benchmark robot; it sets ``settled`` when it hears its marker was cancelled.

    ``book_complete`` says every report reaches it (the fast path), so its book must
    be empty whenever a quote comes; on the change-stream path only fills do.
    """

    class RoundTripper(Robot):
        """Takes one lot per quote (buys at the ask when flat, sells at the bid when long,
        so its FIFO lots stay at one); answers that fill with the marker, an IOC sell far
        above the market. Counts any quote that finds an order of its own in flight."""

        symbols = (SYMBOL,)

        def on_start(self) -> None:
            self.quotes = self.takers = self.fills = self.markers = 0
            self.busy_quotes = self.stray_fills = 0
            self._taking: str | None = None

        def on_quote(self, quote: Quote) -> HandlerResult:
            self.quotes += 1
            if self._taking is not None or (book_complete and self.open_orders()):
                self.busy_quotes += 1
                return None
            if self.position(SYMBOL) <= 0:
                order = self.buy(SYMBOL, 1, quote.ask)
            else:
                order = self.sell(SYMBOL, 1, quote.bid)
            self._taking = order.client_order_id
            self.takers += 1
            return order

        def on_fill(self, fill: Fill) -> HandlerResult:
            if fill.client_order_id != self._taking:
                self.stray_fills += 1
                return None
            self._taking = None
            self.fills += 1
            self.markers += 1
            return self.sell(SYMBOL, 1, fill.price + MARKER_ABOVE, TimeInForce.IOC)

        def on_order_update(self, reply: Any) -> HandlerResult:
            if settled is not None and type(reply) is CancelReply and reply.cancelled:
                settled.set()
            return None

    return RoundTripper


# --- nx-27017 and pymongo's commands ------------------------------------------------------------


class CommandCounter(monitoring.CommandListener):
    """pymongo's commands by calling thread and name: how many, and their total µs."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: Counter[tuple[str, str]] = Counter()
        self.micros: Counter[tuple[str, str]] = Counter()

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()
            self.micros.clear()

    def _note(self, name: str, micros: int) -> None:
        thread = threading.current_thread().name
        role = {"yard-order-gateway": "gateway", "yard-fill-watch": "watcher"}.get(thread, "other")
        with self._lock:
            self.calls[role, name] += 1
            self.micros[role, name] += micros

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        pass

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        self._note(event.command_name, event.duration_micros)

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        self._note(f"{event.command_name} (failed)", event.duration_micros)

    def per(self, count: int) -> dict[str, dict[str, float]]:
        """Per order (or round): calls and µs of each role's commands, with a total per role."""
        with self._lock:
            calls, micros = Counter(self.calls), Counter(self.micros)
        table: dict[str, dict[str, float]] = {}
        for (role, name), n in sorted(calls.items()):
            table[f"{role} {name}"] = {
                "calls": n / count,
                "us": micros[role, name] / count,
                "mean_us": micros[role, name] / n,
            }
        for role in sorted({role for role, _ in calls}):
            n = sum(v for (r, _), v in calls.items() if r == role)
            us = sum(v for (r, _), v in micros.items() if r == role)
            table[f"{role} (all)"] = {"calls": n / count, "us": us / count, "mean_us": us / n}
        return table


COMMANDS = CommandCounter()


# --- the rig: a feed, a gateway over a store, and maybe a host ----------------------------------


class OrderRig:
    """A feed (XPUB), a gateway with its paper exchange over ``store``, all in one context."""

    def __init__(self, store: OrderStore, exchange: PaperExchange) -> None:
        run = f"{os.getpid()}-{next(endpoint_ids)}"
        self.urls = {k: f"inproc://yard-bench-{run}-{k}" for k in ("data", "silent", "control")}
        self.context: Context = zmq.Context()
        self.sockets: list[Socket] = []
        self.store = store
        self.exchange = exchange
        self.feed = self._bind(zmq.XPUB, self.urls["data"])
        self.feed.setsockopt(zmq.XPUB_VERBOSE, 1)  # hear each subscriber: gateway and host
        self._bind(zmq.PUB, self.urls["silent"])  # a trades endpoint nobody publishes on
        self.gateway = OrderGateway(
            store=store,
            exchange=exchange,
            orders=f"inproc://yard-bench-{run}-orders",
            trades=f"inproc://yard-bench-{run}-trades",
            recovery=f"inproc://yard-bench-{run}-recovery",
            data=self.urls["data"],
            symbols=[SYMBOL],
            context=self.context,
        )
        self.host: Host | None = None

    def _bind(self, kind: int, url: str) -> Socket:
        bound = self.context.socket(kind)
        bound.setsockopt(zmq.LINGER, 0)
        bound.setsockopt(zmq.SNDHWM, 0)
        self.sockets.append(bound)
        bound.bind(url)
        return bound

    def start_host(self, journal: Path, *, stream_only: str | None) -> Host:
        """A host on the gateway's PUB and recovery, or (``stream_only``: a MongoDB URL)
        on the silent PUB and that store's change stream alone."""
        endpoints = self.gateway.endpoints
        if stream_only is None:
            wiring: dict[str, Any] = {
                "trades": endpoints["trades"],
                "recovery": endpoints["recovery"],
            }
        else:
            wiring = {"trades": self.urls["silent"], "store": stream_only}
        self.host = Host(
            data=self.urls["data"],
            orders=endpoints["orders"],
            control=self.urls["control"],
            journal_dir=journal,
            context=self.context,
            **wiring,
        )
        return self.host

    def wait_subscribers(self, count: int, timeout: float = 10.0) -> None:
        """Block until ``count`` subscriptions to the symbol reached the feed."""
        _wait_subscribers(self.feed, count, timeout)

    def wait_reports(self, count: int, timeout: float) -> bool:
        """Poll (every ms) until the gateway has sent ``count`` reports."""
        return _wait_reports(lambda: self.gateway.stats["reports"], count, timeout)

    def close(self) -> None:
        try:
            if self.host is not None:
                self.host.stop()
        finally:
            self.gateway.stop()
            for bound in self.sockets:
                bound.close()
            self.context.term()
            self.store.close()


def _wait_subscribers(feed: Socket, count: int, timeout: float) -> None:
    seen = 0
    deadline = time.monotonic() + timeout
    while seen < count:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not feed.poll(int(remaining * 1000)):
            msg = f"{seen} of {count} subscribers to {SYMBOL} after {timeout} s"
            raise TimeoutError(msg)
        if feed.recv() == b"\x01" + TOPIC:
            seen += 1


def _wait_reports(sent: Callable[[], int], count: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while sent() < count:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.001)
    return True


@contextlib.contextmanager
def order_rig(
    store_kind: str,
    directory: Path,
    stamps: Stamps | None,
    exchange: PaperExchange,
    mongo: str | None,
) -> Iterator[tuple[OrderRig, str | None]]:
    """A rig over a fresh store; yields it and the store's URL if it is MongoDB.

    MongoDB is a fresh database on the server at ``mongo``, or, if that is None,
    on an nx-27017 started for this rig.
    """
    with contextlib.ExitStack() as stack:
        url: str | None = None
        store: OrderStore
        if store_kind == "sqlite":
            path = directory / "orders.db"
            store = (
                open_store(f"sqlite:///{path}") if stamps is None else StampedSQLite(path, stamps)
            )
        else:
            server = mongo
            if server is None:  # nx-27017 on the CPUs this process is not pinned to
                others = sorted(set(range(os.cpu_count() or 1)) - os.sched_getaffinity(0))
                server = stack.enter_context(nx_server(directory, cpus=others))
            url = stack.enter_context(scratch_database(server, "yard_bench"))
            store = open_store(url) if stamps is None else StampedMongo(url, stamps)
        rig = OrderRig(store, exchange)
        stack.callback(rig.close)
        yield rig, url


# --- the round trip ------------------------------------------------------------------------------


def round_trip(
    store_kind: str, path: str, rounds: int, warmup: int, mongo: str | None = None
) -> dict[str, Any]:
    """Ping-pong quotes through a robot and the gateway; see the module docstring."""
    settled = threading.Event()
    fast = path == "fast"
    stamps = Stamps(None if fast else settled)
    exchange = StampedExchange()
    payloads = _quote_payloads(rounds + warmup)
    quoted: list[int] = []
    problems: list[str] = []
    COMMANDS.reset()
    with (
        tempfile.TemporaryDirectory(prefix="yard-bench-orders-") as tmp,
        order_rig(store_kind, Path(tmp), stamps, exchange, mongo) as (rig, url),
    ):
        host = rig.start_host(Path(tmp) / "journal", stream_only=None if fast else url)
        robot_class = round_trip_robot(settled if fast else None, book_complete=fast)
        host.add_robot(robot_class, name=ROBOT)
        rig.wait_subscribers(2)  # the gateway's market data and the host's
        clock, feed = time.perf_counter_ns, rig.feed
        for n, payload in enumerate(payloads):
            if n == warmup:
                COMMANDS.reset()
            settled.clear()
            quoted.append(clock())
            send(feed, TOPIC, payload)
            if not settled.wait(ROUND_TIMEOUT_S):
                problems.append(f"round {n}: the marker was not final after {ROUND_TIMEOUT_S} s")
                break
        measured = len(quoted) - warmup
        commands = COMMANDS.per(measured) if url is not None and measured > 0 else {}
        if not rig.wait_reports(4 * len(quoted), timeout=10.0):  # accept + fill, accept + cancel
            sent = rig.gateway.stats["reports"]
            problems.append(f"the gateway sent {sent} of {4 * len(quoted)} reports")
        checked = _check_round_trips(
            rig.store, host, dict(rig.gateway.stats), len(quoted), problems
        )
    stamped = (quoted, exchange.taker_in_ns, stamps.fill_ns, exchange.marker_in_ns)
    stages = _stages(*stamped, warmup)
    if stages is None:
        return {"store": store_kind, "path": path, "ok": False, "problems": problems}
    return {
        "store": store_kind,
        "path": path,
        "rounds": stages["round trip: order in -> marker in"]["samples"],
        "warmup": warmup,
        "stages_us": stages,
        "mongo_per_round": commands,
        **checked,
        "ok": not problems,
        "problems": problems,
    }


def _stages(
    quoted: list[int], t_in: list[int], t_fill: list[int], t_out: list[int], warmup: int
) -> dict[str, dict[str, float]] | None:
    """Each leg's percentiles over the rounds after ``warmup`` that have all four stamps."""
    taken = slice(warmup, min(map(len, (quoted, t_in, t_fill, t_out))))
    t_q, t_in, t_fill, t_out = quoted[taken], t_in[taken], t_fill[taken], t_out[taken]
    if not t_out:
        return None
    return {
        "round trip: order in -> marker in": percentiles(_diff(t_out, t_in)),
        "  order in -> fill written": percentiles(_diff(t_fill, t_in)),
        "  fill written -> marker in": percentiles(_diff(t_out, t_fill)),
        "quote -> order in": percentiles(_diff(t_in, t_q)),
        "full loop: quote -> marker in": percentiles(_diff(t_out, t_q)),
    }


# --- the round trip with the gateway in a process of its own ----------------------------------


def _gateway_process(directory: str, data: str, link: Connection, cpus: list[int]) -> None:
    """The child: a stamped gateway over SQLite on ipc:// endpoints, as ``yard gateway`` runs.

    Sends its endpoints once it is ready, its stats on each ``"stats"``, and on
    ``"stop"`` stops and sends its stamps and final stats. CLOCK_MONOTONIC makes
    its ``perf_counter_ns`` stamps comparable with the parent's.
    """
    os.sched_setaffinity(0, cpus)
    stamps, exchange = Stamps(None), StampedExchange()
    store = StampedSQLite(Path(directory) / "orders.db", stamps)
    gateway = OrderGateway(
        store=store,
        exchange=exchange,
        orders=f"ipc://{directory}/orders",
        trades=f"ipc://{directory}/trades",
        recovery=f"ipc://{directory}/recovery",
        data=data,
        symbols=[SYMBOL],
    )
    try:
        link.send(gateway.endpoints)
        while link.recv() == "stats":
            link.send(dict(gateway.stats))
    finally:
        gateway.stop()
        store.close()
    link.send(
        {
            "stats": dict(gateway.stats),
            "taker_in_ns": exchange.taker_in_ns,
            "fill_ns": stamps.fill_ns,
            "marker_in_ns": exchange.marker_in_ns,
        }
    )


def round_trip_process(rounds: int, warmup: int, gateway_cpus: list[int]) -> dict[str, Any]:
    """The SQLite fast-path round trip with the gateway in a child process on ``gateway_cpus``.

    Feed, host and robot stay in this process; the gateway's sockets are ipc://.
    """
    settled = threading.Event()
    payloads = _quote_payloads(rounds + warmup)
    quoted: list[int] = []
    problems: list[str] = []
    spawn = multiprocessing.get_context("spawn")
    with (
        tempfile.TemporaryDirectory(prefix="yard-bench-orders-") as tmp,
        contextlib.ExitStack() as stack,
    ):
        context: Context = zmq.Context()
        stack.callback(context.term)
        feed = context.socket(zmq.XPUB)
        stack.callback(feed.close)
        for option, value in ((zmq.LINGER, 0), (zmq.SNDHWM, 0), (zmq.XPUB_VERBOSE, 1)):
            feed.setsockopt(option, value)
        data = f"ipc://{tmp}/data"
        feed.bind(data)
        link, child_link = spawn.Pipe()
        child = spawn.Process(target=_gateway_process, args=(tmp, data, child_link, gateway_cpus))
        child.start()
        stack.callback(child.join, 10.0)
        if not link.poll(30.0):
            child.kill()
            msg = "the gateway process did not start within 30 s"
            raise RuntimeError(msg)
        endpoints = link.recv()
        stopped: dict[str, Any] = {}

        def stop_child() -> None:
            if not stopped:
                link.send("stop")
                if not link.poll(30.0):
                    child.kill()
                    msg = "the gateway process did not stop within 30 s"
                    raise RuntimeError(msg)
                stopped.update(link.recv())

        stack.callback(stop_child)
        host = Host(
            data=data,
            orders=endpoints["orders"],
            trades=endpoints["trades"],
            recovery=endpoints["recovery"],
            control=f"ipc://{tmp}/control",
            journal_dir=Path(tmp) / "journal",
            context=context,
        )
        stack.callback(host.stop)
        host.add_robot(round_trip_robot(settled, book_complete=True), name=ROBOT)
        _wait_subscribers(feed, 2, 10.0)
        clock = time.perf_counter_ns
        for n, payload in enumerate(payloads):
            settled.clear()
            quoted.append(clock())
            send(feed, TOPIC, payload)
            if not settled.wait(ROUND_TIMEOUT_S):
                problems.append(f"round {n}: the marker was not final after {ROUND_TIMEOUT_S} s")
                break

        def sent() -> int:
            link.send("stats")
            return int(link.recv().get("reports", 0))

        if not _wait_reports(sent, 4 * len(quoted), timeout=10.0):
            problems.append(f"the gateway sent {sent()} of {4 * len(quoted)} reports")
        host.wait_idle()
        stop_child()
        with SQLiteOrderStore(Path(tmp) / "orders.db", checkpoint_interval_s=None) as store:
            checked = _check_round_trips(store, host, stopped["stats"], len(quoted), problems)
    stages = _stages(
        quoted, stopped["taker_in_ns"], stopped["fill_ns"], stopped["marker_in_ns"], warmup
    )
    if stages is None:
        return {"store": "sqlite", "path": "fast", "ok": False, "problems": problems}
    return {
        "store": "sqlite",
        "path": "fast, gateway in its own process",
        "gateway_cpus": gateway_cpus,
        "rounds": stages["round trip: order in -> marker in"]["samples"],
        "warmup": warmup,
        "stages_us": stages,
        **checked,
        "ok": not problems,
        "problems": problems,
    }


def _diff(later: Sequence[int], earlier: Sequence[int]) -> list[int]:
    return [b - a for a, b in zip(earlier, later, strict=True)]


def _check_round_trips(
    store: OrderStore, host: Host, stats: dict[str, int], rounds: int, problems: list[str]
) -> dict[str, Any]:
    """Every taking order accepted and filled, every marker cancelled, nothing dropped."""
    host.wait_idle()
    state = host.snapshot(ROBOT)["state"]
    trades = host.intake_stats()["trades"]
    orders = store.orders(robot=ROBOT)
    by_state = Counter(order.state.value for order in orders)
    expected = {
        "quotes": rounds,
        "takers": rounds,
        "fills": rounds,
        "markers": rounds,
        "busy_quotes": 0,
        "stray_fills": 0,
    }
    for key, value in expected.items():
        if state[key] != value:
            problems.append(f"robot {key} was {state[key]}, expected {value}")
    if (by_state["filled"], by_state["cancelled"], len(orders)) != (rounds, rounds, 2 * rounds):
        problems.append(f"the store holds {dict(by_state)} for {rounds} rounds")
    if len(store.trades(robot=ROBOT)) != rounds:
        problems.append(f"the store holds {len(store.trades(robot=ROBOT))} trades, not {rounds}")
    if stats.get("commands") != 2 * rounds or _gateway_troubles(stats):
        problems.append(f"gateway stats {stats}")
    lost = {k: v for k, v in trades.dropped.items() if k != "duplicate"}
    if lost:
        problems.append(f"the trades intake dropped {lost}")
    return {
        "robot": {key: state[key] for key in expected},
        "store_orders": dict(by_state),
        "gateway_stats": stats,
        "trades_intake": {"delivered": trades.delivered, "dropped": dict(trades.dropped)},
    }


def _gateway_troubles(stats: dict[str, int]) -> dict[str, int]:
    bad = ("duplicate_orders", "store_refused", "dropped_", "bad_market_data")
    return {k: v for k, v in stats.items() if k.startswith(bad) and v}


# --- the gateway's throughput --------------------------------------------------------------------


def _flood_orders(count: int) -> list[bytes]:
    """Encoded marketable buys of one lot, each with its own client_order_id."""
    return [
        _exact(
            encode(
                NewOrder(
                    ts=TS,
                    client_order_id=f"{FLOOD}-{n}",
                    robot=FLOOD,
                    symbol=SYMBOL,
                    side=Side.BUY,
                    qty=1,
                    price=ASK,
                )
            )
        )
        for n in range(count)
    ]


def gateway_throughput(store_kind: str, count: int, mongo: str | None = None) -> dict[str, Any]:
    """Push ``count`` marketable NewOrders at the gateway; time until all are filled."""
    orders = _flood_orders(count + 1)
    prime, flood = orders[0], orders[1:]
    problems: list[str] = []
    COMMANDS.reset()
    with (
        tempfile.TemporaryDirectory(prefix="yard-bench-orders-") as tmp,
        order_rig(store_kind, Path(tmp), None, PaperExchange(), mongo) as (rig, url),
    ):
        rig.wait_subscribers(1)
        send(rig.feed, TOPIC, _quote_payloads(1)[0])
        push = rig.context.socket(zmq.PUSH)
        rig.sockets.append(push)
        push.setsockopt(zmq.LINGER, 0)
        push.setsockopt(zmq.SNDHWM, 0)
        push.connect(rig.gateway.endpoints["orders"])
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
    if stats.get("commands") != count + 1 or _gateway_troubles(stats):
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


def gateway_costs(count: int) -> dict[str, Any]:
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
    trades = context.socket(zmq.PUB)
    trades.bind(f"inproc://yard-bench-costs-{next(endpoint_ids)}")
    exchange = PaperExchange()
    exchange.on_market(build_quote(SYMBOL, BID, ASK, bid_size=DEPTH, ask_size=DEPTH, ts=TS))
    with tempfile.TemporaryDirectory(prefix="yard-bench-orders-") as tmp:
        store = SQLiteOrderStore(Path(tmp) / "orders.db")
        for payload in _flood_orders(count):
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


Case = tuple[str, Callable[[], dict[str, Any]]]


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


def _print_round_trips(results: dict[str, dict[str, Any]]) -> None:
    for name, r in results.items():
        if "stages_us" not in r:
            continue
        title = f"{name} (µs)"
        print(
            f"\n{title:<38}{'n':>7}{'p50':>8}{'p90':>8}{'p99':>8}{'p99.9':>8}{'max':>9}{'mean':>8}"
        )
        for stage, p in r["stages_us"].items():
            print(
                f"{stage:<38}{p['samples']:>7,}{p['p50_us']:>8.0f}{p['p90_us']:>8.0f}"
                f"{p['p99_us']:>8.0f}{p['p999_us']:>8.0f}{p['max_us']:>9.0f}{p['mean_us']:>8.0f}"
            )
        _print_mongo(r.get("mongo_per_round", {}), "per round")


def _print_gateway_steps(results: dict[str, dict[str, Any]]) -> None:
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


def _print_throughput(results: dict[str, dict[str, Any]]) -> None:
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


def _print_checks(results: dict[str, dict[str, Any]]) -> None:
    print()
    for name, r in results.items():
        for problem in r.get("problems", []):
            print(f"FAILED {name}: {problem}")
    if all(r.get("ok", True) for r in results.values()):
        print("checks: every order accepted and filled, every report sent, nothing dropped")


def _gateway_cpus(pinned: int | None) -> list[int]:
    """The gateway process's CPUs: as asked, or those this process is not pinned to."""
    if pinned is not None:
        return [pinned]
    every = set(range(os.cpu_count() or 1))
    return sorted(every - os.sched_getaffinity(0) or every)


def _stop_on_sigterm(signum: int, frame: object) -> NoReturn:
    raise SystemExit(128 + signum)  # so the finally blocks stop nx-27017


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="counts / 4")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every count")
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="PREFIX",
        help="run the cases whose name starts with PREFIX (repeatable)",
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write results as JSON")
    parser.add_argument(
        "--pin-host",
        type=int,
        metavar="CPU",
        help="run this process on one CPU; nx-27017 gets the others",
    )
    parser.add_argument(
        "--pin-gateway",
        type=int,
        metavar="CPU",
        help="run roundtrip/sqlite-process's gateway on this CPU (default: the CPUs "
        "--pin-host left free, or all)",
    )
    parser.add_argument(
        "--mongo-url",
        default=os.environ.get("YARD_MONGO_URL") or None,
        metavar="URL",
        help="a MongoDB server to use (a database per case, dropped after) instead of "
        "starting nx-27017; default $YARD_MONGO_URL",
    )
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    if args.pin_host is not None:
        os.sched_setaffinity(0, {args.pin_host})  # before any thread starts, so all inherit it
    factor = args.scale * (0.25 if args.quick else 1.0)
    core, orders = Counts().scaled(factor), OrderCounts().scaled(factor)
    monitoring.register(COMMANDS)  # before any MongoClient exists
    info = machine()
    info["host_cpus"] = sorted(os.sched_getaffinity(0))
    info["yard"] = source_version()
    info["mongo"] = "nx-27017 per case" if args.mongo_url is None else _redacted(args.mongo_url)
    latency_payloads = _payloads(core.latency_quotes + core.latency_warmup)
    results: dict[str, dict[str, Any]] = {}
    run_started = time.perf_counter()
    cases = _cases(core, orders, latency_payloads, args.mongo_url, _gateway_cpus(args.pin_gateway))
    for name, run in cases:
        if args.only and not any(name.startswith(prefix) for prefix in args.only):
            continue
        print(f"running {name} ...", end=" ", flush=True)
        results[name] = _run_case(run)
        print(f"{results[name]['case_wall_s']:.1f} s", flush=True)
    _print_report(info, results)  # the machine, the raw limits, and each case's CPU
    print(f"\nMongoDB: {info['mongo']}")
    _print_gateway_steps(results)
    _print_round_trips(results)
    _print_throughput(results)
    _print_checks(results)
    print(f"\nrun took {time.perf_counter() - run_started:.0f} s")
    if args.json is not None:
        report = {
            "machine": info,
            "counts": {"core": attrs.asdict(core), "orders": attrs.asdict(orders)},
            "results": results,
        }
        args.json.write_text(json.dumps(report, indent=2, default=str) + "\n")
    return 0 if all(r.get("ok", True) for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
