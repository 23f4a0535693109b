"""The order store contract, run against every backend: SQLite on a file, MongoDB on a server.

One suite, parametrised by the ``store`` fixture (conftest.py), then SQLite's batch.
Storing orders rejected on arrival (``add_rejected``, ``add_refused``) is in
test_store_rejected.py; what only MongoDB has (the change stream, repair after
a crash, its errors) in test_mongo_store.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import attrs
import pytest

from gateways.store import (
    OrderRecord,
    OrderState,
    OrderStore,
    SQLiteOrderStore,
    StateChange,
    TradeClashError,
    open_store,
)
from tests.integration.gateways.store_orders import (
    ACCEPTED,
    CANCELLED,
    FILLED,
    NEW,
    PARTIAL,
    PENDING,
    REJECTED,
    TS,
    new_order,
    working,
)
from yard_actors.errors import StoreError, TransitionError
from yard_actors.testing import accepted, cancelled, filled, rejected
from yard_actors.wire.events import NewOrder, OrderAccepted, Side

# --- the lifecycle ----------------------------------------------------------------------------


def test_an_order_goes_from_new_to_filled_with_its_whole_history(store: OrderStore) -> None:
    order = working(store, new_order(qty=10))

    first = store.apply_fill(filled(order, 4, "100.1", ts=TS + 3, trade_id="t-1"))
    last = store.apply_fill(filled(order, 6, "100.2", ts=TS + 4, trade_id="t-2"))

    assert first is not None
    assert last is not None
    assert first[0].state is PARTIAL
    record = store.order("o-1")
    assert record == last[0]
    assert record is not None
    assert record.state is FILLED
    assert (record.filled_qty, record.remaining, record.is_open) == (10, 0, False)
    assert record.filled_value == Decimal("1001.6")
    assert record.exchange_order_id == "x-1"
    assert (record.created_ts, record.updated_ts) == (TS, TS + 4)
    assert record.history == (
        StateChange(ts=TS, state=NEW),
        StateChange(ts=TS + 1, state=PENDING),
        StateChange(ts=TS + 2, state=ACCEPTED),
        StateChange(ts=TS + 3, state=PARTIAL),
        StateChange(ts=TS + 4, state=FILLED),
    )


def test_a_rejected_order_keeps_its_reason(store: OrderStore) -> None:
    order = new_order()
    store.add_order(order)
    store.transition("o-1", PENDING, ts=TS + 1)

    record = store.transition("o-1", REJECTED, ts=TS + 2, reason="risk: position limit")

    assert store.order("o-1") == record
    reason = "risk: position limit"
    assert (record.state, record.reason, record.is_open) == (REJECTED, reason, False)
    assert record.history[-1] == StateChange(ts=TS + 2, state=REJECTED, reason=reason)


def test_an_order_cancelled_after_a_partial_fill_keeps_what_was_filled(store: OrderStore) -> None:
    order = working(store, new_order(qty=10))
    store.apply_fill(filled(order, 3, ts=TS + 3, trade_id="t-1"))

    record = store.transition("o-1", CANCELLED, ts=TS + 4, reason="cancelled by robot")

    assert store.order("o-1") == record
    assert (record.state, record.filled_qty, record.remaining) == (CANCELLED, 3, 7)
    assert [change.state for change in record.history] == [
        NEW,
        PENDING,
        ACCEPTED,
        PARTIAL,
        CANCELLED,
    ]


def test_a_transition_the_table_refuses_raises_and_writes_nothing(store: OrderStore) -> None:
    store.add_order(new_order())
    before = store.order("o-1")

    with pytest.raises(
        TransitionError,
        match="order o-1 cannot go from new to accepted; from new it may go to pending, rejected",
    ):
        store.transition("o-1", ACCEPTED, ts=TS + 1)

    assert store.order("o-1") == before


def test_a_transition_of_an_unknown_order_is_refused(store: OrderStore) -> None:
    with pytest.raises(StoreError, match="Order o-404 is not in the store"):
        store.transition("o-404", PENDING, ts=TS)


@pytest.mark.parametrize("final", [FILLED, CANCELLED])
def test_no_fill_is_taken_after_a_final_state(store: OrderStore, final: OrderState) -> None:
    order = working(store, new_order(qty=10))
    if final is FILLED:
        store.apply_fill(filled(order, 10, trade_id="t-1"))
    else:
        store.transition("o-1", CANCELLED, ts=TS + 3)
    before = (store.order("o-1"), store.trades(), store.reports("alpha"))

    refusal = f"fill t-2 refused: order o-1 cannot go from {final.value} to "
    with pytest.raises(TransitionError, match=refusal):
        store.apply_fill(filled(order, 1, trade_id="t-2"))

    assert (store.order("o-1"), store.trades(), store.reports("alpha")) == before


def test_a_fill_of_a_rejected_order_is_refused(store: OrderStore) -> None:
    order = new_order()
    store.add_order(order)
    store.transition("o-1", REJECTED, ts=TS + 1, reason="bad symbol")

    with pytest.raises(TransitionError, match="from rejected it may go to nothing"):
        store.apply_fill(filled(order, 1, trade_id="t-1"))

    assert store.trades() == []


def test_a_fill_beyond_the_order_qty_is_refused(store: OrderStore) -> None:
    order = working(store, new_order(qty=10))
    store.apply_fill(filled(order, 7, trade_id="t-1"))
    before = store.order("o-1")

    with pytest.raises(
        TransitionError, match=r"fill t-2 of 4 refused: .* from 7 to 11, past its qty of 10"
    ):
        store.apply_fill(filled(order, 4, trade_id="t-2"))

    assert store.order("o-1") == before
    assert [trade.fill.trade_id for trade in store.trades()] == ["t-1"]


def test_a_fill_naming_another_symbol_than_its_order_is_refused(store: OrderStore) -> None:
    order = working(store, new_order(symbol="Si"))
    fill = attrs.evolve(filled(order, 1, trade_id="t-1"), symbol="RTS")

    with pytest.raises(StoreError, match="Fill t-1 has symbol 'RTS' but its order o-1 has 'Si'"):
        store.apply_fill(fill)

    assert store.trades() == []


def test_a_second_order_with_the_same_id_is_ignored(store: OrderStore) -> None:
    store.add_order(new_order(qty=10))
    original = store.order("o-1")

    assert store.add_order(new_order(qty=99, robot="beta", ts=TS + 5)) is False

    assert store.order("o-1") == original
    assert store.orders(robot="beta") == []


def test_the_same_fill_stored_again_is_a_no_op(store: OrderStore) -> None:
    order = working(store, new_order(qty=10))
    fill = filled(order, 4, trade_id="t-1")
    store.apply_fill(fill)
    again_full = filled(order, 6, trade_id="t-2")
    store.apply_fill(again_full)

    assert store.apply_fill(fill) is None
    assert store.apply_fill(again_full) is None  # not a TransitionError: the order is filled

    record = store.order("o-1")
    assert record is not None
    assert (record.filled_qty, len(record.history)) == (10, 5)
    assert len(store.trades()) == 2
    assert [report.seq for report in store.reports("alpha")] == [1, 2]


_O1_T1 = "order o-1 of robot alpha: buy 4 Si at 100.5, fee 0, ts 1700000000000000000"
_O3_T3 = "order o-3 of robot alpha: buy 10 Si at 100.5, fee 0, ts 1700000000000000000"


@pytest.mark.parametrize(
    ("clashing", "trade_id", "stored"),
    [
        ("o-2", "t-1", _O1_T1),
        ("o-1", "t-1", _O1_T1),
        ("o-3", "t-1", _O1_T1),
        ("o-2", "t-3", _O3_T3),
    ],
    ids=["another-order", "the-same-order", "a-filled-order", "a-filled-orders-trade"],
)
def test_another_fill_under_a_stored_trade_id_is_refused_as_a_clash(
    store: OrderStore, clashing: str, trade_id: str, stored: str
) -> None:
    orders = {n: working(store, new_order(f"o-{n}", qty=10)) for n in (1, 2, 3)}
    store.apply_fill(filled(orders[1], 4, trade_id="t-1"))
    store.apply_fill(filled(orders[3], 10, trade_id="t-3"))
    before = (store.orders(), store.trades(), store.reports("alpha"))
    clash = filled(orders[int(clashing[-1])], 2, "100.1", trade_id=trade_id)

    with pytest.raises(TradeClashError) as caught:
        store.apply_fill(clash)

    assert str(caught.value) == (
        f"Trade id {trade_id} is already stored for another fill ({stored}); this fill "
        f"(order {clashing} of robot alpha: buy 2 Si at 100.1, fee 0, ts {TS}) was not "
        "stored. The exchange gave one trade id to two fills: each fill needs its own (an "
        "exchange restarted on a store numbers its trades after the highest there)"
    )
    assert isinstance(caught.value, StoreError)
    assert (store.orders(), store.trades(), store.reports("alpha")) == before


def test_a_clash_leaves_the_store_writing_on(store: OrderStore) -> None:
    first = working(store, new_order("o-1", qty=10))
    second = working(store, new_order("o-2", qty=10))
    store.apply_fill(filled(first, 4, trade_id="t-1"))
    with pytest.raises(TradeClashError):
        store.apply_fill(filled(second, 2, trade_id="t-1"))

    applied = store.apply_fill(filled(second, 2, trade_id="t-2"))

    assert applied is not None
    assert (applied[0].filled_qty, applied[1].seq) == (2, 2)
    assert [trade.fill.trade_id for trade in store.trades()] == ["t-1", "t-2"]


def test_the_highest_numbered_ids_are_read_from_the_store(store: OrderStore) -> None:
    assert (store.highest_trade_number("P"), store.highest_exchange_order_number("PX")) == (0, 0)
    orders = [working(store, new_order(f"o-{n}", qty=10)) for n in range(3)]
    for n, exchange_order_id in enumerate(["PX9", "PX10", "PX2x"]):
        store.transition(f"o-{n}", PARTIAL, ts=TS + 5, exchange_order_id=exchange_order_id)
    trade_ids = ["P9", "P12", "P1", "PX99", "P7a", "Q99", "P", "p50", "P٣"]
    for trade_id in trade_ids:
        store.apply_fill(filled(orders[0], 1, trade_id=trade_id))

    highest = (
        store.highest_trade_number("P"),
        store.highest_trade_number("Q"),
        store.highest_trade_number("PX"),
        store.highest_exchange_order_number("PX"),
        store.highest_exchange_order_number("P"),
    )

    assert highest == (12, 99, 99, 10, 0)
    # The contract's own definition, reading every trade and order, agrees with the backend's.
    assert OrderStore.highest_trade_number(store, "P") == 12
    assert OrderStore.highest_exchange_order_number(store, "PX") == 10


def test_the_average_price_is_exact(store: OrderStore) -> None:
    order = working(store, new_order(qty=2))
    store.apply_fill(filled(order, 1, "100.1", trade_id="t-1"))
    store.apply_fill(filled(order, 1, "100.2", trade_id="t-2"))

    record = store.order("o-1")

    assert record is not None
    assert str(record.filled_value) == "200.3"
    assert record.avg_price == Decimal("100.15")


def test_a_market_order_is_stored_without_a_price(store: OrderStore) -> None:
    order = NewOrder(
        ts=TS, client_order_id="m-1", robot="alpha", symbol="Si", side=Side.SELL, qty=1
    )
    store.add_order(order)

    record = store.order("m-1")

    assert record is not None
    assert (record.price, record.side, record.tif) == (None, Side.SELL, order.tif)


# --- queries ------------------------------------------------------------------------------


def test_orders_are_found_by_robot_state_and_symbol_oldest_first(store: OrderStore) -> None:
    store.add_order(new_order("o-3", robot="alpha", symbol="Si", ts=TS + 3))
    store.add_order(new_order("o-1", robot="alpha", symbol="RTS", ts=TS + 1))
    store.add_order(new_order("o-2", robot="beta", symbol="Si", ts=TS + 2))
    store.add_order(new_order("o-4", robot="alpha", symbol="Si", ts=TS + 3))
    store.transition("o-1", REJECTED, ts=TS + 5, reason="closed")
    store.transition("o-4", PENDING, ts=TS + 5)

    def ids(records: list[OrderRecord]) -> list[str]:
        return [record.client_order_id for record in records]

    assert ids(store.orders()) == ["o-1", "o-2", "o-3", "o-4"]
    assert ids(store.orders(robot="alpha")) == ["o-1", "o-3", "o-4"]
    assert ids(store.orders(symbol="Si")) == ["o-2", "o-3", "o-4"]
    assert ids(store.orders(state=NEW)) == ["o-2", "o-3"]
    assert ids(store.orders(robot="alpha", state=NEW, symbol="Si")) == ["o-3"]
    assert ids(store.open_orders()) == ["o-2", "o-3", "o-4"]
    assert ids(store.open_orders("alpha")) == ["o-3", "o-4"]
    assert store.orders(robot="nobody") == []
    assert store.order("o-404") is None
    assert [len(record.history) for record in store.orders()] == [2, 1, 1, 2]


def test_trades_are_listed_per_robot_in_seq_order(store: OrderStore) -> None:
    alpha = working(store, new_order("a-1", robot="alpha", qty=10))
    beta = working(store, new_order("b-1", robot="beta", qty=10))
    store.add_report("alpha", accepted(alpha))
    fills = [
        filled(order, 1, trade_id=f"t-{number}")
        for number, order in enumerate([alpha, beta, alpha, beta, alpha], start=1)
    ]
    for fill in fills:
        store.apply_fill(fill)

    alpha_trades = store.trades(robot="alpha")
    every = store.trades()

    assert [(t.fill.trade_id, t.fill.seq) for t in alpha_trades] == [
        ("t-1", 2),
        ("t-3", 3),
        ("t-5", 4),
    ]
    assert all(trade.robot == "alpha" for trade in alpha_trades)
    assert [t.fill.seq for t in store.trades(robot="alpha", since_seq=2)] == [3, 4]
    assert [(t.robot, t.fill.seq) for t in every] == [
        ("alpha", 2),
        ("alpha", 3),
        ("alpha", 4),
        ("beta", 1),
        ("beta", 2),
    ]
    assert [(t.robot, t.fill.seq) for t in store.trades(since_seq=3)] == [("alpha", 4)]
    assert every[0].fill == attrs.evolve(fills[0], seq=2)


def test_reports_are_numbered_from_one_per_robot(store: OrderStore) -> None:
    alpha = working(store, new_order("a-1", robot="alpha", qty=10))
    beta = working(store, new_order("b-1", robot="beta", qty=10))

    records = [
        store.add_report("alpha", accepted(alpha)),
        store.add_report("beta", accepted(beta)),
        store.add_report("alpha", cancelled(alpha, done=False)),
    ]
    applied = store.apply_fill(filled(alpha, 2, trade_id="t-1"))
    assert applied is not None
    records.append(applied[1])
    records.append(store.add_report("beta", rejected(beta, "too late")))

    assert [(r.robot, r.seq, r.report.seq) for r in records] == [
        ("alpha", 1, 1),
        ("beta", 1, 1),
        ("alpha", 2, 2),
        ("alpha", 3, 3),
        ("beta", 2, 2),
    ]
    assert store.reports("alpha") == [records[0], records[2], records[3]]
    assert store.reports("beta") == [records[1], records[4]]
    assert store.reports("alpha", after_seq=2) == [records[3]]
    assert store.reports("nobody") == []
    assert store.last_seqs() == {"alpha": 3, "beta": 2}


def test_a_report_is_refused_under_another_robot_or_as_a_fill(store: OrderStore) -> None:
    order = working(store, new_order(robot="alpha"))

    with pytest.raises(StoreError, match="for robot 'alpha' cannot be stored under robot 'beta'"):
        store.add_report("beta", accepted(order))
    with pytest.raises(StoreError, match="must be stored with apply_fill"):
        store.add_report("alpha", filled(order, 1))

    assert store.last_seqs() == {}


def test_a_reopened_store_continues_the_seqs_without_gaps(store_url: str) -> None:
    with open_store(store_url) as first:
        order = working(first, new_order("o-1", qty=10))
        first.add_report("alpha", accepted(order))
        first.apply_fill(filled(order, 2, trade_id="t-1"))
        first.add_report("beta", accepted(new_order("b-1", robot="beta")))

    with open_store(store_url) as second:
        fill = second.apply_fill(filled(order, 3, trade_id="t-2"))
        report = second.add_report("alpha", cancelled(order))
        cancelled_record = second.transition("o-1", CANCELLED, ts=TS + 9)
        assert second.add_order(new_order("o-1")) is False

        assert fill is not None
        assert (fill[1].seq, report.seq) == (3, 4)
        assert [r.seq for r in second.reports("alpha")] == [1, 2, 3, 4]
        assert second.last_seqs() == {"alpha": 4, "beta": 1}
        assert (cancelled_record.filled_qty, len(cancelled_record.history)) == (5, 6)
        assert second.apply_fill(filled(order, 2, trade_id="t-1")) is None


def test_a_closed_store_refuses_calls_and_closes_again_quietly(store: OrderStore) -> None:
    store.close()

    store.close()
    with pytest.raises(StoreError, match="is closed; open a new one"):
        store.order("o-1")


# --- open_store -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["postgres://db/yard", "sqlite://orders.db", "sqlite:///", "orders.db", ""]
)
def test_open_store_refuses_a_url_it_does_not_understand(url: str) -> None:
    with pytest.raises(StoreError, match=r"is not one yard understands; use sqlite:///relative"):
        open_store(url)


def test_open_store_takes_a_relative_sqlite_path_and_creates_its_directories(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    with open_store("sqlite:///yard-data/day/orders.db") as store:
        store.add_order(new_order())

    assert isinstance(store, SQLiteOrderStore)
    assert (tmp_path / "yard-data" / "day" / "orders.db").exists()


def test_open_store_gives_a_private_store_in_memory() -> None:
    with open_store("sqlite:///:memory:") as store:
        store.add_order(new_order())

        assert [record.client_order_id for record in store.open_orders()] == ["o-1"]


def test_a_sqlite_file_that_cannot_be_opened_raises_a_store_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")

    with pytest.raises(StoreError, match="cannot be opened"):
        open_store(f"sqlite:///{tmp_path / 'file' / 'orders.db'}")


def test_a_mongodb_server_that_does_not_answer_raises_a_store_error() -> None:
    url = "mongodb://127.0.0.1:9/yard?directConnection=true&serverSelectionTimeoutMS=200"

    with pytest.raises(StoreError, match="could not connect: no MongoDB server answered in time"):
        open_store(url)


# --- SQLite: batches ------------------------------------------------------------------------------


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[SQLiteOrderStore]:
    opened = SQLiteOrderStore(tmp_path / "orders.db")
    yield opened
    opened.close()


def test_a_batch_writes_its_calls_together_at_its_end(sqlite_store: SQLiteOrderStore) -> None:
    with sqlite_store.batch():
        order = working(sqlite_store, new_order(qty=5))
        sqlite_store.add_report("alpha", accepted(order))
        sqlite_store.apply_fill(filled(order, 5, trade_id="t-1"))
        assert sqlite_store.add_order(new_order()) is False
        with pytest.raises(TransitionError):
            sqlite_store.apply_fill(filled(order, 1, trade_id="t-2"))

    with open_store(f"sqlite:///{sqlite_store.path}") as reader:
        assert [r.seq for r in reader.reports("alpha")] == [1, 2]
        assert reader.order("o-1") == sqlite_store.order("o-1")


def test_a_batch_that_raises_writes_nothing(sqlite_store: SQLiteOrderStore) -> None:
    order = working(sqlite_store, new_order(qty=5))

    def stopped_in_a_batch() -> None:
        with sqlite_store.batch():
            sqlite_store.add_report("alpha", accepted(order))
            sqlite_store.apply_fill(filled(order, 2, trade_id="t-1"))
            raise RuntimeError("gateway stopped")

    with pytest.raises(RuntimeError, match="gateway stopped"):
        stopped_in_a_batch()

    record = sqlite_store.order("o-1")
    assert record is not None
    assert (record.state, record.filled_qty) == (ACCEPTED, 0)
    assert sqlite_store.reports("alpha") == []
    assert sqlite_store.add_report("alpha", accepted(order)).seq == 1
    assert sqlite_store.apply_fill(filled(order, 2, trade_id="t-1")) is not None


def test_fill_records_carry_the_right_types(store: OrderStore) -> None:
    order = working(store, new_order())
    store.apply_fill(filled(order, 1, "100.25", fee="0.01", trade_id="t-1"))

    (trade,) = store.trades()
    (report,) = store.reports("alpha")

    assert trade.fill.price == Decimal("100.25")
    assert trade.fill.fee == Decimal("0.01")
    assert report.report == trade.fill
    assert isinstance(store.add_report("alpha", accepted(order)).report, OrderAccepted)
