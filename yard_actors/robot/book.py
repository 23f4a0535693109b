"""A robot's own book: its working orders, positions and realised P&L.

The framework keeps the book from the robot's own commands, replies and fills,
so user code reads ``self.position("Si")`` instead of re-deriving it in every
robot. Everything here is plain, single-threaded and deterministic: Decimal
arithmetic only, no clock, dicts iterated in insertion order (which is event
order, so it is the same on every replay).
"""

from __future__ import annotations

import enum
from collections import deque
from decimal import Decimal
from typing import Any

import attrs

from yard_actors.wire.events import (
    CancelReply,
    Event,
    Fill,
    NewOrder,
    OrderAccepted,
    OrderRejected,
    Side,
)

__all__ = ["Book", "OrderState", "Position", "WorkingOrder"]


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


_DISPLAY = Decimal("0.000001")


@attrs.define(kw_only=True)
class Position:
    """A signed position in one symbol, kept as FIFO lots so every figure stays exact.

    An average entry price needs a division and would drift in the last digits;
    matching a closing fill against the oldest open lots needs none, so realised
    P&L is exact to the last kopeck and the same on every replay.
    """

    symbol: str
    qty: int = 0
    lots: deque[tuple[int, Decimal]] = attrs.field(
        factory=deque
    )  # (signed qty, price), oldest first
    realized: Decimal = Decimal(0)
    fees: Decimal = Decimal(0)

    def apply(self, side: Side, qty: int, price: Decimal, fee: Decimal) -> None:
        signed = side.sign * qty
        self.fees += fee
        lots = self.lots
        while signed and lots and (lots[0][0] > 0) != (signed > 0):
            lot_qty, lot_price = lots[0]
            matched = min(abs(lot_qty), abs(signed))
            direction = 1 if lot_qty > 0 else -1
            self.realized += (price - lot_price) * matched * direction
            remaining = lot_qty - direction * matched
            if remaining:
                lots[0] = (remaining, lot_price)
            else:
                lots.popleft()
            signed += direction * matched
        if signed:
            lots.append((signed, price))
        self.qty = sum(lot_qty for lot_qty, _ in lots)

    @property
    def avg_price(self) -> Decimal:
        """The average entry of the open lots, rounded for display (P&L never uses it)."""
        if not self.qty:
            return Decimal(0)
        cost = sum((lot_qty * price for lot_qty, price in self.lots), Decimal(0))
        return Decimal(format((cost / self.qty).quantize(_DISPLAY).normalize(), "f"))

    def unrealized(self, mark: Decimal) -> Decimal:
        return sum(((mark - price) * lot_qty for lot_qty, price in self.lots), Decimal(0))

    def to_json(self) -> dict[str, Any]:
        return {
            "qty": self.qty,
            "avg_price": str(self.avg_price),
            "realized": str(self.realized),
            "fees": str(self.fees),
            "lots": [[lot_qty, str(price)] for lot_qty, price in self.lots],
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

    def apply(self, event: Event) -> None:
        """Apply a report about the robot's orders (fill, reply); any other event is no change."""
        if isinstance(event, Fill):
            self.filled(event)
        elif isinstance(event, OrderAccepted):
            self.accepted(event.client_order_id)
        elif isinstance(event, OrderRejected):
            self.closed(event.client_order_id)
        elif isinstance(event, CancelReply):
            if event.cancelled:
                self.closed(event.client_order_id)
            else:
                self.cancel_refused(event.client_order_id)

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
