"""CURVE's cost over loopback tcp: tick-to-command and order round trip, keyed and plain.

One run, both modes, beside the raw limit of the same run::

    python benchmarks/bench_curve.py            # full run
    python benchmarks/bench_curve.py --quick    # counts / 4: a check that it runs
    python benchmarks/bench_curve.py --only curve/ --json out.json

Each mode (``curve``: key pairs made with :func:`yard_actors.net.make_keys` in a
temporary directory, each part its own; ``plain``: no keys, ``allow_insecure_tcp``)
runs, all in this process on ``tcp://127.0.0.1`` ports:

* ``<mode>/raw-pubsub``: a bare PUB → SUB pair bound and connected by
  :mod:`yard_actors.net` (so with CURVE and the ZAP handler in ``curve``): send
  one quote, block until it is read; per-message µs. The floor under the rest.
* ``<mode>/tick-to-command``: a feed (XPUB on ``data``), a :class:`Host` with one
  robot that answers every quote with a limit buy, and a bench gateway (a PULL
  on ``orders``, a PUB on ``trades``): from publishing a quote to its NewOrder
  read at the gateway's PULL.
* ``<mode>/round-trip``: the same host and feed with a real :class:`OrderGateway`
  (SQLite store in a temporary directory, paper exchange with no market, a
  ``recovery`` endpoint where a keyed host registers its robot): the robot
  answers each quote with an IOC buy, which the exchange accepts and cancels at
  once; from publishing the quote to the robot handling the CancelReply
  (tick-to-command, then gateway → store → exchange → store → trades → host →
  journal → robot). One quote at a time, so one order is in flight.

Every case checks its counts; the script exits with status 1 if one did not add up.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import queue
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import attrs
import cli
import zmq
from bench_core import quote_payloads
from bench_raw import TOPIC, Context, Socket, wait_topics
from measure import (
    Case,
    Result,
    all_ok,
    machine,
    percentile_head,
    percentile_row,
    percentiles,
    pin_host,
    print_machine,
    run_cases,
)

from gateways.order_gateway import OrderGateway
from gateways.paper import PaperConfig, PaperExchange
from gateways.store import SQLiteOrderStore
from yard_actors import Host, NewOrder, Quote, Robot, net
from yard_actors.host.backlog import MailboxLimits
from yard_actors.net import FEED, GATEWAY, Security
from yard_actors.robot.robot import HandlerResult
from yard_actors.wire.events import CancelReply, OrderAccepted, OrderRejected, TimeInForce

MODES = ("curve", "plain")
ANY_PORT = "tcp://127.0.0.1:*"
ROBOT = "bench"
HOST = "host"
PAPER = PaperConfig(require_session=False)  # the bench feed sends no session status


@attrs.frozen(kw_only=True)
class Counts:
    raw: int = 20_000
    latency: int = 5_000
    round_trips: int = 2_000
    warmup: int = 200

    def scaled(self, factor: float) -> Counts:
        def n(value: int) -> int:
            return max(1, int(value * factor))

        return Counts(
            raw=n(self.raw),
            latency=n(self.latency),
            round_trips=n(self.round_trips),
            warmup=n(self.warmup),
        )


# --- keys ----------------------------------------------------------------------------------------


@contextlib.contextmanager
def keyring(mode: str) -> Iterator[dict[str, Security]]:
    """Each part's Security: its own key pair in ``curve``, no keys in ``plain``."""
    names = (FEED, GATEWAY, HOST)
    if mode == "plain":
        yield dict.fromkeys(names, Security(allow_insecure_tcp=True))
        return
    with tempfile.TemporaryDirectory(prefix="yard-bench-keys-") as directory:
        net.make_keys(Path(directory), names)
        yield {name: Security.from_keys(directory, name) for name in names}


def _socket(context: Context, kind: int) -> Socket:
    socket = context.socket(kind)
    socket.setsockopt(zmq.LINGER, 0)
    return socket


# --- the raw limit -------------------------------------------------------------------------------


def raw_pubsub(mode: str, payloads: Sequence[bytes], warmup: int) -> Result:
    """One quote at a time from a PUB to a SUB over tcp, keyed as the feed and a host are."""
    with keyring(mode) as security:
        context: Context = zmq.Context()
        pub, sub = _socket(context, zmq.XPUB), _socket(context, zmq.SUB)
        try:
            url = net.bind(pub, ANY_PORT, security[FEED])
            sub.subscribe(TOPIC)
            net.connect(sub, url, security[HOST], server=FEED)
            wait_topics(pub, [TOPIC])
            clock, send, recv = time.perf_counter_ns, pub.send_multipart, sub.recv_multipart
            samples = []
            for payload in payloads:
                started = clock()
                send((TOPIC, payload))
                recv()
                samples.append(clock() - started)
        finally:
            pub.close()
            sub.close()
            context.term()
    result = percentiles(samples[warmup:])
    result["ok"] = len(samples) == len(payloads)
    return result


# --- the robots ----------------------------------------------------------------------------------


class Buyer(Robot):
    """Answers every quote with a limit buy at the bid."""

    symbols = ("Si",)

    def on_quote(self, quote: Quote) -> NewOrder:
        return self.buy(quote.symbol, 1, quote.bid)


def ioc_robot(done: queue.SimpleQueue[int]) -> type[Robot]:
    """A robot that answers each quote with an IOC buy and puts the time its order's
    final report reached it on ``done``."""

    class IocBuyer(Robot):
        symbols = ("Si",)

        def on_quote(self, quote: Quote) -> HandlerResult:
            return self.buy(quote.symbol, 1, quote.bid, tif=TimeInForce.IOC)

        def on_order_update(
            self, reply: OrderAccepted | OrderRejected | CancelReply
        ) -> HandlerResult:
            if not isinstance(reply, OrderAccepted):
                done.put(time.perf_counter_ns())
            return None

    return IocBuyer


# --- the rigs ------------------------------------------------------------------------------------


def _host(context: Context, security: Security, journal: str, urls: dict[str, str | None]) -> Host:
    return Host(
        data=str(urls["data"]),
        orders=str(urls["orders"]),
        trades=str(urls["trades"]),
        recovery=urls.get("recovery"),
        control=ANY_PORT,
        context=context,
        journal_dir=journal,
        security=security,
        # the robot must see every quote: conflation out of reach (bench_host does the same)
        mailbox=MailboxLimits(conflate_at=10**9, overrun_at=10**9 + 1),
    )


def tick_to_command(mode: str, payloads: Sequence[bytes], warmup: int) -> Result:
    """Publish one quote, block until its NewOrder reaches the bench gateway's PULL."""
    with keyring(mode) as security, tempfile.TemporaryDirectory(prefix="yard-bench-") as tmp:
        context: Context = zmq.Context()
        feed, orders = _socket(context, zmq.XPUB), _socket(context, zmq.PULL)
        trades = _socket(context, zmq.XPUB)
        orders.setsockopt(zmq.RCVTIMEO, 10_000)
        host = None
        try:
            urls: dict[str, str | None] = {
                "data": net.bind(feed, ANY_PORT, security[FEED]),
                "orders": net.bind(orders, ANY_PORT, security[GATEWAY]),
                "trades": net.bind(trades, ANY_PORT, security[GATEWAY]),
            }
            host = _host(context, security[HOST], tmp, urls)
            host.add_robot(Buyer, name=ROBOT)
            wait_topics(feed, [TOPIC])
            clock, send, recv = time.perf_counter_ns, feed.send_multipart, orders.recv_multipart
            samples = []
            for payload in payloads:
                started = clock()
                send((TOPIC, payload))
                recv()
                samples.append(clock() - started)
            host.wait_idle()
            commands = host.robots()[0]["commands_out"]
        finally:
            if host is not None:
                host.stop()
            for socket in (feed, orders, trades):
                socket.close()
            context.term()
    result = percentiles(samples[warmup:])
    result["commands"] = commands
    result["ok"] = commands == len(payloads)
    return result


def round_trip(mode: str, payloads: Sequence[bytes], warmup: int) -> Result:
    """Publish one quote, block until the robot handled its IOC order's CancelReply."""
    done: queue.SimpleQueue[int] = queue.SimpleQueue()
    with keyring(mode) as security, tempfile.TemporaryDirectory(prefix="yard-bench-") as tmp:
        context: Context = zmq.Context()
        feed = _socket(context, zmq.XPUB)
        store = SQLiteOrderStore(Path(tmp) / "orders.db")
        gateway = host = None
        try:
            data = net.bind(feed, ANY_PORT, security[FEED])
            gateway = OrderGateway(
                store=store,
                exchange=PaperExchange(PAPER),
                orders=ANY_PORT,
                trades=ANY_PORT,
                recovery=ANY_PORT,
                context=context,
                security=security[GATEWAY],
            )
            urls: dict[str, str | None] = {"data": data, **gateway.endpoints}
            host = _host(context, security[HOST], str(Path(tmp) / "journal"), urls)
            host.add_robot(ioc_robot(done), name=ROBOT)
            wait_topics(feed, [TOPIC])
            time.sleep(0.5)  # the trades subscription: the SUB hears nothing before it is on
            clock, send = time.perf_counter_ns, feed.send_multipart
            samples = []
            for payload in payloads:
                started = clock()
                send((TOPIC, payload))
                samples.append(done.get(timeout=10) - started)
            host.wait_idle()
            row = host.robots()[0]
        finally:
            if host is not None:
                host.stop()
            if gateway is not None:
                gateway.stop()
            store.close()
            feed.close()
            context.term()
    result = percentiles(samples[warmup:])
    result["commands"] = row["commands_out"]
    result["ok"] = row["commands_out"] == len(payloads) == len(samples)
    return result


# --- the report ----------------------------------------------------------------------------------


def _cases(counts: Counts, payloads: Sequence[bytes]) -> list[Case]:
    runs = (
        ("raw-pubsub", raw_pubsub, counts.raw),
        ("tick-to-command", tick_to_command, counts.latency),
        ("round-trip", round_trip, counts.round_trips),
    )
    return [
        (f"{mode}/{case}", functools.partial(run, mode, payloads[:count], counts.warmup))
        for mode in MODES
        for case, run, count in runs
    ]


def print_report(info: dict[str, Any], results: dict[str, Result]) -> None:
    print_machine(info)
    width = 28
    print(f"\nover tcp://127.0.0.1, µs ({'/'.join(MODES)}: CURVE keys / allow_insecure_tcp)")
    print(percentile_head("case", width))
    for name, result in results.items():
        flag = "" if result.get("ok", True) else "  (counts did not add up)"
        print(percentile_row(name, result, width) + flag)
    for case in ("raw-pubsub", "tick-to-command", "round-trip"):
        keyed, plain = results.get(f"curve/{case}"), results.get(f"plain/{case}")
        if keyed and plain:
            extra = keyed["p50_us"] - plain["p50_us"]
            print(f"CURVE adds {extra:+.0f} µs at p50 to {case}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = cli.base_parser(__doc__)
    cli.add_run_options(parser, quick="counts / 4: a check that it runs")
    cli.add_pin_host(parser, rest="nothing else runs")
    args = parser.parse_args(argv)
    # errors only: plain mode warns at every insecure bind and connect, by design
    logging.basicConfig(level=logging.ERROR)
    pin_host(args.pin_host)
    counts = Counts().scaled(cli.count_factor(args))
    payloads = quote_payloads(max(counts.raw, counts.latency, counts.round_trips))
    info = machine()
    results = run_cases(_cases(counts, payloads), args.only)
    print_report(info, results)
    cli.write_json(args.json, {"machine": info, "counts": attrs.asdict(counts), "results": results})
    return 0 if all_ok(results) else 1


if __name__ == "__main__":
    sys.exit(main())
