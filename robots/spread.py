"""A Si/RTS spread trader: trades the gap between two related futures, not either one.

The RTS index and the dollar-rouble rate move against each other. This robot
watches ``log(RTS) + beta * log(Si)`` through a rolling window; when the spread
stretches ``entry`` standard deviations from its mean it sells the rich leg and
buys the cheap one, and it closes both when the spread comes back within
``exit``. Everything is Decimal, so the same quotes give the same trades.
"""

from __future__ import annotations

from collections import deque
from decimal import Decimal

import attrs

from yard_actors import Command, HandlerResult, Quote, Robot

__all__ = ["SpreadParams", "SpreadTrader"]


@attrs.frozen(kw_only=True)
class SpreadParams:
    window: int = 300
    entry: Decimal = attrs.field(default=Decimal(2), converter=Decimal)
    exit: Decimal = attrs.field(default=Decimal("0.5"), converter=Decimal)
    beta: Decimal = attrs.field(default=Decimal(1), converter=Decimal)
    si_qty: int = 1
    rts_qty: int = 1

    def __attrs_post_init__(self) -> None:
        if self.window < 10:
            msg = f"window must be at least 10 quotes, was {self.window}"
            raise ValueError(msg)
        if not 0 <= self.exit < self.entry:
            msg = f"exit must be in [0, entry), was exit={self.exit} entry={self.entry}"
            raise ValueError(msg)


class SpreadTrader(Robot):
    symbols = ("Si", "RTS")
    params_class = SpreadParams
    # Each leg's qty is both an order's size and the position it holds.
    order_qty_params = ("si_qty", "rts_qty")
    position_params = ("si_qty", "rts_qty")

    def on_start(self) -> None:
        self.spreads: deque[Decimal] = deque(maxlen=self.params.window)
        self.mids: dict[str, Decimal] = {}
        self.side = 0  # +1: long the spread (long RTS, long Si), -1: short it, 0: flat
        self.z = Decimal(0)

    def on_quote(self, quote: Quote) -> HandlerResult:
        self.mids[quote.symbol] = quote.mid
        if len(self.mids) < 2 or self.open_orders():
            return None
        spread = self.mids["RTS"].ln() + self.params.beta * self.mids["Si"].ln()
        self.spreads.append(spread)
        if len(self.spreads) < self.params.window:
            return None
        mean = sum(self.spreads, Decimal(0)) / len(self.spreads)
        variance = sum(((s - mean) ** 2 for s in self.spreads), Decimal(0)) / len(self.spreads)
        if not variance:
            return None
        self.z = ((spread - mean) / variance.sqrt()).quantize(Decimal("0.0001"))
        target = self.side
        if self.side == 0 and abs(self.z) >= self.params.entry:
            target = -1 if self.z > 0 else 1  # stretched up: sell it; down: buy it
        elif self.side != 0 and abs(self.z) <= self.params.exit:
            target = 0
        if target == self.side:
            return None
        self.side = target
        return self._rebalance(target)

    def _rebalance(self, side: int) -> list[Command]:
        """Orders that take both legs to ``side`` times their size, crossing the spread."""
        out: list[Command] = []
        for symbol, qty in (("RTS", self.params.rts_qty), ("Si", self.params.si_qty)):
            gap = side * qty - self.position(symbol)
            quote = self.last_quote(symbol)
            if gap == 0 or quote is None:
                continue
            if gap > 0:
                out.append(self.buy(symbol, gap, quote.ask))
            else:
                out.append(self.sell(symbol, -gap, quote.bid))
        return out
