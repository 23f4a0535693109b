"""Hand-made orders and their fills for the metrics tests: robot "r", one lot, fee 0.5."""

from __future__ import annotations

from decimal import Decimal

from yard_actors.wire.events import Fill, NewOrder, Side

S = 1_000_000_000
T0 = 1_700_000_000 * S


def order(side: Side, price: str, ts: int, n: int, *, symbol: str = "Si") -> NewOrder:
    return NewOrder(
        ts=ts,
        client_order_id=f"r-{n}",
        robot="r",
        symbol=symbol,
        side=side,
        qty=1,
        price=Decimal(price),
    )


def fill(placed: NewOrder, n: int) -> Fill:
    """The whole of ``placed`` filled at its price, at its time, trade ``T<n>``."""
    assert placed.price is not None
    return Fill(
        ts=placed.ts,
        trade_id=f"T{n}",
        client_order_id=placed.client_order_id,
        robot="r",
        symbol=placed.symbol,
        side=placed.side,
        price=placed.price,
        qty=placed.qty,
        fee=Decimal("0.5"),
    )
