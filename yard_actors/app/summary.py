"""The end-of-run summary: per robot, what it did and what it made, from the order store.

Orders and fills come from the store (the source of truth), positions and
realised P&L from the robots' own books, unrealised P&L from each symbol's mark
(the last quote's mid, or the last trade price where no quote was seen: one rule,
:mod:`yard_actors.robot.marks`, the robots' own), and the maximum drawdown from an
equity curve rebuilt in event time: the robot's fills applied in order, sampled at
every market event that sets a mark of the run.
A robot's status says whether it ran to the end; ``rejects`` counts its orders
the exchange rejected and those its own risk limits refused; ``working``, the
orders still open when the run stopped, each listed under the table
(:func:`notes`). A failed robot makes the run's exit code 1 (:func:`exit_code`).

P&L is in roubles, net of fees: price points times each instrument's ``point_value``
and ``lot`` (:mod:`yard_actors.wire.instruments`). A robot that traded a symbol with no
rouble point value (a dollar contract without ``[instruments] usd_rub``, an instrument
added without one) has its P&L in price points, as the robots keep it, marked ``pts``
and explained under the table.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Final

import attrs

from gateways.store import OrderRecord, OrderState
from yard_actors.app.tables import table_width
from yard_actors.robot.book import Position
from yard_actors.robot.marks import Marks
from yard_actors.wire.events import Bar, Event, Fill, Quote, Tick
from yard_actors.wire.instruments import InstrumentTable

__all__ = [
    "BACKTEST_TITLE",
    "DROP_FIRST",
    "RUN_TITLE",
    "RobotSummary",
    "exit_code",
    "notes",
    "render",
    "summarize",
]

_FAILED = "failed"
_MARKET = (Quote, Tick, Bar)  # what marks a symbol


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
    unpriced: tuple[str, ...] = ()  # symbols with no rouble point value: P&L in price points


def summarize(
    snapshots: Sequence[Mapping[str, Any]],
    orders: Mapping[str, Sequence[OrderRecord]],
    fills: Mapping[str, Sequence[Fill]],
    market: Iterable[Event],
    instruments: InstrumentTable | None = None,
) -> list[RobotSummary]:
    """One row per robot; ``market`` is the run's market data in time order (read once;
    what is not a quote, tick or bar is passed over).

    ``orders`` and ``fills`` are each robot's, from the store; ``instruments`` (default:
    the built-in table) gives what a point is worth in roubles.
    """
    table = InstrumentTable() if instruments is None else instruments
    traded = {s["name"]: _traded(s, fills.get(s["name"], ())) for s in snapshots}
    unpriced = {name: table.unpriced(symbols) for name, symbols in traded.items()}
    values = {name: table.point_values(symbols) for name, symbols in traded.items()}
    curves = {
        s["name"]: _Curve(sorted(fills.get(s["name"], ()), key=lambda f: f.ts), values[s["name"]])
        for s in snapshots
    }
    marks = _mark_curves(market, list(curves.values()))
    rows = []
    for snapshot in snapshots:
        name = snapshot["name"]
        curve = curves[name]
        curve.apply(None, marks)  # the fills after the last mark, if any
        curve.sample()
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
                realized=_realized(snapshot, values[name]),
                unrealized=curve.unrealized(),
                max_drawdown=curve.max_drawdown,
                unpriced=unpriced[name],
            )
        )
    return rows


def _traded(snapshot: Mapping[str, Any], fills: Iterable[Fill]) -> list[str]:
    return sorted({*snapshot["positions"], *(fill.symbol for fill in fills)})


def _realized(snapshot: Mapping[str, Any], values: Mapping[str, Decimal] | None) -> Decimal:
    """Realised P&L net of fees: the robot's own figure, in roubles where ``values`` says."""
    if values is None:
        return Decimal(snapshot["pnl"])
    return sum(
        (
            Decimal(p["realized"]) * values[s] - Decimal(p["fees"])
            for s, p in snapshot["positions"].items()
        ),
        Decimal(0),
    )


def _mark_curves(market: Iterable[Event], curves: list[_Curve]) -> Marks:
    """Run the curves through ``market``; return the marks at its end.

    At each event that sets a mark, only the curves it can move take a sample: those
    with a fill due by then, and those holding its symbol. Any other would find its
    equity as it was, and change neither its peak nor its drawdown; so a day costs a few
    steps per event, per fill and per mark of a symbol held, not a pass over every
    robot's positions at every quote.
    """
    marks = Marks()
    # (the time of its next fill, its number, the curve): one entry per curve with fills left
    due = [(curve.next_ts, n, curve) for n, curve in enumerate(curves) if curve.next_ts is not None]
    heapq.heapify(due)
    holders: dict[str, dict[int, _Curve]] = {}  # symbol -> the curves holding it, by number
    update, price = marks.update, marks.price
    for event in market:
        if not isinstance(event, _MARKET) or not update(event):
            continue
        moved: dict[int, _Curve] = {}
        while due and due[0][0] <= event.ts:
            _, n, curve = heapq.heappop(due)
            for symbol, held in curve.apply(event.ts, marks).items():
                if held:
                    holders.setdefault(symbol, {})[n] = curve
                else:
                    holders.get(symbol, {}).pop(n, None)
            moved[n] = curve
            if curve.next_ts is not None:
                heapq.heappush(due, (curve.next_ts, n, curve))
        holding = holders.get(event.symbol)
        if holding:
            mark = price(event.symbol)
            for n, curve in holding.items():
                if curve.remark(event.symbol, mark):
                    moved[n] = curve
        for curve in moved.values():
            curve.sample()
    return marks


class _Curve:
    """A robot's equity through time: realised P&L net of fees plus open positions at their
    marks (:func:`_mark_curves` says when); its peak and the deepest fall from it.

    Kept by symbol, so a step recomputes only what moved: a symbol's closed part
    (realised times its point value, less fees) when a fill of it is applied, its open
    part (``mark * qty - cost``, which is the lots' sum exactly) when a fill or its mark
    moves; the totals follow by difference (Decimal sums are exact). ``values``: roubles
    per point of each symbol; None: in price points.
    """

    def __init__(self, fills: list[Fill], values: Mapping[str, Decimal] | None) -> None:
        self._fills = fills
        self._values = values or {}
        self._next = 0
        self._positions: dict[str, Position] = {}
        # each symbol's open lots: their qty, their cost (sum of qty * price), a point's value
        self._lots: dict[str, tuple[int, Decimal, Decimal]] = {}
        self._closed: dict[str, Decimal] = {}  # each symbol's realised * value - fees
        self._open: dict[str, Decimal] = {}  # each symbol's open lots at its mark, * value
        self._marks: dict[str, Decimal | None] = {}  # the mark each symbol was valued at
        self._closed_total = Decimal(0)
        self._open_total = Decimal(0)
        self.peak = Decimal(0)
        self.max_drawdown = Decimal(0)

    @property
    def next_ts(self) -> int | None:
        """The time of the next fill not yet applied; None when all are."""
        return self._fills[self._next].ts if self._next < len(self._fills) else None

    def apply(self, ts: int | None, marks: Marks) -> dict[str, bool]:
        """Apply the fills up to ``ts`` (None: all), their symbols marked at ``marks``.

        Returns each symbol a fill changed, and whether the robot holds it now.
        """
        fills, touched = self._fills, set()
        while self._next < len(fills) and (ts is None or fills[self._next].ts <= ts):
            fill = fills[self._next]
            position = self._positions.setdefault(fill.symbol, Position(symbol=fill.symbol))
            position.apply(fill.side, fill.qty, fill.price, fill.fee)
            touched.add(fill.symbol)
            self._next += 1
        held = {}
        for symbol in touched:
            position = self._positions[symbol]
            point = self._values.get(symbol, Decimal(1))
            cost = sum((qty * price for qty, price in position.lots), Decimal(0))
            self._lots[symbol] = (position.qty, cost, point)
            closed = position.realized * point - position.fees
            self._closed_total += closed - self._closed.get(symbol, Decimal(0))
            self._closed[symbol] = closed
            self._marks.pop(symbol, None)  # its lots changed: value them again
            self.remark(symbol, marks.price(symbol))
            held[symbol] = bool(position.qty)
        return held

    def remark(self, symbol: str, mark: Decimal | None) -> bool:
        """Value the open lots of ``symbol`` at ``mark`` (None: not marked yet, 0).

        Returns whether their value may have changed: False for the mark they have.
        """
        if symbol in self._marks and self._marks[symbol] == mark:
            return False
        self._marks[symbol] = mark
        qty, cost, point = self._lots[symbol]
        value = (mark * qty - cost) * point if mark is not None and qty else Decimal(0)
        self._open_total += value - self._open.get(symbol, Decimal(0))
        self._open[symbol] = value
        return True

    def sample(self) -> None:
        """Take the equity now as a point of the curve (none before the first fill)."""
        if not self._positions:
            return
        equity = self._closed_total + self._open_total
        if equity > self.peak:
            self.peak = equity
        elif self.peak - equity > self.max_drawdown:
            self.max_drawdown = self.peak - equity

    def unrealized(self) -> Decimal:
        """The open positions at their marks as last valued."""
        return self._open_total


_COLUMNS: tuple[tuple[str, str], ...] = (  # (heading, heading on two lines where narrow)
    ("robot", "robot"),
    ("status", "status"),
    ("events", "events"),
    ("orders", "orders"),
    ("fills", "fills"),
    ("rejects", "rejects"),
    ("working", "working"),
    ("position", "position"),
    ("realised P&L", "realised\nP&L"),
    ("unrealised P&L", "unrealised\nP&L"),
    ("max drawdown", "max\ndrawdown"),
)
_LEFT = {"robot", "status", "position"}
DROP_FIRST = ("working", "events", "fills", "rejects", "max drawdown", "orders")
"""The columns a narrow terminal loses, in this order, once the headings are on two lines
(``working`` first: the orders left working are listed under the table anyway)."""


RUN_TITLE: Final = "yard run: per-robot summary"
BACKTEST_TITLE: Final = "yard backtest: per-robot summary"


def render(
    rows: Sequence[RobotSummary], *, width: int | None = None, title: str = RUN_TITLE
) -> Any:
    """A rich Table of the rows (rich prints it plainly when the output is not a terminal).

    With ``width``, a table wider than that gets its headings on two lines and then loses
    columns of :data:`DROP_FIRST`, in that order, until it fits (the title says which):
    a squeezed table cuts names and numbers short, which is worse than fewer columns.
    """
    cells = [_cells(row) for row in rows]
    caption = (
        "P&L in roubles, net of fees; marked pts: in price points (notes below)"
        if any(row.unpriced for row in rows)
        else "P&L in roubles, net of fees"
    )
    headings = {wide: wide for wide, _ in _COLUMNS}
    table = _table(cells, headings, caption, title=title, dropped=())
    if width is None or table_width(table) <= width:
        return table
    headings = dict(_COLUMNS)  # on two lines
    dropped: list[str] = []
    for column in (None, *DROP_FIRST):
        if column is not None:
            dropped.append(column)
            del headings[column]
        table = _table(cells, headings, caption, title=title, dropped=dropped)
        if table_width(table) <= width:
            break
    return table


def _cells(row: RobotSummary) -> dict[str, str]:
    """The row's cells by column heading."""
    position = " ".join(f"{s}:{q:+d}" for s, q in row.position.items()) or "flat"
    unit = " pts" if row.unpriced else ""
    return {
        "robot": row.name,
        "status": row.status.upper() if row.status == _FAILED else row.status,
        "events": f"{row.events:,}",
        "orders": f"{row.orders:,}",
        "fills": f"{row.fills:,}",
        "rejects": f"{row.rejects:,}",
        "working": f"{len(row.working):,}",
        "position": position,
        "realised P&L": _money(row.realized) + unit,
        "unrealised P&L": _money(row.unrealized) + unit,
        "max drawdown": _money(row.max_drawdown) + unit,
    }


def _table(
    cells: Sequence[Mapping[str, str]],
    headings: Mapping[str, str],
    caption: str,
    *,
    title: str,
    dropped: Sequence[str],
) -> Any:
    from rich.table import Table  # noqa: PLC0415 - rich is only for people

    if dropped:
        title += f" (left out to fit: {', '.join(dropped)})"
    table = Table(title=title, caption=caption)
    for column, heading in headings.items():
        table.add_column(
            heading, justify="left" if column in _LEFT else "right", no_wrap=column == "robot"
        )
    for row in cells:
        table.add_row(*(row[column] for column in headings))
    return table


def notes(rows: Sequence[RobotSummary]) -> list[str]:
    """Lines for under the table: each failed robot and why, each order left working."""
    lines = [f"robot {row.name} failed: {row.error}" for row in rows if row.status == _FAILED]
    in_points = [row for row in rows if row.unpriced]
    if in_points:
        symbols = sorted({symbol for row in in_points for symbol in row.unpriced})
        lines.append(
            f"P&L of {', '.join(row.name for row in in_points)} in price points, not roubles: "
            f"{', '.join(symbols)} {'has' if len(symbols) == 1 else 'have'} no rouble point "
            'value ([instruments] usd_rub = "..." prices the dollar contracts RTS, BR, GOLD, '
            "ED; [instruments.SYMBOL] point_value any other)"
        )
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
