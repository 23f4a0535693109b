"""The read-only views of a robot's book that its handlers use: positions, orders, P&L.

A base of :class:`~yard_actors.robot.robot.Robot`, apart from it so the class traders
subclass stays one screenful of handlers and dispatch; the views only read the book
(:mod:`.book`) and the marks the robot keeps (:mod:`.marks`), never change them.
"""

from __future__ import annotations

from decimal import Decimal

from yard_actors.robot.book import Book, Position, WorkingOrder
from yard_actors.robot.marks import Marks
from yard_actors.wire.events import Quote

__all__ = ["BookViews"]


class BookViews:
    """What user code reads of the book; the robot sets ``_book``, ``_marks`` and
    ``_last_quotes`` (its marks' quotes)."""

    _book: Book
    _marks: Marks
    _last_quotes: dict[str, Quote]

    @property
    def pnl(self) -> Decimal:
        """Realised P&L net of fees, in price points times lots."""
        return self._book.realized_pnl

    def position(self, symbol: str) -> int:
        """The signed position in ``symbol`` (lots; negative is short)."""
        position = self._book.positions.get(symbol)
        return 0 if position is None else position.qty

    def positions(self) -> dict[str, int]:
        """Every symbol the robot has traded, with its signed position, sorted by symbol."""
        return {symbol: p.qty for symbol, p in sorted(self._book.positions.items())}

    def position_detail(self, symbol: str) -> Position:
        return self._book.position(symbol)

    def open_orders(self, symbol: str | None = None) -> list[WorkingOrder]:
        """Working orders, oldest first; those with a cancel requested are included."""
        orders = self._book.orders.values()
        return [o for o in orders if symbol is None or o.symbol == symbol]

    def last_quote(self, symbol: str) -> Quote | None:
        return self._last_quotes.get(symbol)

    def last_trade_price(self, symbol: str) -> Decimal | None:
        """The price of the last trade seen in ``symbol`` (a tick's, a bar's close), or None."""
        return self._marks.trades.get(symbol)

    def unrealized_pnl(self) -> Decimal:
        """Open positions marked to the last quote's mid of each symbol, or where no quote
        was seen (tick or bar data), to its last trade price (:mod:`.marks`)."""
        total = Decimal(0)
        for symbol, position in self._book.positions.items():
            mark = self._marks.price(symbol)
            if mark is not None:
                total += position.unrealized(mark)
        return total
