"""The end-of-run summary: per robot, what it did and what it made, from the order store.

Orders and fills come from the store (the source of truth), positions and
realised P&L from the robots' own books, unrealised P&L from the last mid of
each symbol, and the maximum drawdown from an equity curve rebuilt in event
time: the robot's fills applied in order, marked to every quote of its symbols.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import attrs

from yard_actors.robot.book import Position
from yard_actors.wire.events import Fill, Quote

__all__ = ["RobotSummary", "render", "summarize"]


@attrs.frozen(kw_only=True)
class RobotSummary:
    name: str
    events: int
    orders: int
    fills: int
    position: Mapping[str, int]
    realized: Decimal
    unrealized: Decimal
    max_drawdown: Decimal


def summarize(
    snapshots: Sequence[Mapping[str, Any]],
    orders: Mapping[str, int],
    fills: Mapping[str, Sequence[Fill]],
    quotes: Iterable[Quote],
) -> list[RobotSummary]:
    """One row per robot; ``quotes`` is the run's market data in time order (read once)."""
    curves = {
        s["name"]: _Curve(sorted(fills.get(s["name"], ()), key=lambda f: f.ts)) for s in snapshots
    }
    last_mid: dict[str, Decimal] = {}
    for quote in quotes:
        last_mid[quote.symbol] = quote.mid
        for curve in curves.values():
            curve.mark(quote.ts, last_mid)
    rows = []
    for snapshot in snapshots:
        name = snapshot["name"]
        curve = curves[name]
        curve.mark(None, last_mid)
        rows.append(
            RobotSummary(
                name=name,
                events=int(snapshot["events"]),
                orders=orders.get(name, 0),
                fills=len(fills.get(name, ())),
                position={s: p["qty"] for s, p in snapshot["positions"].items() if p["qty"]},
                realized=Decimal(snapshot["pnl"]),
                unrealized=curve.unrealized(last_mid),
                max_drawdown=curve.max_drawdown,
            )
        )
    return rows


class _Curve:
    """A robot's equity through time: realised P&L net of fees plus open positions at mid."""

    def __init__(self, fills: list[Fill]) -> None:
        self._fills = fills
        self._next = 0
        self._positions: dict[str, Position] = {}
        self.peak = Decimal(0)
        self.max_drawdown = Decimal(0)

    def mark(self, ts: int | None, mids: Mapping[str, Decimal]) -> None:
        fills = self._fills
        while self._next < len(fills) and (ts is None or fills[self._next].ts <= ts):
            fill = fills[self._next]
            position = self._positions.setdefault(fill.symbol, Position(symbol=fill.symbol))
            position.apply(fill.side, fill.qty, fill.price, fill.fee)
            self._next += 1
        if not self._positions:
            return
        equity = sum((p.realized - p.fees for p in self._positions.values()), Decimal(0))
        equity += self.unrealized(mids)
        self.peak = max(self.peak, equity)
        self.max_drawdown = max(self.max_drawdown, self.peak - equity)

    def unrealized(self, mids: Mapping[str, Decimal]) -> Decimal:
        return sum(
            (p.unrealized(mids[s]) for s, p in self._positions.items() if s in mids), Decimal(0)
        )


def render(rows: Sequence[RobotSummary]) -> Any:
    """A rich Table of the rows (rich prints it plainly when the output is not a terminal)."""
    from rich.table import Table  # noqa: PLC0415 - rich is only for people

    table = Table(title="yard run: per-robot summary")
    for column in (
        "robot",
        "events",
        "orders",
        "fills",
        "position",
        "realised P&L",
        "unrealised P&L",
        "max drawdown",
    ):
        table.add_column(column, justify="left" if column in ("robot", "position") else "right")
    for row in rows:
        position = " ".join(f"{s}:{q:+d}" for s, q in row.position.items()) or "flat"
        table.add_row(
            row.name,
            f"{row.events:,}",
            f"{row.orders:,}",
            f"{row.fills:,}",
            position,
            _money(row.realized),
            _money(row.unrealized),
            _money(row.max_drawdown),
        )
    return table


def _money(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01')):,}"
