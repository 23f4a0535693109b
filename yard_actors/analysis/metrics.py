"""A robot's figures from the events it got and the commands it sent: P&L, fees, fills, risk.

Computed from the events alone (the Fill reports the robot received, the quotes it saw, the
commands it sent), not read from the robot, so they check the robot's own book instead of
repeating it. Exact: Decimal throughout, positions as FIFO lots (the book's
:class:`~yard_actors.robot.book.Position`).

Money is in roubles, as ``yard run``'s summary has it, by the same rule
(:meth:`~yard_actors.wire.instruments.InstrumentTable.point_values`, with the instrument
table the run journaled): points times each symbol's point value and lot; fees are
roubles already. A robot that traded a symbol with no rouble point value has all its money
in price points times lots, as the robot's ``pnl`` (``money`` says which: ``"roubles"`` or
``"pts"``; ``unpriced`` names the symbols). Should such a symbol be traded only after
priced ones, the figures are all in points, and the equity the plot draws changes unit at
its first fill (it is drawn as it goes).

- realised: closed lots' P&L before fees; ``net`` = realised - fees + unrealised.
- unrealised: open lots marked by the one rule yard marks with everywhere
  (:class:`~yard_actors.robot.marks.Marks`: the last mid, else the last trade price).
- turnover: the sum of price x qty over fills (in roubles: times the point value).
- fill ratio: lots filled / lots ordered.
- slippage: per lot filled, the fill price against the mid of the robot's last quote of the
  symbol when it sent the order (the arrival price), signed so a positive figure is a cost
  (paid above it, sold below it); fills of orders sent before any quote are left out. In
  price points always: a price difference, however the money is counted.
- max drawdown: the largest fall of equity (net, marked at every event) from its peak.
- time in market: the share of market time with a non-zero position in any symbol. Market
  time runs from the robot's first event to its last, less the stretches when every session
  its symbols trade in was told not open (:class:`~yard_actors.wire.events.SessionStatus`):
  each symbol's own session when its instrument has a ``schedule``, else the FORTS day
  (:meth:`~yard_actors.wire.instruments.InstrumentTable.session_of`). Its symbols are those
  it was built with and any it got market data for or traded; another session closing (an
  NG-only evening for a robot trading Si) leaves its market time running.
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
from yard_actors.wire.instruments import InstrumentTable

__all__ = ["POINTS", "ROUBLES", "MetricsLedger", "RobotMetrics"]

ROUBLES = "roubles"
POINTS = "pts"

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
    money: str = POINTS  # the unit of realised, fees, unrealised, net, turnover, drawdown
    unpriced: tuple[str, ...] = ()  # the symbols traded with no rouble point value

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
    if isinstance(value, tuple):
        return list(value)
    return value


class _Peak:
    """An equity curve's highest point so far and its deepest fall from a peak."""

    __slots__ = ("drawdown", "peak")

    def __init__(self) -> None:
        self.peak: Decimal | None = None
        self.drawdown = _ZERO

    def take(self, equity: Decimal) -> None:
        if self.peak is None or equity > self.peak:
            self.peak = equity
        elif self.peak - equity > self.drawdown:
            self.drawdown = self.peak - equity


class MetricsLedger:
    """Follows one robot event by event; :meth:`metrics` gives its figures so far.

    ``instruments``: the table the robot ran with (default: the built-in one), for the
    rouble value of a point and the session of each symbol; ``symbols``: those it was built
    with (its spec's). ``equity``: after each event, in the robot's money so far.
    """

    def __init__(
        self, instruments: InstrumentTable | None = None, symbols: Sequence[str] = ()
    ) -> None:
        self.positions: dict[str, Position] = {}
        self.marks = Marks()
        self._instruments = InstrumentTable() if instruments is None else instruments
        self._values: dict[str, Decimal] | None = {}  # roubles a point; None: one has none
        self._unpriced: list[str] = []
        self._sent: dict[str, tuple[Decimal | None, int]] = {}  # live order -> (arrival, left)
        self._realized_net = _ZERO  # realised - fees, changed by fills only
        self._realized_roubles = _ZERO  # the same in roubles, while every symbol is priced
        self._turnover_roubles = _ZERO
        self.equity = _ZERO
        self._points = _Peak()
        self._roubles = _Peak()
        self._events = 0
        self._turnover = _ZERO
        self._orders = self._cancels = self._fills = self._ordered = self._filled = 0
        self._slippage = _ZERO
        self._slipped_qty = 0
        self._symbols: set[str] = set()  # the robot's symbols: those built with, seen, traded
        self._sessions: set[str] = set()  # the sessions they trade in
        self._closed: set[str] = set()  # sessions told not open
        self._out = False  # every session of the robot's symbols told not open: no market time
        self._last_ts: int | None = None
        self._market_ns = 0
        self._in_market_ns = 0
        self._holding = False  # a position in some symbol is not flat
        self._marked_fills = -1  # the fills counted at the last equity change: none yet
        for symbol in symbols:
            self._symbol(symbol)

    def update(self, event: Event, commands: Sequence[Command]) -> None:
        """Take one event the robot handled and the commands it sent for it."""
        self._events += 1
        self._clock(event.ts)
        if type(event) is Quote:  # most events: first, as a robot does
            self.marks.quotes[event.symbol] = event
            if event.symbol not in self._symbols:
                self._symbol(event.symbol)
        elif isinstance(event, MarketEvent):
            self.marks.update(event)
            self._symbol(event.symbol)
        elif type(event) is Fill:
            self._symbol(event.symbol)
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
        values = self._values
        fees = sum((p.fees for p in self.positions.values()), _ZERO)
        points, roubles = self._unrealized()
        if values is None:
            realized = sum((p.realized for p in self.positions.values()), _ZERO)
            unrealized, turnover, peak, money = points, self._turnover, self._points, POINTS
        else:
            realized = sum((p.realized * values[s] for s, p in self.positions.items()), _ZERO)
            unrealized, turnover = roubles, self._turnover_roubles
            peak, money = self._roubles, ROUBLES
        return RobotMetrics(
            events=self._events,
            realized=realized,
            fees=fees,
            unrealized=unrealized,
            net=realized - fees + unrealized,
            turnover=turnover,
            orders=self._orders,
            cancels=self._cancels,
            fills=self._fills,
            ordered_qty=self._ordered,
            filled_qty=self._filled,
            fill_ratio=_ratio(self._filled, self._ordered),
            avg_slippage=_per_lot(self._slippage, self._slipped_qty),
            max_drawdown=peak.drawdown,
            time_in_market=_ratio(self._in_market_ns, self._market_ns),
            positions={s: p.qty for s, p in sorted(self.positions.items())},
            money=money,
            unpriced=tuple(self._unpriced),
        )

    def _fill(self, fill: Fill) -> None:
        position = self.positions.get(fill.symbol)
        if position is None:
            position = self.positions[fill.symbol] = Position(symbol=fill.symbol)
            self._value(fill.symbol)
        realized, fees = position.realized, position.fees
        position.apply(fill.side, fill.qty, fill.price, fill.fee)
        self._holding = any(p.qty for p in self.positions.values())
        gained, paid = position.realized - realized, position.fees - fees
        self._realized_net += gained - paid
        self._fills += 1
        self._filled += fill.qty
        self._turnover += fill.price * fill.qty
        if self._values is not None:
            value = self._values[fill.symbol]
            self._realized_roubles += gained * value - paid
            self._turnover_roubles += fill.price * fill.qty * value
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
            self._symbol(command.symbol)
            self._orders += 1
            self._ordered += command.qty
            arrival = self.marks.price(command.symbol)
            self._sent[command.client_order_id] = (arrival, command.qty)
        elif type(command) is CancelOrder:
            self._cancels += 1

    def _value(self, symbol: str) -> None:
        """Learn what a point of ``symbol``, just traded, is worth in roubles."""
        value = self._instruments.point_values((symbol,))
        if value is None:
            self._unpriced.append(symbol)
            self._values = None  # the robot's money is in points, all of it
        elif self._values is not None:
            self._values.update(value)

    def _symbol(self, symbol: str) -> None:
        """Count ``symbol`` as the robot's: its session's state now matters to market time."""
        if symbol not in self._symbols:
            self._symbols.add(symbol)
            self._sessions.add(self._instruments.session_of(symbol))
            self._out = self._sessions <= self._closed

    def _session(self, status: SessionStatus) -> None:
        session = self._instruments.session_key(status.session)  # as the robot hears it
        if status.state is SessionState.OPEN:
            self._closed.discard(session)
        else:
            self._closed.add(session)
        self._out = bool(self._sessions) and self._sessions <= self._closed

    def _clock(self, ts: int) -> None:
        """Count the time since the previous event as market time, and in the market."""
        last, self._last_ts = self._last_ts, ts
        if last is None or ts <= last or self._out:
            return
        self._market_ns += ts - last
        if self._holding:
            self._in_market_ns += ts - last

    def _mark(self) -> None:
        # Flat and no fill since the last mark: the equity is what it was, a peak already taken.
        if not self._holding and self._fills == self._marked_fills:
            return
        self._marked_fills = self._fills
        points, roubles = self._unrealized()
        equity = self._realized_net + points
        self._points.take(equity)
        if self._values is not None:
            equity = self._realized_roubles + roubles
            self._roubles.take(equity)
        self.equity = equity

    def _unrealized(self) -> tuple[Decimal, Decimal]:
        """The open lots at their marks: in points, and in roubles while every symbol is priced."""
        points = roubles = _ZERO
        values = self._values
        for symbol, position in self.positions.items():
            if position.qty:
                mark = self.marks.price(symbol)
                if mark is not None:
                    value = position.unrealized(mark)
                    points += value
                    if values is not None:
                        roubles += value * values[symbol]
        return points, roubles


def _ratio(part: int, whole: int) -> Decimal | None:
    return None if not whole else (Decimal(part) / whole).quantize(_RATIO)


def _per_lot(total: Decimal, qty: int) -> Decimal | None:
    return None if not qty else (total / qty).quantize(_PRICE).normalize()
