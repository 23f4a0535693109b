"""A robot's figures from the events it got and the commands it sent: P&L, fees, fills, risk.

Computed from the events alone (the Fill reports the robot received, the quotes it saw, the
commands it sent), not read from the robot, so they check the robot's own book instead of
repeating it. Exact: Decimal throughout, positions as FIFO lots (the book's
:class:`~yard_actors.robot.book.Position`). Money figures are in price points times lots,
as the robot's ``pnl``.

- realised: closed lots' P&L before fees; ``net`` = realised - fees + unrealised.
- unrealised: open lots marked by the one rule yard marks with everywhere
  (:class:`~yard_actors.robot.marks.Marks`: the last mid, else the last trade price).
- turnover: the sum of price x qty over fills.
- fill ratio: lots filled / lots ordered.
- slippage: per lot filled, the fill price against the mid of the robot's last quote of the
  symbol when it sent the order (the arrival price), signed so a positive figure is a cost
  (paid above it, sold below it); fills of orders sent before any quote are left out.
- max drawdown: the largest fall of equity (net, marked at every event) from its peak.
- time in market: the share of market time with a non-zero position in any symbol. Market
  time runs from the robot's first event to its last, less the stretches when a session it
  was told of (:class:`~yard_actors.wire.events.SessionStatus`) was not open.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import attrs

from yard_actors.robot.book import Position
from yard_actors.robot.marks import Marks
from yard_actors.wire.events import (
    CancelOrder,
    CancelReply,
    Command,
    Event,
    Fill,
    MarketEvent,
    NewOrder,
    OrderRejected,
    Quote,
    SessionState,
    SessionStatus,
)

__all__ = ["MetricsLedger", "RobotMetrics"]

_ZERO = Decimal(0)
_RATIO = Decimal("0.0001")
_PRICE = Decimal("0.000001")


@attrs.frozen(kw_only=True)
class RobotMetrics:
    """One robot's figures over the analysed events (see the module docstring)."""

    events: int
    realized: Decimal
    fees: Decimal
    unrealized: Decimal
    net: Decimal
    turnover: Decimal
    orders: int
    cancels: int
    fills: int
    ordered_qty: int
    filled_qty: int
    fill_ratio: Decimal | None
    avg_slippage: Decimal | None
    max_drawdown: Decimal
    time_in_market: Decimal | None
    positions: Mapping[str, int]

    def to_json(self) -> dict[str, Any]:
        """JSON values: decimals as strings (exact), None where a figure has no meaning."""
        return {
            field.name: _jsonable(getattr(self, field.name)) for field in attrs.fields(RobotMetrics)
        }


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return dict(value)
    return value


class MetricsLedger:
    """Follows one robot event by event; :meth:`metrics` gives its figures so far."""

    def __init__(self) -> None:
        self.positions: dict[str, Position] = {}
        self.marks = Marks()
        self._sent: dict[str, tuple[Decimal | None, int]] = {}  # live order -> (arrival, left)
        self._realized_net = _ZERO  # realised - fees, changed by fills only
        self.equity = _ZERO
        self._peak: Decimal | None = None
        self._drawdown = _ZERO
        self._events = 0
        self._turnover = _ZERO
        self._orders = self._cancels = self._fills = self._ordered = self._filled = 0
        self._slippage = _ZERO
        self._slipped_qty = 0
        self._closed: set[str] = set()  # sessions told not open
        self._last_ts: int | None = None
        self._market_ns = 0
        self._in_market_ns = 0

    def update(self, event: Event, commands: Sequence[Command]) -> None:
        """Take one event the robot handled and the commands it sent for it."""
        self._events += 1
        self._clock(event.ts)
        if type(event) is Quote:  # most events: first, as a robot does
            self.marks.quotes[event.symbol] = event
        elif isinstance(event, MarketEvent):
            self.marks.update(event)
        elif type(event) is Fill:
            self._fill(event)
        elif type(event) is OrderRejected or (type(event) is CancelReply and event.cancelled):
            self._sent.pop(event.client_order_id, None)
        elif type(event) is SessionStatus:
            self._session(event)
        for command in commands:
            self._command(command)
        self._mark()

    def position(self, symbol: str) -> int:
        position = self.positions.get(symbol)
        return 0 if position is None else position.qty

    def metrics(self) -> RobotMetrics:
        realized = sum((p.realized for p in self.positions.values()), _ZERO)
        fees = sum((p.fees for p in self.positions.values()), _ZERO)
        unrealized = self._unrealized()
        return RobotMetrics(
            events=self._events,
            realized=realized,
            fees=fees,
            unrealized=unrealized,
            net=realized - fees + unrealized,
            turnover=self._turnover,
            orders=self._orders,
            cancels=self._cancels,
            fills=self._fills,
            ordered_qty=self._ordered,
            filled_qty=self._filled,
            fill_ratio=_ratio(self._filled, self._ordered),
            avg_slippage=_per_lot(self._slippage, self._slipped_qty),
            max_drawdown=self._drawdown,
            time_in_market=_ratio(self._in_market_ns, self._market_ns),
            positions={s: p.qty for s, p in sorted(self.positions.items())},
        )

    def _fill(self, fill: Fill) -> None:
        position = self.positions.get(fill.symbol)
        if position is None:
            position = self.positions[fill.symbol] = Position(symbol=fill.symbol)
        before = position.realized - position.fees
        position.apply(fill.side, fill.qty, fill.price, fill.fee)
        self._realized_net += position.realized - position.fees - before
        self._fills += 1
        self._filled += fill.qty
        self._turnover += fill.price * fill.qty
        sent = self._sent.get(fill.client_order_id)
        if sent is None:
            return
        arrival, left = sent
        if arrival is not None:
            self._slippage += (fill.price - arrival) * fill.side.sign * fill.qty
            self._slipped_qty += fill.qty
        if left > fill.qty:
            self._sent[fill.client_order_id] = (arrival, left - fill.qty)
        else:
            del self._sent[fill.client_order_id]

    def _command(self, command: Command) -> None:
        if type(command) is NewOrder:
            self._orders += 1
            self._ordered += command.qty
            arrival = self.marks.price(command.symbol)
            self._sent[command.client_order_id] = (arrival, command.qty)
        elif type(command) is CancelOrder:
            self._cancels += 1

    def _session(self, status: SessionStatus) -> None:
        if status.state is SessionState.OPEN:
            self._closed.discard(status.session)
        else:
            self._closed.add(status.session)

    def _clock(self, ts: int) -> None:
        """Count the time since the previous event as market time, and in the market."""
        last, self._last_ts = self._last_ts, ts
        if last is None or ts <= last or self._closed:
            return
        self._market_ns += ts - last
        if any(position.qty for position in self.positions.values()):
            self._in_market_ns += ts - last

    def _mark(self) -> None:
        equity = self._realized_net + self._unrealized()
        self.equity = equity
        if self._peak is None or equity > self._peak:
            self._peak = equity
        elif self._peak - equity > self._drawdown:
            self._drawdown = self._peak - equity

    def _unrealized(self) -> Decimal:
        total = _ZERO
        for symbol, position in self.positions.items():
            if position.qty:
                mark = self.marks.price(symbol)
                if mark is not None:
                    total += position.unrealized(mark)
        return total


def _ratio(part: int, whole: int) -> Decimal | None:
    return None if not whole else (Decimal(part) / whole).quantize(_RATIO)


def _per_lot(total: Decimal, qty: int) -> Decimal | None:
    return None if not qty else (total / qty).quantize(_PRICE).normalize()
