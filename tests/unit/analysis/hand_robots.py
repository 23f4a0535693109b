"""Robots for the analyzer's tests, importable by the class path their journals record."""

from __future__ import annotations

from decimal import Decimal

from yard_actors import HandlerResult, Robot
from yard_actors.wire.events import Quote


class BuyThenSell(Robot):
    """Buys 1 at the ask on its first quote; sells 1 at the bid on the first quote at 110+.

    Keeps a rolling window of the last three mids, so its state changes every quote.
    """

    symbols = ("Si",)

    def on_start(self) -> None:
        self.mids: list[str] = []
        self.stage = "flat"

    def on_quote(self, quote: Quote) -> HandlerResult:
        self.mids = [*self.mids, str(quote.mid)][-3:]
        if self.stage == "flat":
            self.stage = "buying"
            return self.buy(quote.symbol, 1, price=quote.ask)
        if self.stage == "long" and quote.bid >= Decimal(110):
            self.stage = "selling"
            return self.sell(quote.symbol, 1, price=quote.bid)
        return None

    def on_fill(self, fill: object) -> HandlerResult:
        self.stage = "long" if self.stage == "buying" else "done"
        return None


class BuyThenSellHigher(BuyThenSell):
    """The same robot with its code changed: it sells at 111, not 110."""

    def on_quote(self, quote: Quote) -> HandlerResult:
        if self.stage == "long" and quote.bid < Decimal(111):
            self.mids = [*self.mids, str(quote.mid)][-3:]
            return None
        return super().on_quote(quote)
