"""The order rig with the gateway in a process of its own, as ``yard gateway`` runs it.

The child (:func:`_serve_gateway`) runs a stamped SQLite gateway and paper exchange
on ipc:// endpoints, on the CPUs it is given; this process keeps the feed, the host
and its robot (:func:`process_rig`). They talk over a pipe: the child sends its
endpoints once it is ready, its stats on each ``"stats"``, and on ``"stop"`` it
stops and sends its stamps and final stats. CLOCK_MONOTONIC makes the child's
``perf_counter_ns`` stamps comparable with this process's.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
from collections.abc import Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import zmq
from bench_raw import SYMBOL, TOPIC, Context, Socket, bound, wait_topics
from order_rig import ROBOT, StampedExchange, StampedSQLite, Stamps

from gateways.order_gateway import OrderGateway
from yard_actors import Host, Robot

REPLY_TIMEOUT_S = 30.0


def _serve_gateway(directory: str, data: str, link: Connection, cpus: list[int]) -> None:
    """The child: a stamped gateway over SQLite on ipc:// endpoints, serving ``link``."""
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


class GatewayProcess:
    """This process's handle on the child gateway: start it, ask its stats, stop it.

    ``directory`` holds the store and the ipc:// endpoints; ``data`` is the feed's URL.
    Raises RuntimeError if the child does not answer within ``REPLY_TIMEOUT_S``.
    """

    def __init__(self, directory: str, data: str, cpus: list[int]) -> None:
        spawn = multiprocessing.get_context("spawn")
        self._link, child_link = spawn.Pipe()
        self._process = spawn.Process(
            target=_serve_gateway, args=(directory, data, child_link, cpus)
        )
        self._process.start()
        self._final: dict[str, Any] | None = None
        self.endpoints: dict[str, str] = self._reply("start")

    def _reply(self, doing: str) -> Any:
        if not self._link.poll(REPLY_TIMEOUT_S):
            self._process.kill()
            self._process.join(10.0)
            msg = f"the gateway process did not {doing} within {REPLY_TIMEOUT_S} s"
            raise RuntimeError(msg)
        return self._link.recv()

    def reports_sent(self) -> int:
        """How many reports the gateway has sent so far."""
        self._link.send("stats")
        return int(self._reply("send its stats").get("reports", 0))

    def stop(self) -> dict[str, Any]:
        """Stop the gateway (the first call does); its final ``stats`` and its stamps:
        ``taker_in_ns``, ``fill_ns`` and ``marker_in_ns``."""
        if self._final is None:
            self._link.send("stop")
            self._final = self._reply("stop")
            self._process.join(10.0)
        return self._final


@contextlib.contextmanager
def process_rig(
    directory: str, robot: type[Robot], gateway_cpus: list[int]
) -> Iterator[tuple[Socket, Host, GatewayProcess]]:
    """A feed and a host running ``robot`` here, the gateway in a child on ``gateway_cpus``.

    Yields once the gateway and the host have both subscribed to the feed.
    """
    with contextlib.ExitStack() as stack:
        context: Context = zmq.Context()
        stack.callback(context.term)
        data = f"ipc://{directory}/data"
        feed = bound(context, zmq.XPUB, data)
        stack.callback(feed.close)
        feed.setsockopt(zmq.XPUB_VERBOSE, 1)  # hear each subscriber: gateway and host
        gateway = GatewayProcess(directory, data, gateway_cpus)
        stack.callback(gateway.stop)
        endpoints = gateway.endpoints
        host = Host(
            data=data,
            orders=endpoints["orders"],
            trades=endpoints["trades"],
            recovery=endpoints["recovery"],
            control=f"ipc://{directory}/control",
            journal_dir=Path(directory) / "journal",
            context=context,
        )
        stack.callback(host.stop)
        host.add_robot(robot, name=ROBOT)
        wait_topics(feed, [TOPIC, TOPIC], 10.0)
        yield feed, host, gateway
