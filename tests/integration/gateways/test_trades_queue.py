"""A trades subscriber that never reads cannot grow the gateway's memory without bound.

The gateway's ``trades`` PUB queues at most :data:`~gateways.endpoints.TRADES_QUEUE`
reports per subscriber and drops that subscriber's reports beyond (a host that falls
that far behind gets them back by ``$seqs`` and a replay, docs/wire.md 4a). Against a
real ``yard gateway`` process: a SUB of every topic that never reads, while a normal
host sends IOC orders (each an acceptance and a cancel) in rounds and reads its
reports. Once the silent subscriber's queue is full, the gateway's memory grows only by
its own per-order state, and the normal host gets every report. With a queue of a
million the silent subscriber's reports add ~0.35 KB each, without bound.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Final

import pytest
import zmq

from gateways.endpoints import TRADES_QUEUE
from tests.integration.gateways.flood_rig import TS, GatewayProcess
from yard_actors.wire.codec import decode, encode
from yard_actors.wire.events import CancelReply, NewOrder, OrderAccepted, Side, TimeInForce

ROUND: Final = 2_000  # orders sent before their reports are read
FILL_ORDERS: Final = TRADES_QUEUE // 2 + ROUND  # two reports each: then the silent queue is full
MEASURED_ORDERS: Final = 30_000  # 60,000 reports more, timed against the gateway's RSS
# Measured here over the measured phase: +14 MB with the bounded queue (the gateway's own
# per-order state, ~0.5 KB an order), +35 MB with a queue of a million.
RSS_GROWTH_MB: Final = 25.0
ROBOT: Final = "normal"
_ids = itertools.count()


@pytest.fixture
def context() -> Iterator[zmq.Context[zmq.Socket[bytes]]]:
    context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    yield context
    context.destroy(linger=0)


def _order(n: int) -> bytes:
    return encode(
        NewOrder(
            ts=TS + n,
            client_order_id=f"{ROBOT}-{n}",
            robot=ROBOT,
            symbol="Si",
            side=Side.BUY,
            qty=1,
            price=Decimal(100),
            tif=TimeInForce.IOC,  # no market at the paper exchange: accepted, then cancelled
        )
    )


def _trade(push: zmq.Socket[bytes], trades: zmq.Socket[bytes], orders: int) -> set[str]:
    """Send ``orders`` IOC orders a round at a time; the ids each got both reports for."""
    answered: set[str] = set()
    for _ in range(0, orders, ROUND):
        sent = [next(_ids) for _ in range(ROUND)]
        for n in sent:
            push.send_multipart([ROBOT.encode(), _order(n)])
        awaited = {f"{ROBOT}-{n}" for n in sent}
        accepted: set[str] = set()
        while awaited:
            assert trades.poll(20_000), f"no report for 20 s; {len(awaited)} orders unanswered"
            _, payload = trades.recv_multipart()
            report = decode(payload)
            if isinstance(report, OrderAccepted):
                accepted.add(report.client_order_id)
            elif isinstance(report, CancelReply) and report.client_order_id in accepted:
                awaited.discard(report.client_order_id)
                answered.add(report.client_order_id)
    return answered


def test_a_subscriber_that_never_reads_leaves_gateway_memory_flat_and_hosts_served(
    tmp_path: Path, context: zmq.Context[zmq.Socket[bytes]]
) -> None:
    with GatewayProcess(tmp_path / "orders.db", tmp_path) as gateway:
        silent = context.socket(zmq.SUB)  # every robot's reports, never read
        trades = context.socket(zmq.SUB)
        push = context.socket(zmq.PUSH)
        try:
            silent.setsockopt(zmq.RCVHWM, 1)
            silent.setsockopt(zmq.RCVBUF, 4096)
            silent.subscribe(b"")
            silent.connect(gateway.urls["trades"])
            trades.setsockopt(zmq.RCVHWM, 100_000)
            trades.subscribe(ROBOT.encode())
            trades.connect(gateway.urls["trades"])
            push.connect(gateway.urls["orders"])
            while not trades.poll(100):  # the SUB hears nothing before it connects
                push.send_multipart([ROBOT.encode(), _order(next(_ids))])
            while trades.poll(500):
                trades.recv_multipart()

            _trade(push, trades, FILL_ORDERS)
            before = gateway.rss_mb()
            answered = _trade(push, trades, MEASURED_ORDERS)
            after = gateway.rss_mb()
            health = gateway.health()
        finally:
            for socket in (silent, trades, push):
                socket.close(linger=0)

    assert len(answered) == MEASURED_ORDERS
    assert health["reports"] >= 2 * (FILL_ORDERS + MEASURED_ORDERS)
    assert after - before < RSS_GROWTH_MB, (before, after)
