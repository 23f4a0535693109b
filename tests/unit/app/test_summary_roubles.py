"""The summary's P&L in roubles where each instrument's point value is known, in points
(marked, and explained under the table) where it is not."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rich.console import Console

from yard_actors import Side
from yard_actors.app.summary import notes, render, summarize
from yard_actors.robot.book import Position
from yard_actors.testing import quote
from yard_actors.wire.events import Fill
from yard_actors.wire.instruments import InstrumentTable

TS = 1_764_226_800_000_000_000
FEE = Decimal("0.5")


def _fill(n: int, symbol: str, side: Side, price: str) -> Fill:
    return Fill(
        ts=TS + n,
        trade_id=f"P{n}",
        client_order_id=f"c{n}",
        robot="r",
        symbol=symbol,
        side=side,
        price=Decimal(price),
        qty=1,
        fee=FEE,
    )


def _snapshot(fills: list[Fill]) -> dict[str, Any]:
    positions: dict[str, Position] = {}
    for fill in fills:
        position = positions.setdefault(fill.symbol, Position(symbol=fill.symbol))
        position.apply(fill.side, fill.qty, fill.price, fill.fee)
    pnl = sum((p.realized - p.fees for p in positions.values()), Decimal(0))
    return {
        "name": "r",
        "status": "running",
        "events": len(fills),
        "positions": {s: p.to_json() for s, p in positions.items()},
        "pnl": str(pnl),
        "error": None,
        "risk": {"refusals": {}},
    }


def _text(rows: Any) -> str:
    console = Console(width=200, record=True)
    console.print(render(rows))
    return console.export_text()


BR_ROUND_TRIP = [_fill(1, "BR", Side.BUY, "65.40"), _fill(2, "BR", Side.SELL, "65.52")]


def test_a_dollar_contracts_pnl_is_in_roubles_at_the_configured_rate() -> None:
    table = InstrumentTable().at_usd_rate(Decimal(90))

    [row] = summarize([_snapshot(BR_ROUND_TRIP)], {}, {"r": BR_ROUND_TRIP}, [], table)

    # 12 ticks of 0.01 dollar-a-barrel on 10 barrels at 90 roubles: 108 roubles, less 2 fees
    assert row.realized == Decimal(108) - 2 * FEE
    assert row.unpriced == ()
    assert notes([row]) == []
    assert "P&L in roubles, net of fees" in _text([row])


def test_without_a_rate_a_dollar_contracts_pnl_stays_in_points_and_says_so() -> None:
    [row] = summarize([_snapshot(BR_ROUND_TRIP)], {}, {"r": BR_ROUND_TRIP}, [], InstrumentTable())

    assert row.realized == Decimal("0.12") - 2 * FEE
    assert row.unpriced == ("BR",)
    assert "-0.88 pts" in _text([row])
    assert notes([row]) == [
        "P&L of r in price points, not roubles: BR has no rouble point value ([instruments] "
        'usd_rub = "..." prices the dollar contracts RTS, BR, GOLD, ED; [instruments.SYMBOL] '
        "point_value any other)"
    ]


def test_an_open_position_and_the_drawdown_are_marked_in_roubles() -> None:
    fills = [_fill(1, "RTS", Side.BUY, "110000")]
    quotes = [
        quote("RTS", "109900", "109910", ts=TS + 2),  # mid 109905: 95 points down
        quote("RTS", "110090", "110100", ts=TS + 3),  # mid 110095: 95 points up
    ]
    table = InstrumentTable().at_usd_rate(Decimal(100))  # 2 roubles a point

    [row] = summarize([_snapshot(fills)], {}, {"r": fills}, quotes, table)

    assert row.unrealized == Decimal(190)
    assert row.max_drawdown == Decimal("190.5")  # from 0 to -190.5 (the fee, 95 points down)
    assert row.realized == -FEE
