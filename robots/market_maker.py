"""A quoting market maker: one bid and one offer around the mid, skewed by inventory.

It shows the order lifecycle from a robot's side: keep at most one working
order per side, cancel a quote that has drifted, and stop quoting the side
that would push inventory past its limit. Its prices step in the instrument's tick
(``self.instrument(symbol).tick``, from the host's instrument table) unless the
``tick_size`` param overrides it.
"""

from __future__ import annotations

from decimal import Decimal

import attrs

from yard_actors import Command, HandlerResult, Quote, Robot, Side

__all__ = ["MarketMaker", "MarketMakerParams"]


@attrs.frozen(kw_only=True)
class MarketMakerParams:
    half_spread_ticks: int = attrs.field(default=2)
    #: The price step to quote in; None (the default): the instrument's tick.
    tick_size: Decimal | None = attrs.field(
        default=None, converter=attrs.converters.optional(Decimal)
    )
    qty: int = 1
    max_position: int = 5
    skew_ticks_per_lot: int = 1
    #: How far (in ticks) a working quote may drift from where it should be before it is
    #: cancelled and sent again: 1 chases every move of the mid; more keeps a quote
    #: working (and its place in the queue) through small moves, at a fraction of the orders.
    requote_ticks: int = 1

    def __attrs_post_init__(self) -> None:
        for name in ("half_spread_ticks", "qty", "max_position", "requote_ticks"):
            if getattr(self, name) <= 0:
                msg = f"{name} must be positive, was {getattr(self, name)}"
                raise ValueError(msg)
        if self.tick_size is not None and not (self.tick_size.is_finite() and self.tick_size > 0):
            msg = f"tick_size must be a positive price step, was {self.tick_size}"
            raise ValueError(msg)


class MarketMaker(Robot):
    symbols = ("Si",)
    params_class = MarketMakerParams
    order_qty_params = ("qty",)  # set_params past the risk limits is refused
    position_params = ("max_position",)

    def on_start(self) -> None:
        self.quotes_seen = 0

    def on_quote(self, quote: Quote) -> HandlerResult:
        self.quotes_seen += 1
        p = self.params
        position = self.position(quote.symbol)
        tick = p.tick_size or self.instrument(quote.symbol).tick
        # Round the mid to the grid, then lean away from the inventory we hold.
        mid = (quote.mid / tick).to_integral_value() * tick
        skew = -position * p.skew_ticks_per_lot * tick
        want = {
            Side.BUY: mid + skew - p.half_spread_ticks * tick,
            Side.SELL: mid + skew + p.half_spread_ticks * tick,
        }
        if position >= p.max_position:
            del want[Side.BUY]
        if position <= -p.max_position:
            del want[Side.SELL]
        out: list[Command] = []
        drift = p.requote_ticks * tick
        for order in self.open_orders(quote.symbol):
            if order.cancel_requested:
                want.pop(order.side, None)
            elif abs(want.get(order.side, order.price + drift) - order.price) < drift:
                del want[order.side]  # near enough to where it should be: leave it working
            else:
                out.append(self.cancel(order))
                want.pop(order.side, None)  # requote once the cancel is confirmed
        for side, price in want.items():
            build = self.buy if side is Side.BUY else self.sell
            out.append(build(quote.symbol, p.qty, price))
        return out
