"""An order's lifecycle in the store, as a table: its states and the moves between them.

Anything the table does not allow is refused with
:class:`~yard_actors.errors.TransitionError` and nothing is written::

    new ─► pending ─► accepted ─► partially_filled ─► filled
               │          │              │
               └► rejected└► cancelled ◄─┘   (and accepted/partially_filled ─► filled)

Invariants at every step: ``filled_qty <= qty``; ``filled_value`` is the sum of
``price * qty`` over the order's fills (so the average price is exact); no
fill after a final state (filled, cancelled, rejected).

Apart from :mod:`.base`, the store's contract and its records, which re-exports
these: the table is the one place both backends and the rules they share
(:mod:`._common`) ask what a move may be.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

__all__ = ["FINAL_STATES", "TRANSITIONS", "OrderState", "check_transition"]


class OrderState(enum.Enum):
    NEW = "new"
    PENDING = "pending"
    ACCEPTED = "accepted"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"


FINAL_STATES = frozenset({OrderState.FILLED, OrderState.CANCELLED, OrderState.REJECTED})

TRANSITIONS: Mapping[OrderState, frozenset[OrderState]] = {
    OrderState.NEW: frozenset({OrderState.PENDING, OrderState.REJECTED}),
    OrderState.PENDING: frozenset({OrderState.ACCEPTED, OrderState.REJECTED}),
    OrderState.ACCEPTED: frozenset(
        {OrderState.PARTIALLY_FILLED, OrderState.FILLED, OrderState.CANCELLED}
    ),
    OrderState.PARTIALLY_FILLED: frozenset(
        {OrderState.PARTIALLY_FILLED, OrderState.FILLED, OrderState.CANCELLED}
    ),
    OrderState.FILLED: frozenset(),
    OrderState.CANCELLED: frozenset(),
    OrderState.REJECTED: frozenset(),
}


def check_transition(client_order_id: str, current: OrderState, target: OrderState) -> str | None:
    """Say why ``current -> target`` is refused, or return None if the table allows it."""
    if target in TRANSITIONS[current]:
        return None
    allowed = ", ".join(sorted(s.value for s in TRANSITIONS[current])) or "nothing (final)"
    return (
        f"order {client_order_id} cannot go from {current.value} to {target.value}; "
        f"from {current.value} it may go to {allowed}"
    )
