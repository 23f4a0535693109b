"""A robot's own book: its working orders, positions and realised P&L.

The framework keeps the book from the robot's own commands, replies and fills,
so user code reads ``self.position("Si")`` instead of re-deriving it in every
robot. Everything here is plain, single-threaded and deterministic: Decimal
arithmetic only, no clock, dicts iterated in insertion order (which is event
order, so it is the same on every replay).
"""

from __future__ import annotations

import enum
from decimal import Decimal
from typing import Any

import attrs

from yard_actors.events import Fill, NewOrder, Side

__all__ = ["Book", "OrderState", "WorkingOrder", "Position"]


class OrderState(enum.Enum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    PARTIALLY_FILLED = "partially_filled"


@attrs.frozen(kw_only=True)
class WorkingOrder:
    """An order of the robot that is not yet final, as the robot knows it."""

    client_order_id: str
    symbol: str
    side: Side
    qty: int
    price: Decimal | None
    filled: int = 0
    state: OrderState = OrderState.PENDING
    cancel_requested: bool = False

    @property
    def remaining(self) -> int:
        return self.qty - self.filled

    def to_json(self) -> dict[str, Any]:
        return {
            "client_order_id": self.client_order_id,
            "symbol": self.symbol,
            "side": self.side.value,
            "qty": self.qty,
            "price": None if self.price is None else str(self.price),
            "filled": self.filled,
            "state": self.state.value,
            "cancel_requested": self.cancel_requested,
        }


@attrs.define(kw_only=True)
class Position:
    """A signed position in one symbol; ``avg_price`` is the average entry of what is open."""

    symbol: str
    qty: int = 0
    avg_price: Decimal = Decimal(0)
    realized: Decimal = Decimal(0)
    fees: Decimal = Decimal(0)

    def apply(self, side: Side, qty: int, price: Decimal, fee: Decimal) -> None:
        signed = side.sign * qty
        self.fees += fee
        if self.qty == 0 or (self.qty > 0) == (signed > 0):
            total = abs(self.qty) + qty
            self.avg_price = (self.avg_price * abs(self.qty) + price * qty) / total
            self.qty += signed
            return
        closing = min(qty, abs(self.qty))
        direction = 1 if self.qty > 0 else -1
        self.realized += (price - self.avg_price) * closing * direction
        self.qty += signed
        if self.qty == 0:
            self.avg_price = Decimal(0)
        elif (self.qty > 0) != (direction > 0):  # flipped through flat: the rest opens anew
            self.avg_price = price

    def unrealized(self, mark: Decimal) -> Decimal:
        return (mark - self.avg_price) * self.qty if self.qty else Decimal(0)

    def to_json(self) -> dict[str, Any]:
        return {
            "qty": self.qty,
            "avg_price": str(self.avg_price),
            "realized": str(self.realized),
            "fees": str(self.fees),
        }


class Book:
    """Working orders by client order id and positions by symbol, for one robot."""

    def __init__(self) -> None:
        self.orders: dict[str, WorkingOrder] = {}
        self.positions: dict[str, Position] = {}

    def position(self, symbol: str) -> Position:
        position = self.positions.get(symbol)
        if position is None:
            position = self.positions[symbol] = Position(symbol=symbol)
        return position

    def order_sent(self, order: NewOrder) -> None:
        self.orders[order.client_order_id] = WorkingOrder(
            client_order_id=order.client_order_id,
            symbol=order.symbol,
            side=order.side,
            qty=order.qty,
            price=order.price,
        )

    def cancel_sent(self, client_order_id: str) -> None:
        order = self.orders.get(client_order_id)
        if order is not None:
            self.orders[client_order_id] = attrs.evolve(order, cancel_requested=True)

    def accepted(self, client_order_id: str) -> None:
        order = self.orders.get(client_order_id)
        if order is not None and order.state is OrderState.PENDING:
            self.orders[client_order_id] = attrs.evolve(order, state=OrderState.ACCEPTED)

    def closed(self, client_order_id: str) -> None:
        """Forget an order that was rejected or cancelled."""
        self.orders.pop(client_order_id, None)

    def cancel_refused(self, client_order_id: str) -> None:
        order = self.orders.get(client_order_id)
        if order is not None:
            self.orders[client_order_id] = attrs.evolve(order, cancel_requested=False)

    def filled(self, fill: Fill) -> None:
        """Apply a fill; fills are the truth even for an order the book no longer knows."""
        self.position(fill.symbol).apply(fill.side, fill.qty, fill.price, fill.fee)
        order = self.orders.get(fill.client_order_id)
        if order is None:
            return
        done = order.filled + fill.qty
        if done >= order.qty:
            del self.orders[fill.client_order_id]
        else:
            self.orders[fill.client_order_id] = attrs.evolve(
                order, filled=done, state=OrderState.PARTIALLY_FILLED
            )

    @property
    def realized_pnl(self) -> Decimal:
        """Realised P&L net of fees, in price points times lots, over all symbols."""
        return sum((p.realized - p.fees for p in self.positions.values()), Decimal(0))
