"""The order rig: a feed, an order gateway over a SQLite or MongoDB store, a host, a robot.

:mod:`bench_orders` times its cases on this rig. Feed, gateway (with a paper
exchange) and host share one ZeroMQ context in this process, on inproc://
endpoints; MongoDB is a fresh database on an nx-27017 started for the rig (on the
CPUs ``--pin-host`` left free) or on the server at ``--mongo-url``. The exchange
and the stores are stamped: they note when each taking order, marker and fill
reached them, so a case can time each leg of a round trip. :class:`CommandCounter`
counts pymongo's commands by the thread that sent them.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import zmq
from bench_raw import SYMBOL, TOPIC, Context, Socket, bound, endpoint_ids, wait_topics
from measure import exact, free_cpus
from pymongo import monitoring

from gateways.order_gateway import OrderGateway
from gateways.paper import PaperConfig, PaperExchange
from gateways.store import MongoOrderStore, SQLiteOrderStore, open_store
from gateways.store.base import OrderStore, Report, ReportRecord
from yard_actors import Fill, Host, NewOrder, Quote, Robot, Side, encode
from yard_actors.robot.robot import HandlerResult
from yard_actors.testing import quote as build_quote
from yard_actors.testing.mongo import nx_server, scratch_database
from yard_actors.wire.events import CancelReply, TimeInForce

TS = 1_700_000_000_000_000_000
BID, ASK = Decimal(90_000), Decimal(90_001)
MS = 1_000_000
DEPTH = 1_000_000_000  # displayed size: never used up, so every taking order fills at once
MARKER_ABOVE = Decimal(10_000)  # the marker sells this far above the fill: it never fills
ROBOT = "rt"
FLOOD = "flood"
# The bench feed sends no session events, so the exchange must not wait for one; no
# fee either, as when the figures in BENCHMARKS.md were taken.
PAPER = PaperConfig(require_session=False, fee_per_lot=Decimal(0))


def market_payloads(count: int) -> list[bytes]:
    """The same market every 1 ms of market time, so a taking order at it always fills."""
    return [
        exact(encode(build_quote(SYMBOL, BID, ASK, bid_size=DEPTH, ask_size=DEPTH, ts=TS + n * MS)))
        for n in range(1, count + 1)
    ]


def flood_orders(count: int) -> list[bytes]:
    """Encoded marketable buys of one lot, each with its own client_order_id."""
    return [
        exact(
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


# --- the parts under test, stamped ---------------------------------------------------------------


class StampedExchange(PaperExchange):
    """The paper exchange, noting when each taking order and each marker reaches it."""

    def __init__(self) -> None:
        super().__init__(PAPER)
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

    def fill_written(self) -> None:
        self.fill_ns.append(time.perf_counter_ns())

    def reported(self, report: Report) -> None:
        if self.settled is not None and type(report) is CancelReply:
            self.settled.set()


class StampedSQLite(SQLiteOrderStore):
    """The SQLite store, stamping each fill as apply_fill returns and noting each report."""

    def __init__(self, path: Path, stamps: Stamps) -> None:
        super().__init__(path)
        self.stamps = stamps

    def apply_fill(self, fill: Fill) -> Any:
        applied = super().apply_fill(fill)
        self.stamps.fill_written()
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
        self.stamps.fill_written()
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


# --- pymongo's commands --------------------------------------------------------------------------


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


COMMANDS = CommandCounter()  # bench_orders registers it with pymongo before any client exists


# --- the rig -------------------------------------------------------------------------------------


class OrderRig:
    """A feed (XPUB), a gateway with its paper exchange over ``store``, all in one context."""

    def __init__(self, store: OrderStore, exchange: PaperExchange) -> None:
        run = f"{os.getpid()}-{next(endpoint_ids)}"
        self.urls = {k: f"inproc://yard-bench-{run}-{k}" for k in ("data", "silent", "control")}
        self.context: Context = zmq.Context()
        self.store = store
        self.exchange = exchange
        self.feed = bound(self.context, zmq.XPUB, self.urls["data"])
        self.feed.setsockopt(zmq.XPUB_VERBOSE, 1)  # hear each subscriber: gateway and host
        silent = bound(self.context, zmq.PUB, self.urls["silent"])  # trades nobody publishes
        self.sockets: list[Socket] = [self.feed, silent]
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

    def connect_orders(self) -> Socket:
        """A PUSH to the gateway's orders endpoint, closed with the rig."""
        push = self.context.socket(zmq.PUSH)
        self.sockets.append(push)
        push.setsockopt(zmq.LINGER, 0)
        push.setsockopt(zmq.SNDHWM, 0)
        push.connect(self.gateway.endpoints["orders"])
        return push

    def wait_subscribers(self, count: int, timeout: float = 10.0) -> None:
        """Block until ``count`` subscriptions to the symbol reached the feed."""
        wait_topics(self.feed, [TOPIC] * count, timeout)

    def wait_reports(self, count: int, timeout: float) -> bool:
        """Poll (every ms) until the gateway has sent ``count`` reports."""
        return wait_reports(lambda: self.gateway.stats["reports"], count, timeout)

    def close(self) -> None:
        try:
            if self.host is not None:
                self.host.stop()
        finally:
            self.gateway.stop()
            for socket in self.sockets:
                socket.close()
            self.context.term()
            self.store.close()


def gateway_troubles(stats: dict[str, int]) -> dict[str, int]:
    """The gateway's counters that say something went wrong, where they are not zero."""
    bad = ("duplicate_orders", "store_refused", "dropped_", "bad_market_data")
    return {k: v for k, v in stats.items() if k.startswith(bad) and v}


def wait_reports(sent: Callable[[], int], count: int, timeout: float) -> bool:
    """Poll (every ms) until ``sent()`` reaches ``count``; False if ``timeout`` s pass first."""
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
    on an nx-27017 started for this rig on the CPUs this process is not pinned to.
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
            if server is None:
                server = stack.enter_context(nx_server(directory, cpus=free_cpus()))
            url = stack.enter_context(scratch_database(server, "yard_bench"))
            store = open_store(url) if stamps is None else StampedMongo(url, stamps)
        rig = OrderRig(store, exchange)
        stack.callback(rig.close)
        yield rig, url
