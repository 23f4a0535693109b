"""Why the paper exchange refuses a new order, and the sentences it cancels the rest of one with.

An order that takes effect is refused (checked in this order, after the
exchange's own check that its ``client_order_id`` is new) for a symbol not in
the instrument table, a qty that is not positive, a price off the tick grid,
or a session that is not open: the last
:class:`~yard_actors.wire.events.SessionStatus` seen of the session the
order's symbol trades in is not OPEN, or none was seen and ``require_session``
is set. A symbol's session is its instrument's own when it has a
``schedule``, named after it; every other symbol's is the FORTS day, which any
status named otherwise reports, whatever the feed calls it
(:meth:`~yard_actors.wire.instruments.InstrumentTable.session_of`,
:meth:`~yard_actors.wire.instruments.InstrumentTable.session_key`). A status
named after a listed symbol is that symbol's own session even when this
exchange's table gives it no schedule: the feed's config did, and a gateway
started without it must not take NG's close for the FORTS day's. Session
state gates new orders only: cancels and market-data fills go on.

Apart from :mod:`gateways.paper`, which matches: these checks need only the
instrument table and the sessions' statuses, never the book.
"""

from __future__ import annotations

from typing import Final

from yard_actors.wire.events import NewOrder, SessionState, SessionStatus
from yard_actors.wire.instruments import DEFAULT_SESSION, InstrumentTable

__all__ = ["IOC_REST", "MARKET_ORDER_REST", "OrderChecks"]

MARKET_ORDER_REST: Final = "market order: no more liquidity"
"""Why what a market order could not fill at once is cancelled: it never rests."""
IOC_REST: Final = "IOC: no more liquidity at the limit price"
"""Why what an IOC order could not fill at once is cancelled."""
_NO_SESSION: Final = "no trading session has opened yet: orders are refused until one does"


class OrderChecks:
    """The refusals of a new order that need no book; the gateway's one thread calls it."""

    def __init__(self, instruments: InstrumentTable, *, require_session: bool) -> None:
        self._instruments = instruments
        self._require_session = require_session
        self._sessions: dict[str, SessionStatus] = {}  # the last status of each session
        self._own: set[str] = set()  # symbols whose own session the feed reports

    def on_status(self, status: SessionStatus) -> None:
        """Keep ``status`` as the last of its session."""
        name = status.session
        if name not in self._own and self._own_by_the_feed(name):
            self._own.add(name)
        key = name if name in self._own else self._instruments.session_key(name)
        self._sessions[key] = status

    def _own_by_the_feed(self, name: str) -> bool:
        instrument = self._instruments.get(name)
        return instrument is not None and instrument.session == DEFAULT_SESSION

    def refusal(self, order: NewOrder) -> str | None:
        """Say why the exchange refuses ``order`` as it stands now, or return None."""
        if self._instruments.get(order.symbol) is None:
            return f"symbol {order.symbol} is not listed on this exchange"
        if order.qty <= 0:  # events.py refuses these; a message built without validators is not
            return f"qty must be positive, was {order.qty}"
        if order.price is not None and (
            problem := self._instruments.price_problem(order.symbol, order.price)
        ):
            return problem
        symbol = order.symbol
        own = symbol if symbol in self._own else self._instruments.session_of(symbol)
        session = self._sessions.get(own)
        if session is None:
            return _NO_SESSION if self._require_session else None
        if session.state is not SessionState.OPEN:
            return f"session {session.session} is {session.state.value}: orders are refused"
        return None
