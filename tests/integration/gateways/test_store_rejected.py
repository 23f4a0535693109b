"""Orders stored rejected on arrival, on every backend: ``add_rejected`` and ``add_refused``.

``add_rejected`` stores an order and its rejection report in one write, exactly
once (a resolve's "lost in transit"); ``add_refused`` stores many orders refused
while the store was down, rejected with no report, in one write.
"""

from __future__ import annotations

import pytest

from gateways.store import OrderStore, StateChange, open_store
from gateways.store.base import UNKNOWN_SYMBOL
from tests.integration.gateways.store_orders import (
    ACCEPTED,
    NEW,
    REJECTED,
    TS,
    new_order,
    working,
)
from yard_actors.errors import StoreError
from yard_actors.testing import accepted, rejected
from yard_actors.wire.events import OrderRejected, Side
from yard_actors.wire.names import LOST_IN_TRANSIT, STORE_UNAVAILABLE


def _lost(client_order_id: str, robot: str = "alpha", ts: int = TS + 5) -> OrderRejected:
    return OrderRejected(
        ts=ts, client_order_id=client_order_id, robot=robot, reason=LOST_IN_TRANSIT
    )


# --- add_rejected ---------------------------------------------------------------------------


def test_a_rejected_order_and_its_report_are_stored_together_under_the_next_seq(
    store: OrderStore,
) -> None:
    first = working(store, new_order("o-1"))
    store.add_report("alpha", accepted(first))
    order = new_order("o-2", ts=TS + 3)

    record = store.add_rejected(rejected(order, "risk: too big", ts=TS + 4), order=order)

    assert record is not None
    assert (record.robot, record.seq) == ("alpha", 2)
    assert record.report == OrderRejected(
        ts=TS + 4, client_order_id="o-2", robot="alpha", reason="risk: too big", seq=2
    )
    assert [r.seq for r in store.reports("alpha")] == [1, 2]
    assert store.reports("alpha", after_seq=1) == [record]
    stored = store.order("o-2")
    assert stored is not None
    assert (stored.state, stored.reason, stored.is_open) == (REJECTED, "risk: too big", False)
    assert (stored.symbol, stored.qty, stored.price) == ("Si", 10, order.price)
    assert stored.history == (
        StateChange(ts=TS + 3, state=NEW),
        StateChange(ts=TS + 4, state=REJECTED, reason="risk: too big"),
    )
    assert store.last_seqs() == {"alpha": 2}


def test_an_order_never_received_is_stored_rejected_by_its_id_alone(store: OrderStore) -> None:
    record = store.add_rejected(_lost("o-9"))

    stored = store.order("o-9")
    assert record is not None
    assert record.seq == 1
    assert record.report == OrderRejected(
        ts=TS + 5, client_order_id="o-9", robot="alpha", reason=LOST_IN_TRANSIT, seq=1
    )
    assert stored is not None
    assert (stored.robot, stored.symbol, stored.side, stored.qty, stored.price) == (
        "alpha",
        UNKNOWN_SYMBOL,
        Side.BUY,
        1,
        None,
    )
    assert (stored.state, stored.reason) == (REJECTED, LOST_IN_TRANSIT)
    assert [change.state for change in stored.history] == [NEW, REJECTED]
    assert store.open_orders() == []


def test_add_rejected_again_or_for_a_taken_id_writes_nothing(store: OrderStore) -> None:
    working(store, new_order("o-1"))
    first = store.add_rejected(_lost("o-2"))
    before = (store.order("o-1"), store.order("o-2"), store.reports("alpha"))

    repeat = store.add_rejected(_lost("o-2", ts=TS + 9))
    taken = store.add_rejected(_lost("o-1"))
    late_copy = store.add_pending(new_order("o-2"))

    assert first is not None
    assert (repeat, taken, late_copy) == (None, None, False)
    assert (store.order("o-1"), store.order("o-2"), store.reports("alpha")) == before
    record = store.order("o-1")
    assert record is not None
    assert record.state is ACCEPTED


def test_a_rejection_is_refused_with_another_robots_or_another_ids_order(
    store: OrderStore,
) -> None:
    with pytest.raises(StoreError, match="cannot be stored with order o-1 of robot 'beta'"):
        store.add_rejected(_lost("o-1"), order=new_order("o-1", robot="beta"))
    with pytest.raises(StoreError, match="cannot be stored with order o-2 of robot 'alpha'"):
        store.add_rejected(_lost("o-1"), order=new_order("o-2"))

    assert (store.order("o-1"), store.order("o-2"), store.last_seqs()) == (None, None, {})


def test_a_reopened_store_numbers_on_after_a_stored_rejection(store_url: str) -> None:
    with open_store(store_url) as first:
        first.add_rejected(_lost("o-1"))
        first.add_rejected(_lost("b-1", robot="beta"))

    with open_store(store_url) as second:
        order = working(second, new_order("o-2"))
        report = second.add_report("alpha", accepted(order))

        assert report.seq == 2
        assert second.last_seqs() == {"alpha": 2, "beta": 1}
        assert second.add_rejected(_lost("o-1")) is None


# --- add_refused ----------------------------------------------------------------------------


def test_refused_orders_are_stored_rejected_without_a_report(store: OrderStore) -> None:
    orders = [new_order(f"o-{n}", ts=TS + n) for n in range(1, 4)]

    taken = store.add_refused(orders, reason=STORE_UNAVAILABLE)

    assert taken == []
    assert store.reports("alpha") == []
    assert store.last_seqs() == {}
    stored = store.orders(robot="alpha")
    assert [o.client_order_id for o in stored] == ["o-1", "o-2", "o-3"]
    for order, record in zip(orders, stored, strict=True):
        assert record.order == order
        assert (record.state, record.reason) == (REJECTED, STORE_UNAVAILABLE)
        assert record.history == (
            StateChange(ts=order.ts, state=NEW),
            StateChange(ts=order.ts, state=REJECTED, reason=STORE_UNAVAILABLE),
        )


def test_refused_orders_whose_id_is_taken_are_returned_and_left_alone(store: OrderStore) -> None:
    working(store, new_order("o-2"))
    held = store.order("o-2")
    orders = [new_order(f"o-{n}", ts=TS + n) for n in range(1, 5)]

    taken = store.add_refused(orders, reason=STORE_UNAVAILABLE)
    again = store.add_refused(orders, reason=STORE_UNAVAILABLE)

    assert [o.client_order_id for o in taken] == ["o-2"]
    assert again == orders
    assert store.order("o-2") == held
    states = {o.client_order_id: o.state for o in store.orders(robot="alpha")}
    assert states == {"o-1": REJECTED, "o-2": ACCEPTED, "o-3": REJECTED, "o-4": REJECTED}
    assert store.open_orders() == [held]


def test_no_orders_to_refuse_is_no_write(store: OrderStore) -> None:
    assert store.add_refused([], reason=STORE_UNAVAILABLE) == []
    assert store.orders() == []
