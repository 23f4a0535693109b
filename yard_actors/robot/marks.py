"""The price each symbol's open positions are marked at: one rule, used everywhere.

A robot's :meth:`~yard_actors.robot.views.BookViews.unrealized_pnl`, the host table's
``upnl`` (which reads it) and the end-of-run summary's unrealised P&L and drawdown
(:mod:`yard_actors.app.summary`) all mark through :class:`Marks`, so the three agree.

The rule: **a symbol is marked at the mid of its last quote; a symbol with no quote
seen yet, at its last trade price** (a :class:`~yard_actors.wire.events.Tick`'s
``price``, a :class:`~yard_actors.wire.events.Bar`'s ``close``). The mid is the fairer
value while there is a book: a print bounces between bid and ask and lags the book. A
tick-only or bar-only file has no book, and the last trade is then the market's
price; before this rule, such a run showed an unrealised P&L of 0 while a lot was held.
A symbol with neither is not marked (its open lots count 0).

Plain and single-threaded, like the robot that owns one.
"""

from __future__ import annotations

from decimal import Decimal

from yard_actors.wire.events import MarketEvent, Quote, Tick

__all__ = ["Marks"]


class Marks:
    """The last quote and the last trade price of each symbol, and the mark they give."""

    __slots__ = ("quotes", "trades")

    def __init__(self) -> None:
        self.quotes: dict[str, Quote] = {}
        """The last quote of each symbol; a robot writes here directly on its hot path."""
        self.trades: dict[str, Decimal] = {}
        """The last trade price of each symbol: a tick's price, a bar's close."""

    def update(self, event: MarketEvent) -> bool:
        """Take a market event in; return whether it set its symbol's mark."""
        if isinstance(event, Quote):
            self.quotes[event.symbol] = event
            return True
        self.trades[event.symbol] = event.price if isinstance(event, Tick) else event.close
        return event.symbol not in self.quotes

    def price(self, symbol: str) -> Decimal | None:
        """The mark of ``symbol`` by the rule above; None if it has neither quote nor trade."""
        quote = self.quotes.get(symbol)
        if quote is not None:
            return quote.mid
        return self.trades.get(symbol)
