"""The summary's unrealised P&L and drawdown: marked by the robots' rule, on any market data.

With ticks or bars alone (Finam files) the summary used to find no quote to mark a held
lot at and showed 0.00; it marks at the last trade now, as the robots do. Its equity curve
is kept incrementally; a plain re-computation at every mark (:func:`_reference`, the
algorithm it replaced, with the same marking rule) must agree with it on any run.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from yard_actors import Side
from yard_actors.app.summary import summarize
from yard_actors.robot.book import Position
from yard_actors.robot.marks import Marks
from yard_actors.testing import bar, quote, tick
from yard_actors.wire.events import Bar, Event, Fill, Quote, Tick

TS = 1_764_226_800_000_000_000
SECOND = 10**9


def _fill(n: int, robot: str, symbol: str, side: Side, *, price: int, ts: int) -> Fill:
    return Fill(
        ts=ts,
        trade_id=f"P{n}",
        client_order_id=f"{robot}-{n}",
        robot=robot,
        symbol=symbol,
        side=side,
        price=Decimal(price),
        qty=1,
        fee=Decimal("0.5"),
    )


def _snapshot(name: str, fills: Sequence[Fill]) -> dict[str, Any]:
    """A robot's end snapshot as its book has it after ``fills``."""
    positions: dict[str, Position] = {}
    for fill in fills:
        position = positions.setdefault(fill.symbol, Position(symbol=fill.symbol))
        position.apply(fill.side, fill.qty, fill.price, fill.fee)
    pnl = sum((p.realized - p.fees for p in positions.values()), Decimal(0))
    return {
        "name": name,
        "status": "running",
        "events": 0,
        "positions": {s: p.to_json() for s, p in positions.items()},
        "pnl": str(pnl),
        "error": None,
        "risk": {"refusals": {}},
    }


def _run(market: Sequence[Event], fills: dict[str, list[Fill]]) -> dict[str, tuple[Decimal, ...]]:
    snapshots = [_snapshot(name, robot_fills) for name, robot_fills in fills.items()]
    rows = summarize(snapshots, {}, fills, market)
    return {row.name: (row.unrealized, row.max_drawdown, row.realized) for row in rows}


def test_a_lot_held_on_ticks_alone_is_marked_at_the_last_trade() -> None:
    prices = [90000, 90000, 90010, 90030, 90020, 90025]
    market = [tick("Si", price, 3, ts=TS + n * SECOND) for n, price in enumerate(prices)]
    fills = {"holder": [_fill(1, "holder", "Si", Side.BUY, price=90000, ts=TS + SECOND)]}

    figures = _run(market, fills)

    # equity: -0.5 (the fee) at the fill, 29.5 at its peak, then 19.5: a fall of 10
    assert figures["holder"] == (Decimal(25), Decimal(10), Decimal("-0.5"))


def test_a_lot_held_on_bars_alone_is_marked_at_the_last_close() -> None:
    closes = [90000, 89980, 90040]
    market = [
        bar("Si", close, close + 10, close - 10, close, ts=TS + (n + 1) * 60 * SECOND - 1)
        for n, close in enumerate(closes)
    ]
    fills = {"holder": [_fill(1, "holder", "Si", Side.BUY, price=90000, ts=market[0].ts)]}

    figures = _run(market, fills)

    assert figures["holder"] == (Decimal(40), Decimal("20.5"), Decimal("-0.5"))


def test_ticks_of_a_symbol_with_quotes_do_not_move_its_mark() -> None:
    market: list[Event] = [
        quote("Si", 90000, 90002, ts=TS),
        tick("Si", 90500, ts=TS + 1),
        quote("Si", 90010, 90012, ts=TS + 2),
        tick("Si", 89000, ts=TS + 3),
    ]
    fills = {"holder": [_fill(1, "holder", "Si", Side.BUY, price=90000, ts=TS)]}

    unrealized, drawdown, _ = _run(market, fills)["holder"]

    assert unrealized == Decimal(11)
    assert drawdown == Decimal(0)  # the mid only rose; the print at 89000 moved nothing


def test_the_curve_agrees_with_a_full_recomputation_at_every_mark() -> None:
    for seed in range(20):
        market, fills = _random_run(random.Random(seed))

        figures = _run(market, fills)

        for name, robot_fills in fills.items():
            expected = _reference(market, sorted(robot_fills, key=lambda f: f.ts))
            assert figures[name][:2] == expected, f"seed {seed}, robot {name}"


def _random_run(rng: random.Random) -> tuple[list[Event], dict[str, list[Fill]]]:
    """Quotes for Si from the middle on, ticks throughout, bars of Eu; fills of three robots."""
    prices = {"Si": 90000, "Eu": 98000}
    market: list[Event] = []
    for n in range(400):
        ts = TS + n * SECOND
        symbol = rng.choice(("Si", "Si", "Eu"))
        prices[symbol] += rng.choice((-3, -1, 0, 1, 3))
        price = prices[symbol]
        if symbol == "Eu":
            market.append(bar("Eu", price, price + 2, price - 2, price, ts=ts))
        elif n > 200 and rng.random() < 0.5:
            market.append(quote("Si", price, price + 2, ts=ts))
        else:
            market.append(tick("Si", price, ts=ts))
    fills: dict[str, list[Fill]] = {"a": [], "b": [], "c": []}
    for n in range(120):
        robot, symbol = rng.choice(tuple(fills)), rng.choice(("Si", "Eu"))
        side = rng.choice((Side.BUY, Side.SELL))
        ts = TS + rng.randrange(0, 420) * SECOND + rng.choice((0, 1))  # some after the last
        price = prices[symbol] + rng.randint(-5, 5)
        fills[robot].append(_fill(n, robot, symbol, side, price=price, ts=ts))
    return market, fills


def _reference(market: Sequence[Event], fills: Sequence[Fill]) -> tuple[Decimal, Decimal]:
    """Every robot's equity taken afresh at every event that sets a mark, then at the end."""
    positions: dict[str, Position]
    marks, positions, applied = Marks(), {}, 0
    peak = drawdown = Decimal(0)

    def sample(ts: int | None) -> Decimal:
        nonlocal applied, peak, drawdown
        while applied < len(fills) and (ts is None or fills[applied].ts <= ts):
            fill = fills[applied]
            position = positions.setdefault(fill.symbol, Position(symbol=fill.symbol))
            position.apply(fill.side, fill.qty, fill.price, fill.fee)
            applied += 1
        if not positions:
            return Decimal(0)
        unrealized = _unrealized(positions, marks)
        equity = sum((p.realized - p.fees for p in positions.values()), Decimal(0)) + unrealized
        peak = max(peak, equity)
        drawdown = max(drawdown, peak - equity)
        return unrealized

    for event in market:
        if isinstance(event, Quote | Tick | Bar) and marks.update(event):
            sample(event.ts)
    return sample(None), drawdown


def _unrealized(positions: Mapping[str, Position], marks: Marks) -> Decimal:
    total = Decimal(0)
    for symbol, position in positions.items():
        mark = marks.price(symbol)
        if mark is not None:
            total += position.unrealized(mark)
    return total
