"""A real order gateway and a host's side of its sockets, for tests.

:class:`GatewayWire` connects a PUSH to ``orders``, a SUB (everything) to
``trades`` and a DEALER to ``recovery``, the sockets a host uses, over real
ZeroMQ. It reads reports, the gateway's ``$system`` statuses and its ``$seqs``
heartbeats apart, waiting with timeouts. :class:`GatewayRig` is an
:class:`OrderGateway` on tcp with a feed (XPUB) and a wire, ready to use. Plain tcp
(``allow_insecure_tcp``): these tests are about what the gateway does with what it
gets, and play its peers on raw sockets; tests/integration/test_security.py is about
who gets in.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import orjson
import zmq

from gateways.exchange import ExchangeAdapter
from gateways.order_gateway import OrderGateway
from gateways.paper import PaperConfig, PaperExchange
from gateways.store.base import OrderStore, Report
from yard_actors.net import Security
from yard_actors.testing import quote
from yard_actors.wire.codec import decode, encode
from yard_actors.wire.events import (
    CancelOrder,
    CancelReply,
    Fill,
    NewOrder,
    OrderAccepted,
    OrderRejected,
    Side,
    SystemStatus,
)
from yard_actors.wire.names import RECOVERY_REPLAY, SEQS_TOPIC, SYSTEM_TOPIC

__all__ = ["TS", "GatewayRig", "GatewayWire", "cancel", "order"]

TS = 1_700_000_000_000_000_000
_stamps = itertools.count(1)


def order(
    client_order_id: str, *, robot: str = "r", symbol: str = "Si", price: str = "100"
) -> NewOrder:
    """A buy of one lot, resting (the paper exchange has no quote in these tests)."""
    return NewOrder(
        ts=TS + next(_stamps),
        client_order_id=client_order_id,
        robot=robot,
        symbol=symbol,
        side=Side.BUY,
        qty=1,
        price=Decimal(price),
    )


def cancel(client_order_id: str, *, robot: str = "r") -> CancelOrder:
    return CancelOrder(ts=TS + next(_stamps), client_order_id=client_order_id, robot=robot)


class GatewayWire:
    """Sockets to one gateway's endpoints; :meth:`close` them."""

    def __init__(self, context: zmq.Context[zmq.Socket[bytes]], endpoints: dict[str, str]) -> None:
        self.push = context.socket(zmq.PUSH)
        self.trades = context.socket(zmq.SUB)
        self.recovery = context.socket(zmq.DEALER)
        for socket in (self.push, self.trades, self.recovery):
            socket.setsockopt(zmq.LINGER, 0)
        self.push.connect(endpoints["orders"])
        self.trades.subscribe(b"")
        self.trades.connect(endpoints["trades"])
        if "recovery" in endpoints:
            self.recovery.connect(endpoints["recovery"])
        self.statuses: list[SystemStatus] = []  # each change; the gateway repeats the last
        self.repeated_statuses = 0
        self.last_seqs: dict[str, int] = {}

    def close(self) -> None:
        for socket in (self.push, self.trades, self.recovery):
            socket.close()

    def subscribed(self, timeout: float = 10.0) -> None:
        """Until the SUB hears the gateway (a warm-up order's report or a heartbeat after it).

        A PUB drops what it sends before a subscription reaches it: tests wait here first.
        """
        self.send(order("warm-up", robot="warm-up"))
        self.wait_for(lambda: "warm-up" in self.last_seqs, timeout, "the warm-up heartbeat")

    def send(self, command: NewOrder | CancelOrder) -> None:
        self.push.send_multipart([command.robot.encode(), encode(command)])

    def send_frames(self, frames: list[bytes]) -> None:
        self.push.send_multipart(frames)

    def ask(self, *frames: bytes, timeout: float = 5.0) -> list[bytes]:
        """Send ``frames`` on recovery and return the answer."""
        self.recovery.send_multipart(list(frames))
        assert self.recovery.poll(int(timeout * 1000)), f"no answer to {frames!r}"
        return self.recovery.recv_multipart()

    def replayed(self, robot: str, after_seq: int = 0) -> list[Any]:
        answer = self.ask(RECOVERY_REPLAY, robot.encode(), str(after_seq).encode())
        return [decode(payload) for payload in answer[2:]]

    def replied(self, count: int, timeout: float = 10.0) -> list[Any]:
        """The reports of the next replies on recovery, until there are ``count`` of them."""
        deadline = time.monotonic() + timeout
        found: list[Any] = []
        while len(found) < count:
            left = max(0.0, deadline - time.monotonic())
            assert self.recovery.poll(int(left * 1000)), f"{len(found)} of {count} came: {found}"
            found.extend(decode(payload) for payload in self.recovery.recv_multipart()[2:])
        return found

    def next_report(self, timeout: float = 5.0) -> Report | None:
        """The next report on trades (statuses and heartbeats noted on the way); None if none."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            if not self.trades.poll(int(left * 1000) + 1):
                return None
            topic, payload = self.trades.recv_multipart()
            if topic == SEQS_TOPIC.encode():
                self.last_seqs.update(orjson.loads(payload))
                continue
            event = decode(payload)
            if topic == SYSTEM_TOPIC.encode():
                assert isinstance(event, SystemStatus)
                if self.statuses[-1:] == [event]:
                    self.repeated_statuses += 1  # as a host drops it
                else:
                    self.statuses.append(event)
                continue
            if getattr(event, "robot", None) == "warm-up":
                continue
            assert isinstance(event, OrderAccepted | OrderRejected | CancelReply | Fill), event
            return event
        return None

    def reports(self, count: int, timeout: float = 10.0) -> list[Report]:
        """The next ``count`` reports; fails if they do not all come in ``timeout`` s."""
        deadline = time.monotonic() + timeout
        found: list[Report] = []
        while len(found) < count:
            report = self.next_report(max(0.0, deadline - time.monotonic()))
            assert report is not None, f"{len(found)} of {count} reports came: {found}"
            found.append(report)
        return found

    def quiet(self, seconds: float) -> list[Report]:
        """Every report that comes in the next ``seconds`` (for "nothing more came")."""
        deadline = time.monotonic() + seconds
        found = []
        while (report := self.next_report(max(0.0, deadline - time.monotonic()))) is not None:
            found.append(report)
        return found

    def wait_for(self, condition: Callable[[], bool], timeout: float, what: str) -> None:
        """Read trades (statuses and heartbeats; no report may come) until ``condition``."""
        deadline = time.monotonic() + timeout
        while not condition():
            left = deadline - time.monotonic()
            assert left > 0, f"{what} did not come within {timeout} s"
            report = self.next_report(min(left, 0.05))
            assert report is None, f"{report} came while waiting for {what}"


class GatewayRig:
    """An OrderGateway over ``store`` on tcp, fed by :attr:`feed`, with a :attr:`wire` to it.

    The exchange is the paper exchange needing no session unless one is given;
    ``options`` go to the gateway. Returns once the wire hears the gateway and
    the gateway hears the feed. :meth:`close` stops it and closes its store.
    """

    def __init__(
        self, store: OrderStore, exchange: ExchangeAdapter | None = None, **options: Any
    ) -> None:
        self.context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
        self.feed = self.context.socket(zmq.XPUB)  # hears the gateway subscribe
        self.feed.setsockopt(zmq.LINGER, 0)
        port = self.feed.bind_to_random_port("tcp://127.0.0.1")
        self.gateway = OrderGateway(
            store=store,
            exchange=exchange or PaperExchange(PaperConfig(require_session=False)),
            orders="tcp://127.0.0.1:*",
            trades="tcp://127.0.0.1:*",
            recovery="tcp://127.0.0.1:*",
            data=f"tcp://127.0.0.1:{port}",
            symbols=["Si"],
            context=self.context,
            heartbeat_ms=50,
            **{"security": Security(allow_insecure_tcp=True), **options},
        )
        self.wire = GatewayWire(self.context, self.gateway.endpoints)
        self.wire.subscribed()
        subscription = b""
        while subscription != b"\x01Si":  # the gateway's: from here quotes reach it
            assert self.feed.poll(10_000), "the gateway did not subscribe to Si"
            subscription = self.feed.recv()

    @property
    def store(self) -> OrderStore:
        return self.gateway.store

    def quote(self, bid: int, ask: int) -> None:
        self.feed.send_multipart([b"Si", encode(quote("Si", bid, ask, ts=TS + 10**9))])

    def status(self, state: str, timeout: float = 30.0) -> None:
        """Until the gateway announces ``state`` on trades (no report may come meanwhile)."""
        self.wire.wait_for(
            lambda: any(s.status == state for s in self.wire.statuses), timeout, f"status {state}"
        )

    def close(self) -> None:
        self.wire.close()
        self.feed.close()
        self.gateway.stop()
        self.gateway.store.close()
        self.context.term()
