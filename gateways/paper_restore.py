"""The paper exchange taken up again after a restart: which stored orders rest again, and where.

The book lives in memory; :meth:`~gateways.paper.PaperExchange.restore`
(called by the gateway once, before it serves) rebuilds it from the order
store. An order the store has accepted or partly filled rests again with what
it has left, in its time priority (the n of its ``PX{n}``), ahead of every
order accepted after. A pending one (in flight: no answer of the exchange
stored) is sent again as it was, at its own ``ts``. What cannot rest is
cancelled with the reason: an open market, IOC or FOK order (due to end at
once; the stop came in between), an order whose symbol is no longer listed or
whose price is now off the tick grid. A DAY order from an earlier session
rests again, as a GTC one does: the paper exchange has no end-of-day expiry,
and a restart must not change what the rules do. Not restored: the market and
the session (the next quote and status bring them), cancels in flight, and
the ids of final orders (the store refuses a repeated ``client_order_id``
first). An order still ``new`` was never sent to an exchange: left alone.

Apart from :mod:`gateways.paper`, which rests, sends and cancels: this module
only reads the stored records, once, and says what each one becomes.
"""

from __future__ import annotations

from typing import Final

from gateways.paper_checks import IOC_REST, MARKET_ORDER_REST
from gateways.store.base import OrderRecord, OrderState, highest_number
from yard_actors.wire.events import NewOrder, TimeInForce
from yard_actors.wire.instruments import InstrumentTable

__all__ = [
    "FOK_RESTART",
    "ORDER_PREFIX",
    "RESTING",
    "TRADE_PREFIX",
    "acceptance",
    "order_number",
    "restore_refusal",
]

TRADE_PREFIX: Final = "P"
"""The paper exchange's trade ids: ``P1``, ``P2``..."""
ORDER_PREFIX: Final = "PX"
"""The paper exchange's order ids (``exchange_order_id``): ``PX1``, ``PX2``..."""
FOK_RESTART: Final = "FOK: not filled in full when the paper exchange stopped"
"""Why an accepted FOK order the store holds open is cancelled on a restart."""
RESTING: Final = frozenset({OrderState.ACCEPTED, OrderState.PARTIALLY_FILLED})
"""The stored states of an order that rests again."""


def order_number(record: OrderRecord) -> int:
    """The n of the order's ``PX{n}``: its time priority; 0 if no paper exchange numbered it."""
    return highest_number([record.exchange_order_id], ORDER_PREFIX)


def acceptance(record: OrderRecord) -> tuple[bool, int]:
    """Order of acceptance: by ``PX{n}``, then the orders not numbered so, as the store lists."""
    number = order_number(record)
    return not number, number


def restore_refusal(order: NewOrder, instruments: InstrumentTable) -> str | None:
    """Say why an order accepted before a restart cannot rest after it, or return None."""
    if order.price is None:
        return MARKET_ORDER_REST
    if order.tif is TimeInForce.IOC:
        return IOC_REST
    if order.tif is TimeInForce.FOK:
        return FOK_RESTART
    if instruments.get(order.symbol) is None:
        return f"symbol {order.symbol} is no longer listed on this exchange: it cannot rest"
    problem = instruments.price_problem(order.symbol, order.price)
    return None if problem is None else f"{problem}: it cannot rest any more"
