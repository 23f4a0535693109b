"""Orders for the order store's tests, and the order states by short names."""

from __future__ import annotations

from decimal import Decimal

from gateways.store import OrderState, OrderStore
from yard_actors.wire.events import NewOrder, Side

TS = 1_700_000_000_000_000_000
NEW, PENDING, ACCEPTED = OrderState.NEW, OrderState.PENDING, OrderState.ACCEPTED
PARTIAL, FILLED = OrderState.PARTIALLY_FILLED, OrderState.FILLED
CANCELLED, REJECTED = OrderState.CANCELLED, OrderState.REJECTED


def new_order(
    client_order_id: str = "o-1",
    *,
    robot: str = "alpha",
    symbol: str = "Si",
    qty: int = 10,
    ts: int = TS,
) -> NewOrder:
    return NewOrder(
        ts=ts,
        client_order_id=client_order_id,
        robot=robot,
        symbol=symbol,
        side=Side.BUY,
        qty=qty,
        price=Decimal("100.5"),
    )


def working(store: OrderStore, order: NewOrder) -> NewOrder:
    """Store ``order`` and take it to ``accepted``, as a gateway would."""
    assert store.add_order(order)
    store.transition(order.client_order_id, PENDING, ts=order.ts + 1)
    store.transition(order.client_order_id, ACCEPTED, ts=order.ts + 2, exchange_order_id="x-1")
    return order
