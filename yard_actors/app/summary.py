"""The end-of-run summary: per robot, what it did and what it made, from the order store.

Orders and fills come from the store (the source of truth), positions and
realised P&L from the robots' own books, unrealised P&L from the last mid of
each symbol, and the maximum drawdown from an equity curve rebuilt in event
time: the robot's fills applied in order, marked to every quote of its symbols.
A robot's status says whether it ran to the end; ``rejects`` counts its orders
the exchange rejected and those its own risk limits refused; ``working``, the
orders still open when the run stopped, each listed under the table
(:func:`notes`). A failed robot makes the run's exit code 1 (:func:`exit_code`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import attrs

from gateways.store import OrderRecord, OrderState
from yard_actors.robot.book import Position
from yard_actors.wire.events import Fill, Quote

__all__ = ["RobotSummary", "exit_code", "notes", "render", "summarize"]

_FAILED = "failed"


@attrs.frozen(kw_only=True)
class RobotSummary:
    name: str
    status: str  # the robot's lifecycle status at the end: running, paused, halted, failed
    error: str | None  # why it failed, if it did
    events: int
    orders: int
    fills: int
    rejects: int  # rejected by the exchange or the gateway, plus refused by its risk limits
    working: tuple[OrderRecord, ...]  # orders still open at the end, oldest first
    position: Mapping[str, int]
    realized: Decimal
    unrealized: Decimal
    max_drawdown: Decimal


def summarize(
    snapshots: Sequence[Mapping[str, Any]],
    orders: Mapping[str, Sequence[OrderRecord]],
    fills: Mapping[str, Sequence[Fill]],
    quotes: Iterable[Quote],
) -> list[RobotSummary]:
    """One row per robot; ``quotes`` is the run's market data in time order (read once).

    ``orders`` and ``fills`` are each robot's, from the store.
    """
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
        records = orders.get(name, ())
        refused = sum(snapshot.get("risk", {}).get("refusals", {}).values())
        rows.append(
            RobotSummary(
                name=name,
                status=str(snapshot["status"]),
                error=snapshot.get("error"),
                events=int(snapshot["events"]),
                orders=len(records),
                fills=len(fills.get(name, ())),
                rejects=refused + sum(r.state is OrderState.REJECTED for r in records),
                working=tuple(r for r in records if r.is_open),
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
        "status",
        "events",
        "orders",
        "fills",
        "rejects",
        "working",
        "position",
        "realised P&L",
        "unrealised P&L",
        "max drawdown",
    ):
        left = column in ("robot", "status", "position")
        table.add_column(column, justify="left" if left else "right")
    for row in rows:
        position = " ".join(f"{s}:{q:+d}" for s, q in row.position.items()) or "flat"
        table.add_row(
            row.name,
            row.status.upper() if row.status == _FAILED else row.status,
            f"{row.events:,}",
            f"{row.orders:,}",
            f"{row.fills:,}",
            f"{row.rejects:,}",
            f"{len(row.working):,}",
            position,
            _money(row.realized),
            _money(row.unrealized),
            _money(row.max_drawdown),
        )
    return table


def notes(rows: Sequence[RobotSummary]) -> list[str]:
    """Lines for under the table: each failed robot and why, each order left working."""
    lines = [f"robot {row.name} failed: {row.error}" for row in rows if row.status == _FAILED]
    for row in rows:
        for order in row.working:
            price = "market" if order.price is None else f"@ {order.price}"
            left = f", {order.filled_qty} filled" if order.filled_qty else ""
            lines.append(
                f"left working: {row.name} {order.side.value} {order.qty} {order.symbol} "
                f"{price} ({order.client_order_id}, {order.state.value}{left})"
            )
    return lines


def exit_code(rows: Sequence[RobotSummary]) -> int:
    """1 if a robot failed (the summary says which), else 0."""
    return 1 if any(row.status == _FAILED for row in rows) else 0


def _money(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01')):,}"
