"""A moving-average trend follower: long above the slow average, short below.

Read this one first: it shows typed params, state kept in plain attributes
(part of the snapshot), and orders built with ``self.buy``/``self.sell``.
"""

from __future__ import annotations

from collections import deque
from decimal import Decimal

import attrs

from yard_actors import HandlerResult, Quote, Robot

__all__ = ["TrendFollower", "TrendParams"]


def _positive(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if value <= 0:
        msg = f"{attribute.name} must be positive, was {value}"
        raise ValueError(msg)


@attrs.frozen(kw_only=True)
class TrendParams:
    fast: int = attrs.field(default=5, validator=_positive)
    slow: int = attrs.field(default=20, validator=_positive)
    qty: int = attrs.field(default=1, validator=_positive)

    def __attrs_post_init__(self) -> None:
        if self.fast >= self.slow:
            msg = f"fast must be shorter than slow, was fast={self.fast} slow={self.slow}"
            raise ValueError(msg)


class TrendFollower(Robot):
    symbols = ("Si",)
    params_class = TrendParams
    # qty is the position it holds, and a flip sends up to twice it: both limits bound it.
    order_qty_params = ("qty",)
    position_params = ("qty",)

    def on_start(self) -> None:
        self.mids: deque[Decimal] = deque(maxlen=self.params.slow)
        self.target = 0  # the position we want: +qty, -qty or 0

    def on_quote(self, quote: Quote) -> HandlerResult:
        self.mids.append(quote.mid)
        if len(self.mids) < self.params.slow or self.open_orders(quote.symbol):
            return None
        fast = sum(list(self.mids)[-self.params.fast :]) / self.params.fast
        slow = sum(self.mids) / len(self.mids)
        self.target = self.params.qty if fast > slow else -self.params.qty
        gap = self.target - self.position(quote.symbol)
        if gap > 0:  # cross the spread: a trend follower pays for immediacy
            return self.buy(quote.symbol, gap, quote.ask)
        if gap < 0:
            return self.sell(quote.symbol, -gap, quote.bid)
        return None
