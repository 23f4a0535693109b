"""The paper exchange's book of one symbol: its last quote and the robots' resting orders;
and its bounded memory of final orders (:class:`FinalOrders`).

Apart from :mod:`gateways.paper`, which decides when orders rest, fill and
end: this module only says what the exchange holds per symbol (the latest
quote, the displayed size that fills have left of it, the resting orders best
price first, then oldest) and whether a price reaches an order.
"""

from __future__ import annotations

import enum
import sys
from collections import OrderedDict
from decimal import Decimal
from typing import Final

import attrs

from yard_actors.wire.events import NewOrder, Quote, Side

__all__ = [
    "FINAL_ORDERS_KEPT",
    "FinalOrders",
    "Market",
    "Status",
    "WorkingOrder",
    "book_key",
    "reaches",
]

#: How many final orders the paper exchange remembers (their robot and how they ended).
FINAL_ORDERS_KEPT: Final = 10_000


class Status(enum.Enum):
    """Where an order stands on the paper exchange: working, or how it ended."""

    WORKING = "working"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"


class FinalOrders:
    """How the exchange's last ``limit`` final orders ended, by ``client_order_id``.

    Bounded, so a gateway's memory does not grow with every order it ever took (~0.45 KB
    an order it did before). A cancel of an order remembered here is refused with how it
    ended; of one forgotten, as unknown, as after a restart. A repeated id is refused by
    the gateway's order store before the exchange sees it.
    """

    def __init__(self, limit: int = FINAL_ORDERS_KEPT) -> None:
        self._limit = limit
        self._ended: OrderedDict[str, tuple[str, Status]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._ended)

    def add(self, client_order_id: str, robot: str, status: Status) -> None:
        """Remember how an order ended; the oldest remembered is forgotten past the limit."""
        self._ended[client_order_id] = (sys.intern(robot), status)
        if len(self._ended) > self._limit:
            self._ended.popitem(last=False)

    def get(self, client_order_id: str) -> tuple[str, Status] | None:
        """The robot of a remembered final order and how it ended, or None."""
        return self._ended.get(client_order_id)


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
