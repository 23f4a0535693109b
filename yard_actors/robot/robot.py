"""The Robot API: what a trader subclasses.

A robot is a plain, single-threaded object. :meth:`Robot.handle` is its one
entry point: the framework (the actor, the test harness, the replayer) passes
it one event at a time and gets back the commands to send. Everything the robot
may depend on arrives in those events — ``self.now`` is the current event's
``ts`` — so the same events always give the same commands and the same
:meth:`Robot.snapshot`. That is what makes journals replayable.

The framework keeps the robot's book (working orders, positions, P&L) from its
own commands, replies and fills *before* calling the user's handler, so a
handler always sees the book up to date with the event it is handling.

Timers work the same way: the robot keeps its schedule (:mod:`yard_actors.robot.timers`)
but never fires it; whoever feeds it asks :meth:`Robot.due_timers` before each
event and hands it the due :class:`~yard_actors.wire.events.Timer` events first.

Why this module is past the house's ~400 lines: it is one class with one job, the
surface a trader subclasses. Most of it is that public API with its docstrings
(handlers to override, read-only views of the book, command builders, timer
requests), which has to live on the class users subclass; the rest is
:meth:`Robot.handle` and its dispatch, kept together because that is the per-event
hot path. The mechanics live beside it: the book (``book.py``), risk checks
(``risk.py``), status transitions (``lifecycle.py``), timers (``timers.py``),
params (``params.py``) and JSON conversion (``snapshot.py``).
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import Any, ClassVar

from yard_actors.errors import RobotError
from yard_actors.robot.book import Book, Position, WorkingOrder
from yard_actors.robot.lifecycle import RobotStatus, next_status
from yard_actors.robot.params import build_params, changed_params
from yard_actors.robot.risk import NO_LIMITS, RiskGuard, RiskLimits
from yard_actors.robot.snapshot import to_jsonable
from yard_actors.robot.timers import TimerSchedule
from yard_actors.wire.events import (
    CancelOrder,
    CancelReply,
    Command,
    Control,
    ControlAction,
    Event,
    Fill,
    NewOrder,
    OrderAccepted,
    OrderRejected,
    Quote,
    SessionStatus,
    Side,
    SystemStatus,
    Tick,
    TimeInForce,
    Timer,
)
from yard_actors.wire.instruments import InstrumentTable

__all__ = ["HandlerResult", "Robot", "RobotStatus"]

logger = logging.getLogger(__name__)

HandlerResult = Iterable[Command] | Command | None


# Market data and timers reach the user's handlers only while running; replies,
# fills, control and status always do, so the robot's view of its orders stays true.
_RUNNING_ONLY = (Quote, Tick, Timer)
_MAX_FEEDBACK_ROUNDS = 100
# What user code may raise that still ends the process, as Python means them to: anything
# else (an Exception, GeneratorExit, a user's own BaseException) fails or refuses one robot.
_PROPAGATED = (KeyboardInterrupt, SystemExit)


class Robot:
    """Subclass this, declare ``symbols`` and write the handlers you need.

    Each handler may return ``None``, one command or an iterable of commands,
    built with :meth:`buy`, :meth:`sell` and :meth:`cancel`. Set up your own
    state in :meth:`on_start`; public attributes (no leading ``_``) are part of
    :meth:`snapshot` and must be JSON-able (Decimal, enums, attrs classes,
    tuples and sets are converted).

    ``limits`` are the risk limits the robot's commands and params must keep
    (:mod:`yard_actors.robot.risk`); declare in ``order_qty_params`` and
    ``position_params`` the params they bound, so a ``set_params`` past one is refused.
    """

    symbols: ClassVar[Sequence[str]] = ()
    #: An attrs class for typed params; ``None`` means params are a plain dict.
    params_class: ClassVar[type[Any] | None] = None
    #: Params that size one order: none may exceed the risk limit ``max_order_qty``.
    order_qty_params: ClassVar[Sequence[str]] = ()
    #: Params that bound or target a position: none may exceed ``max_position``.
    position_params: ClassVar[Sequence[str]] = ()

    def __init__(
        self,
        name: str,
        *,
        params: Any = None,
        symbols: Sequence[str] | None = None,
        instruments: InstrumentTable | None = None,
        limits: RiskLimits | None = None,
    ) -> None:
        cls = type(self)
        self._name = name
        self._symbols: tuple[str, ...] = tuple(cls.symbols if symbols is None else symbols)
        self._params = build_params(cls.params_class, params, name)
        self._instruments = instruments if instruments is not None else InstrumentTable()
        self._risk = RiskGuard(
            name,
            limits if limits is not None else NO_LIMITS,
            params_class=cls.params_class,
            order_qty_params=cls.order_qty_params,
            position_params=cls.position_params,
        )
        try:  # params over a limit stop the build, as params the params class refuses do
            self._risk.check_params(self._params)
        except RobotError as exc:
            msg = f"robot {name}: {exc}"
            raise RobotError(msg) from None
        self._book = Book()
        self._status = RobotStatus.RUNNING
        self._now = 0
        self._order_seq = 0
        self._events = 0
        self._last_quotes: dict[str, Quote] = {}
        self._error: str | None = None
        self._traceback: str | None = None
        self._last_refusal: str | None = None
        self._pending: list[Command] = []
        self._feedback: list[Event] = []
        self._timers = TimerSchedule(name)
        self._dispatch: dict[type[Any], Callable[[Any], HandlerResult]] = {
            Quote: self.on_quote,
            Tick: self.on_tick,
            Fill: self.on_fill,
            OrderAccepted: self.on_order_update,
            OrderRejected: self.on_order_update,
            CancelReply: self.on_order_update,
            Timer: self.on_timer,
            Control: self.on_control,
            SessionStatus: self.on_session,
            SystemStatus: self.on_system,
        }
        self._start()

    # --- handlers for users to override ----------------------------------------------------------

    def on_start(self) -> None:
        """Set up the robot's own state; runs once, at construction, before any event.

        If it raises, the robot is built failed (:attr:`error`, :attr:`failure_traceback`)
        rather than the constructor raising, so one robot cannot stop a host's start.
        """

    def on_quote(self, quote: Quote) -> HandlerResult:
        return None

    def on_tick(self, tick: Tick) -> HandlerResult:
        return None

    def on_fill(self, fill: Fill) -> HandlerResult:
        """Runs after the fill is in ``self.position(...)`` and ``self.pnl``."""
        return None

    def on_order_update(self, reply: OrderAccepted | OrderRejected | CancelReply) -> HandlerResult:
        """Runs for every reply to the robot's orders, including yard's own refusals."""
        return None

    def on_timer(self, timer: Timer) -> HandlerResult:
        """Runs when a timer set with :meth:`every` or :meth:`at` is due; ``timer.ts`` is when."""
        return None

    def on_control(self, control: Control) -> HandlerResult:
        """Runs after the framework applied the control (new status or params).

        A control the framework refused (see :attr:`last_refusal`) does not reach it.
        """
        return None

    def on_session(self, status: SessionStatus) -> HandlerResult:
        return None

    def on_system(self, status: SystemStatus) -> HandlerResult:
        return None

    def state(self) -> dict[str, Any]:
        """The robot's own state for :meth:`snapshot`; by default its public attributes."""
        return {
            key: to_jsonable(value, f"{self._name}.{key}")
            for key, value in sorted(vars(self).items())
            if not key.startswith("_")
        }

    # --- what user code reads --------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self._name

    @property
    def params(self) -> Any:
        return self._params

    @property
    def subscriptions(self) -> tuple[str, ...]:
        """The symbols this robot instance receives market data for."""
        return self._symbols

    @property
    def now(self) -> int:
        """The ``ts`` of the event being handled: the robot's only clock."""
        return self._now

    @property
    def status(self) -> RobotStatus:
        return self._status

    @property
    def error(self) -> str | None:
        return self._error

    @property
    def failure_traceback(self) -> str | None:
        return self._traceback

    @property
    def last_refusal(self) -> str | None:
        """Why the last control that could not be applied was refused; None if none was."""
        return self._last_refusal

    @property
    def risk_refusals(self) -> dict[str, int]:
        """Commands and ``set_params`` refused by each risk limit, by limit name."""
        return self._risk.refusals

    @property
    def pnl(self) -> Decimal:
        """Realised P&L net of fees, in price points times lots."""
        return self._book.realized_pnl

    def position(self, symbol: str) -> int:
        """The signed position in ``symbol`` (lots; negative is short)."""
        position = self._book.positions.get(symbol)
        return 0 if position is None else position.qty

    def positions(self) -> dict[str, int]:
        """Every symbol the robot has traded, with its signed position, sorted by symbol."""
        return {symbol: p.qty for symbol, p in sorted(self._book.positions.items())}

    def position_detail(self, symbol: str) -> Position:
        return self._book.position(symbol)

    def open_orders(self, symbol: str | None = None) -> list[WorkingOrder]:
        """Working orders, oldest first; those with a cancel requested are included."""
        orders = self._book.orders.values()
        return [o for o in orders if symbol is None or o.symbol == symbol]

    def last_quote(self, symbol: str) -> Quote | None:
        return self._last_quotes.get(symbol)

    def unrealized_pnl(self) -> Decimal:
        """Open positions marked to the last mid of each symbol seen."""
        total = Decimal(0)
        for symbol, position in self._book.positions.items():
            quote = self._last_quotes.get(symbol)
            if quote is not None:
                total += position.unrealized(quote.mid)
        return total

    # --- building commands -----------------------------------------------------------------------

    def buy(
        self,
        symbol: str,
        qty: int,
        price: Decimal | int | str | None = None,
        tif: TimeInForce = TimeInForce.DAY,
    ) -> NewOrder:
        return self._order(Side.BUY, symbol, qty, price, tif)

    def sell(
        self,
        symbol: str,
        qty: int,
        price: Decimal | int | str | None = None,
        tif: TimeInForce = TimeInForce.DAY,
    ) -> NewOrder:
        return self._order(Side.SELL, symbol, qty, price, tif)

    def cancel(self, order: str | WorkingOrder | NewOrder) -> CancelOrder:
        client_order_id = order if isinstance(order, str) else order.client_order_id
        return CancelOrder(ts=self._now, client_order_id=client_order_id, robot=self._name)

    def cancel_all(self, symbol: str | None = None) -> list[CancelOrder]:
        return [
            self.cancel(order) for order in self.open_orders(symbol) if not order.cancel_requested
        ]

    # --- timers: the rules are in yard_actors.robot.timers -----------------------------

    def every(self, name: str, interval_ms: int) -> None:
        """Have :meth:`on_timer` run every ``interval_ms`` of event time, first that long from now.

        Asked before the first event (in :meth:`on_start`), it counts from the first
        event. Asking again for ``name`` replaces that timer. Raises :class:`RobotError`
        for a bad name or interval.
        """
        self._timers.every(name, interval_ms, self._asked_at())

    def at(self, name: str, time_of_day: str, tz: str = "Europe/Moscow") -> None:
        """Have :meth:`on_timer` run each day at ``time_of_day`` local time in ``tz``.

        ``time_of_day`` is ``"HH:MM"`` or ``"HH:MM:SS"``; the first time is the first
        one strictly after now (after the first event, if asked before it). Asking
        again for ``name`` replaces that timer. Raises :class:`RobotError` for a bad
        name, time or zone.
        """
        self._timers.at(name, time_of_day, tz, self._asked_at())

    def cancel_timer(self, name: str) -> bool:
        """Remove timer ``name``; False if there was none. Its due events are then ignored."""
        return self._timers.cancel(name)

    @property
    def timer_schedule(self) -> dict[str, int | None]:
        """Each timer's next due event time, by name; None until the first event anchors it."""
        return self._timers.next_dues()

    def _asked_at(self) -> int | None:
        return None if self._events == 0 else self._now

    def _order(
        self,
        side: Side,
        symbol: str,
        qty: int,
        price: Decimal | int | str | None,
        tif: TimeInForce,
    ) -> NewOrder:
        self._order_seq += 1
        return NewOrder(
            ts=self._now,
            client_order_id=f"{self._name}-{self._order_seq}",
            robot=self._name,
            symbol=symbol,
            side=side,
            qty=qty,
            price=None if price is None else Decimal(price),
            tif=tif,
        )

    # --- the framework's entry point -------------------------------------------------------------

    def handle(self, event: Event) -> list[Command]:
        """Apply one event and return the commands to send, in order.

        Never raises for an error in user code: the robot is marked failed, the
        traceback kept, and its working orders cancelled. Nor for a control that cannot
        be applied (a transition the lifecycle refuses, params the params class refuses,
        whatever it raises): it is refused, logged and kept in :attr:`last_refusal`, and
        the robot carries on as it was. ``KeyboardInterrupt`` and ``SystemExit`` pass
        through. A :class:`Timer` first moves the timer schedule past it; one the
        schedule does not hold is ignored.
        """
        self._now = max(self._now, event.ts)
        self._events += 1
        if self._events == 1:  # timers asked for before any event start from this one
            self._timers.anchor(self._now)
        if type(event) is Quote and self._status is RobotStatus.RUNNING:
            # The common case inline (what _apply does for it): most events are quotes to
            # a running robot that does not answer them, and end here.
            self._last_quotes[event.symbol] = event
            self._run_handler(self._dispatch[Quote], event)
        else:
            if type(event) is Timer and not self._timers.take(event):
                return []
            self._apply(event)
        if not self._pending:
            return []
        out: list[Command] = self._accept_pending()
        rounds = 1
        while self._feedback:
            rounds += 1
            if rounds > _MAX_FEEDBACK_ROUNDS:
                self._fail(f"more than {_MAX_FEEDBACK_ROUNDS} rounds of refused commands")
                break
            self._apply(self._feedback.pop(0))
            out.extend(self._accept_pending())
        return out

    def due_timers(self, ts: int, limit: int | None = None) -> list[Timer]:
        """The Timer events due at or before ``ts``, in due order (ties by name); no change.

        For whoever feeds the robot (see :func:`yard_actors.robot.timers.fire_due_timers`):
        hand them to :meth:`handle` before the event with ``ts``, each with its
        due time as ``ts``. ``limit`` caps how many are returned.
        """
        return self._timers.due(ts, limit)

    def timer_horizon(self, ts: int) -> int | None:
        """With the next event at ``ts``: no timer falls due before the event time returned.

        That holds while that event and the later ones before the returned time are
        handled, whatever their handlers do, so a feeder may hand over that run
        without asking :meth:`due_timers` between them; it is ``ts`` or earlier when
        timers are due first. None: no bound, for a robot with no timer and no
        :meth:`on_timer` that could see one.
        """
        if not self._timers and type(self).on_timer is Robot.on_timer:
            return None
        return self._timers.horizon(max(self._now, ts))

    def mark_failed(self, reason: str, exc: BaseException | None = None) -> list[Command]:
        """Fail the robot for an error outside its handlers; return the commands to send.

        For whoever feeds the robot (the host's actor, a replay), when an error escaped
        :meth:`handle` or the feeding around it: a bug in yard, not in the robot. The
        robot is failed as for a handler's error (``exc``'s traceback kept) and the
        cancels of its working orders returned: journal and send them.
        """
        if exc is not None:
            self._traceback = "".join(traceback.format_exception(exc))
        self._fail(reason)
        self._feedback.clear()  # what the failed handling left: the robot will not see it
        return self._accept_pending()

    def _start(self) -> None:
        try:
            self.on_start()
        except _PROPAGATED:
            raise
        except BaseException as exc:
            self._traceback = traceback.format_exc()
            self._fail(f"{type(exc).__name__} in on_start: {exc}")

    def _apply(self, event: Event) -> None:
        if type(event) is Quote:  # the common case first
            self._last_quotes[event.symbol] = event
        else:
            self._keep_book(event)
        if type(event) is Control and not self._apply_control(event):
            return
        status = self._status
        if status is not RobotStatus.RUNNING:
            if status in (RobotStatus.FAILED, RobotStatus.STOPPED) and type(event) is not Control:
                return
            if isinstance(event, _RUNNING_ONLY):
                return
        handler = self._dispatch.get(type(event))
        if handler is not None:
            self._run_handler(handler, event)

    def _run_handler(self, handler: Callable[[Any], HandlerResult], event: Event) -> None:
        try:
            result = handler(event)
        except _PROPAGATED:
            raise
        except BaseException as exc:  # whatever a handler raises fails its robot, not the host
            self._traceback = traceback.format_exc()
            self._fail(f"{type(exc).__name__} in {handler.__name__}: {exc}")
            return
        if result is not None:
            self._collect(result, handler.__name__)

    def _collect(self, result: HandlerResult, where: str) -> None:
        if result is None:
            return
        if isinstance(result, NewOrder | CancelOrder):
            self._pending.append(result)
            return
        try:
            items = list(result)
        except TypeError:
            self._fail(f"{where} returned {type(result).__name__}, not commands")
            return
        for item in items:
            if not isinstance(item, NewOrder | CancelOrder):
                self._fail(f"{where} returned {type(item).__name__}, not a command")
                return
            self._pending.append(item)

    def _accept_pending(self) -> list[Command]:
        """Check each command; refusals go back to the robot as replies, in this same call."""
        accepted: list[Command] = []
        pending, self._pending = self._pending, []
        for command in pending:
            refusal = self._risk.admit(
                command,
                status=self._status,
                book=self._book,
                instruments=self._instruments,
                ts=self._now,
            )
            if refusal is not None:
                self._feedback.append(refusal)
                continue
            if type(command) is NewOrder:
                self._book.order_sent(command)
            else:
                self._book.cancel_sent(command.client_order_id)
            accepted.append(command)
        return accepted

    def _keep_book(self, event: Event) -> None:
        if isinstance(event, Quote):
            self._last_quotes[event.symbol] = event
        elif isinstance(event, Fill):
            self._book.filled(event)
        elif isinstance(event, OrderAccepted):
            self._book.accepted(event.client_order_id)
        elif isinstance(event, OrderRejected):
            self._book.closed(event.client_order_id)
        elif isinstance(event, CancelReply):
            if event.cancelled:
                self._book.closed(event.client_order_id)
            else:
                self._book.cancel_refused(event.client_order_id)

    def _apply_control(self, control: Control) -> bool:
        """Apply ``control``; False if it was refused (logged, kept in last_refusal)."""
        try:
            target, params = self._controlled(control)
        except _PROPAGATED:
            raise
        except RobotError as exc:  # a refusal: the sentence says why
            return self._refuse(control, str(exc))
        except BaseException as exc:  # anything else too: no control may fail or kill its robot
            return self._refuse(control, f"{type(exc).__name__}: {exc}")
        self._status, self._params = target, params
        if target in (RobotStatus.HALTED, RobotStatus.STOPPED):
            self._pending.extend(self.cancel_all())
        return True

    def _controlled(self, control: Control) -> tuple[RobotStatus, Any]:
        """The status and params ``control`` leads to; raises RobotError to refuse it."""
        target = next_status(self._status, control.action)
        if target is None:
            known = isinstance(control.action, ControlAction)
            msg = f"it is {self._status.value}" if known else "it is no control action yard knows"
            raise RobotError(msg)
        if control.action is not ControlAction.SET_PARAMS:
            return target, self._params
        params = changed_params(type(self).params_class, self._params, control.params)
        self._risk.check_params(params)  # raises RobotError: refused, counted
        return target, params

    def _refuse(self, control: Control, reason: str) -> bool:
        action = control.action
        what = action.value if isinstance(action, ControlAction) else repr(action)
        if action is ControlAction.SET_PARAMS:
            what = f"{what} {control.params!r}"
        logger.warning("robot %s refused %s: %s", self._name, what, reason)
        self._last_refusal = f"{what} at {control.ts}: {reason}"
        return False

    def _fail(self, reason: str) -> None:
        logger.error("robot %s failed: %s", self._name, reason)
        self._status = RobotStatus.FAILED
        self._error = reason
        self._pending.clear()
        self._pending.extend(self.cancel_all())

    # --- state -----------------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """The whole state, JSON-able, keys sorted: equal snapshots mean equal robots."""
        book = self._book
        return {
            "name": self._name,
            "class": f"{type(self).__module__}.{type(self).__qualname__}",
            "status": self._status.value,
            "now": self._now,
            "events": self._events,
            "order_seq": self._order_seq,
            "symbols": list(self._symbols),
            "params": to_jsonable(self._params, f"{self._name}.params"),
            "positions": {s: p.to_json() for s, p in sorted(book.positions.items())},
            "open_orders": [o.to_json() for o in book.orders.values()],
            "pnl": str(book.realized_pnl),
            "error": self._error,
            "last_refusal": self._last_refusal,
            "risk": self._risk.to_json(),
            "state": self.state(),
            "timers": self._timers.to_json(),
        }
