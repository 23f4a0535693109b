"""The SQLite store's fast-path parts: add_pending, the checkpointer, lazy batches, payloads."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from gateways.store import OrderState, SQLiteOrderStore
from yard_actors.testing import accepted, filled
from yard_actors.wire.codec import encode
from yard_actors.wire.events import NewOrder, Side

TS = 1_700_000_000_000_000_000


def new_order(client_order_id: str = "o-1") -> NewOrder:
    return NewOrder(
        ts=TS,
        client_order_id=client_order_id,
        robot="alpha",
        symbol="BTCUSDT",
        side=Side.BUY,
        qty=10,
        price=Decimal("100.5"),
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteOrderStore]:
    opened = SQLiteOrderStore(tmp_path / "orders.db", checkpoint_interval_s=0.01)
    yield opened
    opened.close()


def _checkpointer_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "yard-sqlite-checkpoint"]


def test_add_pending_stores_what_add_order_then_pending_stores(tmp_path: Path) -> None:
    with (
        SQLiteOrderStore(tmp_path / "a.db") as two_calls,
        SQLiteOrderStore(tmp_path / "b.db") as one_call,
    ):
        two_calls.add_order(new_order())
        two_calls.transition("o-1", OrderState.PENDING, ts=TS)

        assert one_call.add_pending(new_order())

        assert one_call.order("o-1") == two_calls.order("o-1")
        assert not one_call.add_pending(new_order())


def test_closing_the_store_stops_its_checkpointer_and_removes_the_wal(tmp_path: Path) -> None:
    path = tmp_path / "orders.db"
    store = SQLiteOrderStore(path, checkpoint_interval_s=0.01)
    assert len(_checkpointer_threads()) == 1

    store.add_pending(new_order())
    store.close()
    store.close()

    assert _checkpointer_threads() == []
    assert not Path(f"{path}-wal").exists()


def test_a_store_opened_to_read_has_no_checkpointer(tmp_path: Path) -> None:
    with SQLiteOrderStore(tmp_path / "orders.db", checkpoint_interval_s=None):
        assert _checkpointer_threads() == []


def test_a_batch_that_writes_nothing_opens_no_transaction(store: SQLiteOrderStore) -> None:
    with store.batch():
        assert store.order("o-404") is None
        assert not store._conn().in_transaction

    with store.batch():
        store.add_pending(new_order())
        assert store._conn().in_transaction

    assert not store._conn().in_transaction
    assert store.order("o-1") is not None


def test_reports_carry_the_bytes_the_store_wrote(store: SQLiteOrderStore) -> None:
    order = new_order()
    store.add_pending(order)
    store.transition("o-1", OrderState.ACCEPTED, ts=TS + 1, exchange_order_id="x-1")

    acceptance = store.add_report("alpha", accepted(order))
    applied = store.apply_fill(filled(order, 4, "100.1", trade_id="t-1"))

    assert applied is not None
    for record in (acceptance, applied[1]):
        (stored,) = store.reports("alpha", after_seq=record.seq - 1)[:1]
        assert record.payload == encode(record.report) == encode(stored.report)
