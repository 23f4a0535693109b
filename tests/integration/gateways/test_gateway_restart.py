"""A gateway stopped and started again on the same store: no fill lost, no resting order forgotten.

Real parts throughout: an :class:`OrderGateway` with a :class:`PaperExchange`, the
order store in a SQLite file or in MongoDB (nx-27017), a feed, ZeroMQ over
inproc. Commands are pushed at the gateway's orders endpoint as a host's order
link pushes them; what became of them is read back from the store.

Each run is a new paper exchange, which the gateway's constructor has take up
the store's open orders (``ExchangeAdapter.restore``).
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import zmq

from gateways.feed import QuotePublisher
from gateways.order_gateway import OrderGateway
from gateways.paper import PaperConfig, PaperExchange
from gateways.store import OrderState, OrderStore, open_store
from gateways.store.base import Report
from yard_actors.testing import quote, wait_until
from yard_actors.wire.codec import encode
from yard_actors.wire.events import CancelOrder, CancelReply, NewOrder, Side
from yard_actors.wire.frames import send

TS = 1_700_000_000_000_000_000
DAY_NS = 86_400_000_000_000
ACCEPTED, FILLED, CANCELLED = OrderState.ACCEPTED, OrderState.FILLED, OrderState.CANCELLED
_runs = itertools.count(1)


@pytest.fixture(params=["sqlite", "mongo"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'orders.db'}"
    url: str = request.getfixturevalue("mongo_url")
    return url


@pytest.fixture
def context() -> Iterator[zmq.Context[zmq.Socket[bytes]]]:
    opened: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    yield opened
    opened.term()


def paper() -> PaperExchange:
    return PaperExchange(PaperConfig(require_session=False))


class Forgetful(PaperExchange):
    """A paper exchange that restores nothing: it numbers its fills from 1 on every start."""

    def restore(self, store: OrderStore) -> list[Report]:
        return []


class Run:
    """One life of the gateway: the store opened, the exchange restored from it, the gateway up."""

    def __init__(
        self, store_url: str, context: zmq.Context[zmq.Socket[bytes]], exchange: PaperExchange
    ) -> None:
        name = f"inproc://yard-restart-{next(_runs)}"
        self.store = open_store(store_url)
        self.feed = QuotePublisher(context, f"{name}-data")
        self.push = context.socket(zmq.PUSH)
        self.push.setsockopt(zmq.LINGER, 0)
        try:
            self.gateway = OrderGateway(
                store=self.store,
                exchange=exchange,
                orders=f"{name}-orders",
                trades=f"{name}-trades",
                data=self.feed.endpoint,
                symbols=["Si"],
                context=context,
                heartbeat_ms=100,
            )
        except BaseException:
            self._close()
            raise
        self.push.connect(self.gateway.endpoints["orders"])
        self.feed.wait_for_subscribers(["Si"])

    def send(self, command: NewOrder | CancelOrder) -> None:
        send(self.push, command.robot.encode(), encode(command))

    def rest(self, command: NewOrder) -> None:
        """Send an order that the market does not reach yet, and wait for its acceptance."""
        self.send(command)
        self.wait_for(command.client_order_id, ACCEPTED)

    def quote(self, bid: int, ask: int, ts: int) -> None:
        self.feed.publish(quote("Si", bid, ask, ts=ts))

    def wait_for(self, client_order_id: str, state: OrderState) -> None:
        def reached() -> bool:
            record = self.store.order(client_order_id)
            return record is not None and record.state is state

        wait_until(reached, what=f"order {client_order_id} {state.value}")

    def stop(self) -> None:
        """Stop the gateway, then close the feed and the store; idempotent."""
        if not self.push.closed:
            self.gateway.stop()
            self._close()

    def _close(self) -> None:
        self.push.close()
        self.feed.close()
        self.store.close()


@pytest.fixture
def start(store_url: str, context: zmq.Context[zmq.Socket[bytes]]) -> Iterator[Callable[..., Run]]:
    """Start a run of the gateway with ``start()`` (or ``start(exchange)``); all stopped after."""
    runs: list[Run] = []

    def started(exchange: PaperExchange | None = None) -> Run:
        runs.append(Run(store_url, context, paper() if exchange is None else exchange))
        return runs[-1]

    yield started
    for each in runs:
        each.stop()


def buy(client_order_id: str, price: int, *, robot: str = "alpha", ts: int = TS) -> NewOrder:
    return NewOrder(
        ts=ts,
        client_order_id=client_order_id,
        robot=robot,
        symbol="Si",
        side=Side.BUY,
        qty=1,
        price=Decimal(price),
    )


def fills_of(store: OrderStore) -> dict[str, str]:
    """Each stored trade id and the order it filled."""
    return {trade.fill.trade_id: trade.fill.client_order_id for trade in store.trades()}


def test_a_restarted_gateway_fills_orders_old_and_new_and_stores_every_fill(
    start: Callable[..., Run],
) -> None:
    first = start()
    first.rest(buy("b1", 90_000))
    first.quote(89_990, 90_000, ts=TS + 1)
    first.wait_for("b1", FILLED)
    first.rest(buy("b2", 89_000))  # resting when the gateway stops
    first.stop()

    second = start()
    second.rest(buy("b3", 90_000, ts=TS + 2))
    second.quote(89_990, 90_000, ts=TS + 3)
    second.wait_for("b3", FILLED)
    second.quote(88_990, 89_000, ts=TS + 4)
    second.wait_for("b2", FILLED)
    fills = fills_of(second.store)
    seqs = [record.seq for record in second.store.reports("alpha")]

    assert fills == {"P1": "b1", "P2": "b3", "P3": "b2"}  # numbered on after the restart
    assert seqs == list(range(1, 7))  # three acceptances, three fills, no gap
    assert second.gateway.stats["store_refused"] == 0


def test_a_day_2_restart_keeps_every_fill_of_day_1_and_adds_day_2s(
    start: Callable[..., Run], store_url: str
) -> None:
    days = [("alpha", "beta", "alpha"), ("beta", "alpha", "beta")]
    for day, robots in enumerate(days, start=1):
        gateway = start()
        ts = TS + day * DAY_NS
        for n, robot in enumerate(robots):
            gateway.rest(buy(f"d{day}-{n}", 90_000, robot=robot, ts=ts + n))
        gateway.quote(89_990, 90_000, ts=ts + 10)
        for n in range(len(robots)):
            gateway.wait_for(f"d{day}-{n}", FILLED)
        gateway.stop()

    with open_store(store_url) as store:
        fills = fills_of(store)
        orders = store.orders()
        seqs = {robot: [r.seq for r in store.reports(robot)] for robot in ("alpha", "beta")}

    assert sorted(fills.values()) == ["d1-0", "d1-1", "d1-2", "d2-0", "d2-1", "d2-2"]
    assert [(order.state, order.filled_qty) for order in orders] == [(FILLED, 1)] * 6
    assert seqs == {"alpha": list(range(1, 7)), "beta": list(range(1, 7))}


def test_a_cancel_of_an_order_resting_before_a_restart_is_confirmed_after_it(
    start: Callable[..., Run],
) -> None:
    first = start()
    first.rest(buy("b1", 89_000))
    first.stop()

    second = start()
    second.send(CancelOrder(ts=TS + 1, client_order_id="b1", robot="alpha"))
    second.wait_for("b1", CANCELLED)
    last = second.store.reports("alpha")[-1].report

    assert last == CancelReply(
        ts=TS + 1, client_order_id="b1", robot="alpha", cancelled=True, seq=2
    )


def test_a_trade_id_clash_is_logged_and_counted_and_the_gateway_goes_on(
    start: Callable[..., Run], caplog: pytest.LogCaptureFixture
) -> None:
    first = start()
    first.rest(buy("b1", 90_000))
    first.quote(89_990, 90_000, ts=TS + 1)
    first.wait_for("b1", FILLED)
    first.stop()
    second = start(Forgetful(PaperConfig(require_session=False)))  # numbers its fills from 1 again
    caplog.set_level(logging.ERROR, logger="gateways.order_gateway")

    second.rest(buy("b2", 90_000, ts=TS + 2))
    second.quote(89_990, 90_000, ts=TS + 3)  # b2 fills as P1, which b1's fill holds
    wait_until(lambda: second.gateway.stats["store_refused"] == 1, what="the clash counted")
    second.rest(buy("b3", 89_000, ts=TS + 4))  # the gateway goes on
    trades = fills_of(second.store)
    record = second.store.order("b2")

    assert "Trade id P1 is already stored for another fill (order b1 of robot alpha" in caplog.text
    assert trades == {"P1": "b1"}
    assert record is not None
    assert (record.state, record.filled_qty) == (ACCEPTED, 0)  # not filled by b1's trade
