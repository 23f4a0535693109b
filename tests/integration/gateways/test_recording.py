"""What an outage held, written when the store is back: refused orders above all.

A store outage refuses every new order, unnumbered; robots that place another
order on each refusal make thousands. :func:`gateways.recording.rewrite` stores
them all as rejected in one write per reason, and tells apart the few whose id
the store already holds. Run on every backend (the ``store`` fixture).
"""

from __future__ import annotations

from collections import Counter

from gateways.recording import Held, Refusal, rewrite
from gateways.store import OrderStore
from tests.integration.gateways.store_orders import ACCEPTED, REJECTED, TS, new_order, working
from yard_actors.wire.events import NewOrder
from yard_actors.wire.names import STORE_UNAVAILABLE


def _refusal(order: NewOrder, *, maybe_recorded: bool = False) -> Refusal:
    return Refusal(order=order, reason=STORE_UNAVAILABLE, maybe_recorded=maybe_recorded)


def test_refusals_are_stored_rejected_and_ids_the_store_holds_told_apart(
    store: OrderStore,
) -> None:
    working(store, new_order("o-1"))  # an id the robot then reused
    store.add_refused([new_order("o-2")], reason=STORE_UNAVAILABLE)  # an earlier try stored it
    store.add_pending(new_order("o-5"))  # the call that failed had stored it after all
    held: list[Held] = [
        _refusal(new_order("o-2")),
        _refusal(new_order("o-3", ts=TS + 3)),
        _refusal(new_order("o-1")),
        _refusal(new_order("o-4", ts=TS + 4), maybe_recorded=True),
        _refusal(new_order("o-5"), maybe_recorded=True),
    ]
    stats: Counter[str] = Counter()

    rewritten = rewrite(store, held, {}, stats)

    states = {o.client_order_id: o.state for o in store.orders(robot="alpha")}
    assert states == {
        "o-1": ACCEPTED,
        "o-2": REJECTED,
        "o-3": REJECTED,
        "o-4": REJECTED,
        "o-5": REJECTED,
    }
    assert stats == Counter(refusals_contradicted=1)
    assert rewritten.records == []
    assert store.reports("alpha") == []
    o3 = store.order("o-3")
    assert o3 is not None
    assert (o3.reason, o3.updated_ts) == (STORE_UNAVAILABLE, TS + 3)


def test_a_thousand_refusals_are_written_by_one_rewrite_and_a_repeat_changes_nothing(
    store: OrderStore,
) -> None:
    working(store, new_order("o-0"))
    orders = [new_order(f"o-{n}", ts=TS + n) for n in range(1, 1001)]
    held: list[Held] = [_refusal(order) for order in orders]
    stats: Counter[str] = Counter()

    rewritten = rewrite(store, held, {}, stats)
    written = store.orders(robot="alpha")
    again = rewrite(store, held, {}, stats)  # a try whose answer was lost, made again

    rejected = store.orders(robot="alpha", state=REJECTED)
    assert [o.client_order_id for o in rejected] == [o.client_order_id for o in orders]
    assert store.orders(robot="alpha") == written
    assert rewritten.working == again.working == 1
    assert stats == Counter()
