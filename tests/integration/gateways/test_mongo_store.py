"""What only the MongoDB order store has: the change stream, repair after a crash, its errors.

The contract both backends share is tested in test_store.py.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import attrs
import bson.errors
import pymongo.errors
import pytest
from pymongo import MongoClient

from gateways.store import MongoOrderStore, TradeClashError
from gateways.store.mongo import translated
from tests.integration.gateways.store_orders import (
    ACCEPTED,
    CANCELLED,
    FILLED,
    PARTIAL,
    TS,
    new_order,
    working,
)
from yard_actors.errors import StoreError
from yard_actors.testing import accepted, cancelled, filled
from yard_actors.wire.events import OrderRejected
from yard_actors.wire.names import LOST_IN_TRANSIT


@pytest.fixture
def mongo_store(mongo_url: str) -> Iterator[MongoOrderStore]:
    opened = MongoOrderStore(mongo_url)
    yield opened
    opened.close()


# --- the change stream, repair after a crash, and errors ---------------------------------------


def test_watch_fills_delivers_only_the_watched_robots_fills(mongo_store: MongoOrderStore) -> None:
    orders = {
        robot: working(mongo_store, new_order(f"{robot}-1", robot=robot))
        for robot in ("alpha", "beta", "gamma")
    }
    watch = mongo_store.watch_fills(["alpha", "gamma"])
    try:
        for number, robot in enumerate(["alpha", "beta", "gamma", "beta", "alpha"]):
            mongo_store.apply_fill(filled(orders[robot], 1, trade_id=f"t-{number}"))
        delivered = [watch.next(timeout=5) for _ in range(3)]
        nothing_more = watch.next(timeout=0.2)
    finally:
        watch.close()

    assert [(item[0].trade_id, item[0].robot, item[0].seq) for item in delivered if item] == [
        ("t-0", "alpha", 1),
        ("t-2", "gamma", 1),
        ("t-4", "alpha", 2),
    ]
    assert nothing_more is None
    assert delivered[0] is not None
    assert delivered[0][0] == mongo_store.reports("alpha")[0].report


def test_watch_fills_resumed_after_a_token_delivers_exactly_the_fills_missed(
    mongo_store: MongoOrderStore,
) -> None:
    alpha = working(mongo_store, new_order("a-1", robot="alpha"))
    beta = working(mongo_store, new_order("b-1", robot="beta"))
    watch = mongo_store.watch_fills(["alpha"])
    mongo_store.apply_fill(filled(alpha, 1, trade_id="t-1"))
    first = watch.next(timeout=5)
    watch.close()
    assert first is not None
    for trade_id, order in [("t-2", alpha), ("t-3", beta), ("t-4", alpha)]:
        mongo_store.apply_fill(filled(order, 1, trade_id=trade_id))

    with mongo_store.watch_fills(["alpha"], resume_after=first[1]) as resumed:
        missed = [resumed.next(timeout=5) for _ in range(2)]
        nothing_more = resumed.next(timeout=0.2)
        token = resumed.resume_token

    assert [item[0].trade_id for item in missed if item] == ["t-2", "t-4"]
    assert nothing_more is None
    assert token is not None


def test_a_fill_half_written_before_a_crash_is_completed_with_its_seq(
    mongo_store: MongoOrderStore, mongo_url: str
) -> None:
    order = working(mongo_store, new_order(qty=10))
    mongo_store.add_report("alpha", accepted(order))
    fill = filled(order, 4, "100.1", trade_id="t-1")
    client: MongoClient[dict[str, object]] = MongoClient(mongo_url)
    try:  # step 1 of apply_fill done, then the crash: the trade alone, under seq 2
        client.get_default_database()["trades"].insert_one(
            {
                "trade_id": "t-1",
                "name": "alpha",
                "seq": 2,
                "client_order_id": "o-1",
                "symbol": "Si",
                "side": "buy",
                "price": "100.1",
                "qty": 4,
                "fee": "0",
                "ts": fill.ts,
            }
        )
    finally:
        client.close()

    restarted = MongoOrderStore(mongo_url)
    try:
        next_report = restarted.add_report("alpha", cancelled(order, done=False))
        repaired = restarted.repair()
        assert restarted.apply_fill(fill) is None
        record = restarted.order("o-1")
        seqs = [r.seq for r in restarted.reports("alpha")]
    finally:
        restarted.close()

    assert next_report.seq == 3  # not 2: the stranded trade holds it
    assert [(r.seq, r.report) for r in repaired] == [(2, attrs.evolve(fill, seq=2))]
    assert record is not None
    assert (record.filled_qty, record.state) == (4, PARTIAL)
    assert seqs == [1, 2, 3]


def test_a_retried_fill_completes_the_one_a_crash_interrupted(
    mongo_store: MongoOrderStore, mongo_url: str
) -> None:
    order = working(mongo_store, new_order(qty=10))
    fill = filled(order, 4, trade_id="t-1")
    applied = mongo_store.apply_fill(fill)
    assert applied is not None
    client: MongoClient[dict[str, object]] = MongoClient(mongo_url)
    try:  # steps 1 and 2 done, then the crash: the report is lost
        client.get_default_database()["reports"].delete_many({})
    finally:
        client.close()

    again = mongo_store.apply_fill(fill)

    assert again == applied
    assert mongo_store.reports("alpha") == [applied[1]]
    assert mongo_store.apply_fill(fill) is None


def test_a_reopened_store_never_marks_an_order_filled_by_another_fills_trade(
    mongo_store: MongoOrderStore, mongo_url: str
) -> None:
    day_1 = working(mongo_store, new_order("o-1", qty=1))
    mongo_store.apply_fill(filled(day_1, 1, trade_id="P1"))
    mongo_store.close()

    with MongoOrderStore(mongo_url) as day_2:  # as a gateway restarted on the same store
        order = working(day_2, new_order("o-2", qty=1, ts=TS + 1))
        with pytest.raises(TradeClashError, match="Trade id P1 is already stored for another"):
            day_2.apply_fill(filled(order, 1, trade_id="P1"))
        retried = day_2.apply_fill(filled(day_1, 1, trade_id="P1"))
        record = day_2.order("o-2")
        trades = [trade.fill.trade_id for trade in day_2.trades()]
        reports = day_2.reports("alpha")

    assert retried is None  # the same fill again: a no-op
    assert record is not None
    assert (record.state, record.filled_qty) == (ACCEPTED, 0)
    assert trades == ["P1"]
    assert [r.report.client_order_id for r in reports] == ["o-1"]


@pytest.fixture
def raw_client(mongo_url: str) -> Iterator[MongoClient[dict[str, object]]]:
    """A pymongo client on the test's database, for writing behind the store's back."""
    client: MongoClient[dict[str, object]] = MongoClient(mongo_url)
    yield client
    client.close()


def test_a_crash_after_a_batchs_trade_is_repaired_from_the_trades_journal(
    mongo_store: MongoOrderStore, mongo_url: str, raw_client: MongoClient[dict[str, object]]
) -> None:
    orders = raw_client.get_default_database()["orders"]
    order = new_order(qty=10)
    with mongo_store.batch():  # as the gateway handles a NewOrder the exchange fills at once
        assert mongo_store.add_pending(order)
    pending = orders.find_one({"_id": "o-1"})
    fill = filled(order, 4, "100.1", trade_id="t-1")
    with mongo_store.batch():
        mongo_store.transition("o-1", ACCEPTED, ts=TS + 2, exchange_order_id="x-1")
        acceptance = mongo_store.add_report("alpha", accepted(order))
        mongo_store.apply_fill(fill)
    expected = mongo_store.order("o-1")
    mongo_store.close()
    # The crash: of that batch, only the trade (with its journal) was written.
    orders.replace_one({"_id": "o-1"}, pending or {})
    raw_client.get_default_database()["reports"].delete_many({})

    restarted = MongoOrderStore(mongo_url)
    try:
        repaired = restarted.repair()
        record = restarted.order("o-1")
        again = restarted.apply_fill(fill)
    finally:
        restarted.close()

    assert [(r.seq, r.report) for r in repaired] == [
        (1, acceptance.report),
        (2, attrs.evolve(fill, seq=2)),
    ]
    assert record == expected
    assert record is not None
    assert (record.state, record.filled_qty, record.exchange_order_id) == (PARTIAL, 4, "x-1")
    assert again is None


def test_a_crash_after_a_rejected_order_is_inserted_is_repaired_from_its_journal(
    mongo_store: MongoOrderStore, mongo_url: str, raw_client: MongoClient[dict[str, object]]
) -> None:
    orders = raw_client.get_default_database()["orders"]
    order = new_order("o-1")
    with mongo_store.batch():
        assert mongo_store.add_pending(order)
    pending = orders.find_one({"_id": "o-1"})
    lost = OrderRejected(ts=TS + 5, client_order_id="o-2", robot="alpha", reason=LOST_IN_TRANSIT)
    with mongo_store.batch():  # a resolve, as the gateway writes it beside an acceptance
        mongo_store.transition("o-1", ACCEPTED, ts=TS + 2, exchange_order_id="x-1")
        acceptance = mongo_store.add_report("alpha", accepted(order))
        rejection = mongo_store.add_rejected(lost)
    expected = mongo_store.order("o-1")
    mongo_store.close()
    # The crash: of that batch, only the rejected order (with its journal) was written.
    orders.replace_one({"_id": "o-1"}, pending or {})
    raw_client.get_default_database()["reports"].delete_many({})

    restarted = MongoOrderStore(mongo_url)
    try:
        next_report = restarted.add_report("beta", accepted(new_order("b-1", robot="beta")))
        seq_after = restarted.add_report("alpha", cancelled(order, done=False)).seq
        repaired = restarted.repair()
        again = restarted.repair()
        record = restarted.order("o-1")
        repeat = restarted.add_rejected(lost)
        seqs = [r.seq for r in restarted.reports("alpha")]
    finally:
        restarted.close()

    assert rejection is not None
    assert next_report.seq == 1
    assert seq_after == 3  # not a seq the journal holds
    assert [(r.seq, r.report) for r in repaired] == [
        (1, acceptance.report),
        (2, rejection.report),
    ]
    assert again == []
    assert record == expected
    assert repeat is None
    assert seqs == [1, 2, 3]


def test_a_batch_writes_the_orders_and_reports_a_trade_journals_soon_after_it(
    mongo_store: MongoOrderStore, mongo_url: str
) -> None:
    order = working(mongo_store, new_order(qty=5))
    with mongo_store.batch():
        mongo_store.add_report("alpha", accepted(order))
        mongo_store.apply_fill(filled(order, 5, trade_id="t-1"))

    with MongoOrderStore(mongo_url) as reader:  # another process's view: the database
        deadline = time.monotonic() + 5
        while len(reader.reports("alpha")) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        record = reader.order("o-1")
        seqs = [r.seq for r in reader.reports("alpha")]

    assert record is not None
    assert (record.state, record.filled_qty) == (FILLED, 5)
    assert seqs == [1, 2]


def test_a_closed_store_has_written_what_its_batches_left_due(
    mongo_store: MongoOrderStore, mongo_url: str
) -> None:
    order = working(mongo_store, new_order(qty=5))
    with mongo_store.batch():
        mongo_store.add_report("alpha", accepted(order))
        mongo_store.apply_fill(filled(order, 2, trade_id="t-1"))
    written = mongo_store.order("o-1")
    mongo_store.close()

    with MongoOrderStore(mongo_url) as reader:
        assert reader.order("o-1") == written
        assert [r.seq for r in reader.reports("alpha")] == [1, 2]


def test_a_store_refuses_an_order_another_gateway_changed_under_it(
    mongo_store: MongoOrderStore, raw_client: MongoClient[dict[str, object]]
) -> None:
    working(mongo_store, new_order(qty=5))
    orders = raw_client.get_default_database()["orders"]
    orders.update_one({"_id": "o-1"}, {"$inc": {"version": 1}})

    with pytest.raises(StoreError, match=r"Order o-1 changed in .* another gateway writing"):
        mongo_store.transition("o-1", CANCELLED, ts=TS + 3)

    record = mongo_store.order("o-1")  # read again from the database
    assert record is not None
    assert record.state is ACCEPTED


def _foreign_errors() -> list[BaseException]:
    """One instance of every pymongo and bson error class (the classes the store catches)."""
    errors = pymongo.errors
    cause = ValueError("simulated")
    special = {  # the few whose constructor wants a cause or results, not a message
        errors.BulkWriteError: lambda: errors.BulkWriteError({}),
        errors.ClientBulkWriteException: lambda: errors.ClientBulkWriteException({}, False),
        errors.EncryptionError: lambda: errors.EncryptionError(cause),
        errors.EncryptedCollectionError: lambda: errors.EncryptedCollectionError(cause, {}),
    }
    instances: list[BaseException] = []
    for module in (errors, bson.errors):
        for name, kind in vars(module).items():
            # Private names are skipped: _CertificateError is ssl's, which pymongo wraps itself.
            if isinstance(kind, type) and issubclass(kind, BaseException) and name[0] != "_":
                build = special.get(kind, lambda kind=kind: kind("simulated"))
                instances.append(build())
    return instances


@pytest.mark.parametrize("error", _foreign_errors(), ids=lambda error: type(error).__name__)
def test_every_pymongo_and_bson_error_becomes_a_store_error(error: BaseException) -> None:
    expected = "The MongoDB order store db at here could not read: "
    with pytest.raises(StoreError, match=expected) as caught, translated("db at here", "read"):
        raise error

    assert caught.value.__cause__ is error
