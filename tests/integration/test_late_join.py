"""Late joiners learn the session at once: a gateway or a host that starts after the open.

Real sockets throughout: the feed's XPUB answers a late subscription to ``$session``
with the last status it published, and repeats it every so often to everyone; the
host hears each status once however often the feed repeats it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import zmq

from gateways.feed import QuotePublisher
from gateways.order_gateway import OrderGateway
from gateways.paper import PaperConfig, PaperExchange
from gateways.store import OrderState, open_store
from gateways.store.base import OrderStore
from yard_actors import (
    Host,
    NewOrder,
    Robot,
    SessionState,
    SessionStatus,
    Side,
    SystemStatus,
    encode,
    replay,
)
from yard_actors.robot.robot import HandlerResult
from yard_actors.testing import wait_until
from yard_actors.wire.frames import send

T0 = 1_764_241_200_000_000_000  # 2025-11-27T11:00:00Z
OPENED = SessionStatus(ts=T0, session="FORTS", state=SessionState.OPEN)
FEED_OK = SystemStatus(ts=T0, component="feed", status="ok")


class SessionLog(Robot):
    """Notes every session and system status it is told."""

    symbols = ("Si",)

    def on_start(self) -> None:
        self.sessions: list[str] = []
        self.systems: list[str] = []

    def on_session(self, status: SessionStatus) -> HandlerResult:
        self.sessions.append(status.state.value)
        return None

    def on_system(self, status: SystemStatus) -> HandlerResult:
        self.systems.append(status.status)
        return None


class Idling:
    """``publisher.idle(seconds)`` on a thread of its own: the publisher's only thread meanwhile."""

    def __init__(self, publisher: QuotePublisher, seconds: float) -> None:
        self.thread = threading.Thread(target=publisher.idle, args=(seconds,), name="feed-idle")
        self.thread.start()

    def __enter__(self) -> Idling:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.thread.join(timeout=30)
        assert not self.thread.is_alive(), "idle did not return"


@pytest.fixture
def context() -> Iterator[zmq.Context[zmq.Socket[bytes]]]:
    context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    yield context
    context.term()


def test_a_gateway_started_after_the_open_accepts_orders(
    tmp_path: Path, context: zmq.Context[zmq.Socket[bytes]]
) -> None:
    url = f"sqlite:///{tmp_path / 'yard.db'}"
    feed = QuotePublisher(context, f"ipc://{tmp_path}/data", repeat_every=None)
    feed.publish(OPENED)  # before any gateway is there to hear it
    store = open_store(url)
    gateway = OrderGateway(
        store=store,
        exchange=PaperExchange(PaperConfig(require_session=True)),
        orders=f"ipc://{tmp_path}/orders",
        trades=f"ipc://{tmp_path}/trades",
        data=feed.endpoint,
        symbols=["Si"],
        context=context,
    )
    orders = context.socket(zmq.PUSH)
    orders.setsockopt(zmq.LINGER, 0)
    orders.connect(gateway.endpoints["orders"])
    order = NewOrder(
        ts=T0 + 1,
        client_order_id="late-1",
        robot="late",
        symbol="Si",
        side=Side.BUY,
        qty=1,
        price=Decimal(90000),
    )
    try:
        feed.wait_for_subscribers(["$session"])  # the gateway subscribes; the feed answers
        send(orders, b"late", encode(order))
        with open_store(url) as reader:
            wait_until(lambda: _decided(reader, "late-1"), what="the order accepted or rejected")
            record = reader.order("late-1")
    finally:
        orders.close()
        gateway.stop()
        feed.close()
        store.close()

    assert record is not None
    assert (record.state, record.reason) == (OrderState.ACCEPTED, "")


def _decided(store: OrderStore, client_order_id: str) -> bool:
    record = store.order(client_order_id)
    return record is not None and record.state is not OrderState.PENDING


def _sessions(host: Host, robot: str) -> list[str]:
    return list(host.snapshot(robot)["state"]["sessions"])


@pytest.mark.usefixtures("each_runtime")
def test_a_host_started_after_the_open_tells_each_robot_once_however_often_it_is_repeated(
    tmp_path: Path, context: zmq.Context[zmq.Socket[bytes]]
) -> None:
    feed = QuotePublisher(context, f"ipc://{tmp_path}/data", repeat_every=0.1)
    feed.publish(OPENED)
    feed.publish(FEED_OK)
    journal = tmp_path / "journal"
    host = Host(
        data=feed.endpoint,
        orders=f"ipc://{tmp_path}/orders",
        trades=f"ipc://{tmp_path}/trades",
        control=f"ipc://{tmp_path}/control",
        journal_dir=journal,
        context=context,
    )
    try:
        host.add_robot(SessionLog, name="first")
        with Idling(feed, 0.5):  # the answer to the host's subscription, then four repeats
            wait_until(lambda: _sessions(host, "first") == ["open"], what="the open, at once")
        host.wait_idle()
        first_alone = host.snapshot("first")["state"]
        host.add_robot(SessionLog, name="second")  # no new subscription: the repeat tells it
        with Idling(feed, 0.3):
            wait_until(lambda: _sessions(host, "second") == ["open"], what="the open, repeated")
        feed.publish(SessionStatus(ts=T0 + 1, session="FORTS", state=SessionState.CLEARING))
        wait_until(lambda: _sessions(host, "second") == ["open", "clearing"], what="clearing")
        host.wait_idle()
        states = {name: host.snapshot(name)["state"] for name in ("first", "second")}
        repeated = host.intake_stats()["data"].dropped.get("repeated", 0)
    finally:
        host.stop()
        feed.close()

    assert first_alone == {"sessions": ["open"], "systems": ["ok"]}
    for state in states.values():
        assert state == {"sessions": ["open", "clearing"], "systems": ["ok"]}
    assert repeated >= 6  # both statuses, repeated at least three times in 0.5 s
    for name in ("first", "second"):  # the second's repeat is journaled for it alone
        result = replay(journal, name)
        assert result.faithful
        assert result.robot.snapshot()["state"] == states[name]
