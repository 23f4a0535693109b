"""The paper exchange's book of one symbol: its last quote and the robots' resting orders.

Apart from :mod:`gateways.paper`, which decides when orders rest, fill and
end: this module only says what the exchange holds per symbol (the latest
quote, the displayed size that fills have left of it, the resting orders best
price first, then oldest) and whether a price reaches an order.
"""

from __future__ import annotations

import enum
from decimal import Decimal

import attrs

from yard_actors.wire.events import NewOrder, Quote, Side

__all__ = ["Market", "Status", "WorkingOrder", "book_key", "reaches"]


class Status(enum.Enum):
    """Where an order stands on the paper exchange: working, or how it ended."""

    WORKING = "working"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"


@attrs.define
class WorkingOrder:
    """An order the exchange took, with what is left of it and its place in time priority."""

    order: NewOrder
    remaining: int
    status: Status = Status.WORKING
    priority: int = 0  # the n-th order accepted: time priority among resting orders


@attrs.define
class Market:
    """One symbol's latest quote, the displayed size fills have left, and the resting orders."""

    quote: Quote | None = None
    bid_left: int = 0  # displayed size of the current quote not yet taken by fills
    ask_left: int = 0
    buys: list[WorkingOrder] = attrs.field(factory=list)  # resting, best price first, then oldest
    sells: list[WorkingOrder] = attrs.field(factory=list)


def book_key(working: WorkingOrder) -> tuple[Decimal, int]:
    """Sort a resting order in its book: best price first, then the order accepted first."""
    price = working.order.price
    assert price is not None  # only limit orders rest
    return (-price if working.order.side is Side.BUY else price), working.priority


def reaches(side: Side, limit: Decimal | None, price: Decimal) -> bool:
    """Whether an order of ``side`` priced ``limit`` (None: market) trades at ``price``."""
    if limit is None:
        return True
    return price <= limit if side is Side.BUY else price >= limit
