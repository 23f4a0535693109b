"""The backtest's order desk keeps the paced gateway's rules (gateways/paced.py), on SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from gateways.paper import PaperConfig, PaperExchange
from gateways.store import open_store
from gateways.store.base import OrderStore
from yard_actors.backtest import OrderDesk
from yard_actors.testing import quote
from yard_actors.wire.codec import encode
from yard_actors.wire.events import Fill, NewOrder, OrderAccepted, Side

TS = 1_764_226_800_000_000_000


def order(cid: str, *, robot: str, ts: int, price: str = "90001") -> NewOrder:
    """A buy of one lot of Si: marketable against the quotes below."""
    return NewOrder(
        ts=ts, client_order_id=cid, robot=robot, symbol="Si", side=Side.BUY, qty=1,
        price=Decimal(price),
    )  # fmt: skip


@pytest.fixture
def store(tmp_path: Path) -> Iterator[OrderStore]:
    with open_store(f"sqlite:///{tmp_path / 'orders.db'}") as store:
        yield store


@pytest.fixture
def desk(store: OrderStore) -> OrderDesk:
    exchange = PaperExchange(PaperConfig(require_session=False))
    return OrderDesk(store, exchange, symbols=["Si"])


def send(desk: OrderDesk, command: NewOrder) -> None:
    desk.take(command.robot, encode(command))


def test_an_order_waits_for_the_release_then_is_stored_and_filled(
    desk: OrderDesk, store: OrderStore
) -> None:
    desk.on_market(quote("Si", 90000, 90001, ts=TS, bid_size=5, ask_size=5))
    send(desk, order("o-1", robot="r", ts=TS))

    before = store.orders(robot="r")
    reports = [record.report for record in desk.release()]

    assert before == []
    assert [type(r) for r in reports] == [OrderAccepted, Fill]
    assert [r.seq for r in reports] == [1, 2]
    assert store.order("o-1") is not None


def test_a_release_applies_the_orders_by_robot_whatever_their_arrival(desk: OrderDesk) -> None:
    desk.on_market(quote("Si", 90000, 90001, ts=TS, bid_size=5, ask_size=1))  # one lot for one
    for robot in ("zed", "amy", "bob"):
        send(desk, order(f"{robot}-1", robot=robot, ts=TS))

    reports = [record.report for record in desk.release()]

    assert [r.client_order_id for r in reports if isinstance(r, Fill)] == ["amy-1"]
    accepted = [r.client_order_id for r in reports if isinstance(r, OrderAccepted)]
    assert accepted == ["amy-1", "bob-1", "zed-1"]


def test_an_order_ahead_of_the_market_waits_for_the_data_that_reaches_its_ts(
    desk: OrderDesk,
) -> None:
    desk.on_market(quote("Si", 90000, 90001, ts=TS, bid_size=5, ask_size=5))
    send(desk, order("ahead", robot="r", ts=TS + 10))

    held = desk.release()
    desk.on_market(quote("Si", 90000, 90001, ts=TS + 10, bid_size=5, ask_size=5))
    applied = [record.report for record in desk.release()]

    assert held == []
    assert desk.waiting == 0
    assert [type(r) for r in applied] == [OrderAccepted, Fill]
    assert applied[1].ts == TS + 10


def test_a_flush_applies_what_waits_whatever_its_ts(desk: OrderDesk) -> None:
    desk.on_market(quote("Si", 90000, 90001, ts=TS, bid_size=5, ask_size=5))
    send(desk, order("late", robot="r", ts=TS + 10))
    assert desk.release() == []

    reports = [record.report for record in desk.release(flush=True)]

    assert [type(r) for r in reports] == [OrderAccepted, Fill]


def test_a_repeated_order_id_is_counted_and_dropped_as_the_gateway_drops_it(
    desk: OrderDesk,
) -> None:
    desk.on_market(quote("Si", 90000, 90001, ts=TS, bid_size=5, ask_size=5))
    send(desk, order("o-1", robot="r", ts=TS))
    desk.release()
    send(desk, order("o-1", robot="r", ts=TS))

    assert desk.release() == []
    assert desk.stats["duplicate_orders"] == 1


def test_a_command_under_another_robots_name_is_dropped_with_its_reason(desk: OrderDesk) -> None:
    desk.take("mallory", encode(order("o-1", robot="r", ts=TS)))

    assert desk.release() == []
    assert desk.stats["dropped_command_topic_mismatch"] == 1


def test_a_command_handed_over_decoded_is_still_checked_against_its_robot(
    desk: OrderDesk,
) -> None:
    command = order("o-1", robot="r", ts=TS)

    desk.take("mallory", encode(command), command)

    assert desk.release() == []
    assert desk.stats["dropped_command_topic_mismatch"] == 1
