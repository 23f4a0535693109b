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

The class holds construction, the per-event hot path (:meth:`Robot.handle` and its
dispatch) and state; its bases add the rest of the API: the handlers to override
(``handlers.py``), the views of the book (``views.py``), the command builders
(``order_commands.py``), the timer requests (``timer_requests.py``) and what is read of the
robot, its snapshot included (``state_views.py``). The mechanics live beside it: the book
(``book.py``), risk checks (``risk.py``), what a handler's result becomes
(``commands.py``), controls (``controls.py``), status transitions (``lifecycle.py``),
timers (``timers.py``), params (``params.py``) and JSON conversion (``snapshot.py``).
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from yard_actors.errors import RobotError
from yard_actors.robot.book import Book
from yard_actors.robot.commands import HandlerResult, HeldOrders, admit_commands, commands_in
from yard_actors.robot.controls import controlled, describe_control
from yard_actors.robot.handlers import Handlers
from yard_actors.robot.lifecycle import RobotStatus
from yard_actors.robot.marks import Marks
from yard_actors.robot.order_commands import OrderCommands
from yard_actors.robot.params import build_params
from yard_actors.robot.risk import NO_LIMITS, RiskGuard, RiskLimits
from yard_actors.robot.state_views import SnapshotParts, StateViews
from yard_actors.robot.timer_requests import TimerRequests
from yard_actors.robot.timers import TimerSchedule
from yard_actors.wire.events import (
    Bar,
    CancelReply,
    Command,
    Control,
    Event,
    Fill,
    OrderAccepted,
    OrderRejected,
    Quote,
    SessionState,
    SessionStatus,
    SystemStatus,
    Tick,
    Timer,
)
from yard_actors.wire.instruments import InstrumentTable

__all__ = ["HandlerResult", "Robot", "RobotStatus"]

logger = logging.getLogger(__name__)

# Market data and timers do not reach a halted robot's handlers; replies, fills, control
# and status always do, so the robot's view of its orders stays true. A paused robot
# handles everything (its state stays current); its new orders are held (commands.py).
_HALTED_SKIPS = (Quote, Tick, Bar, Timer)
_MAX_FEEDBACK_ROUNDS = 100
# What user code may raise that still ends the process, as Python means them to: anything
# else (an Exception, GeneratorExit, a user's own BaseException) fails or refuses one robot.
_PROPAGATED = (KeyboardInterrupt, SystemExit)
_RUNNING = RobotStatus.RUNNING  # a module global: one lookup less per event


class Robot(Handlers, TimerRequests, OrderCommands, StateViews):
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
        self._failed_at: int | None = None  # _events when it failed (0: in on_start)
        self._marks = Marks()  # where its positions are marked (marks.py)
        self._last_quotes: dict[str, Quote] = self._marks.quotes  # the quote hot path's
        self._error: str | None = None
        self._traceback: str | None = None
        self._sessions: dict[str, SessionState] = {}  # the last state of each session heard
        self._last_refusal: str | None = None
        self._held = HeldOrders(name)
        self._pending: list[Command] = []
        self._feedback: list[Event] = []
        self._timers = TimerSchedule(name)
        self._snapshot_parts = SnapshotParts(cls, self._symbols)  # state_views.py
        self._on_quote = self.on_quote  # bound once: handle() calls it for most events
        self._dispatch: dict[type[Any], Callable[[Any], HandlerResult]] = {
            Quote: self._on_quote,
            Tick: self.on_tick,
            Bar: self.on_bar,
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
        # a control is stamped by the wall clock of whoever sent it: the robot's clock is
        # the data's (a compare, not max(): this runs for every event of every robot)
        if type(event) is not Control and event.ts > self._now:
            self._now = event.ts
        self._events += 1
        if self._events == 1:  # timers asked for before any event start from this one
            self._timers.anchor(self._now)
        if type(event) is Quote and self._status is _RUNNING:
            # The common case inline (what _apply and _run_handler do for it): most events
            # are quotes to a running robot that does not answer them, and end here.
            self._last_quotes[event.symbol] = event
            try:
                result = self._on_quote(event)
            except _PROPAGATED:
                raise
            except BaseException as exc:  # whatever a handler raises fails its robot
                self._handler_raised(self._on_quote, exc)
            else:
                if result is not None:
                    self._collect(result, self._on_quote.__name__)
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
        elif type(event) is Tick or type(event) is Bar:
            self._marks.update(event)
        else:
            self._book.apply(event)
            if type(event) is SessionStatus:
                self._sessions[self._instruments.session_key(event.session)] = event.state
        if type(event) is Control and not self._apply_control(event):
            return
        status = self._status
        if status is not RobotStatus.RUNNING:
            if status in (RobotStatus.FAILED, RobotStatus.STOPPED) and type(event) is not Control:
                return
            if status is RobotStatus.HALTED and isinstance(event, _HALTED_SKIPS):
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
            self._handler_raised(handler, exc)
            return
        if result is not None:
            self._collect(result, handler.__name__)

    def _handler_raised(self, handler: Callable[[Any], HandlerResult], exc: BaseException) -> None:
        """Fail the robot for what ``handler`` raised (call inside the ``except``)."""
        self._traceback = traceback.format_exc()
        self._fail(f"{type(exc).__name__} in {handler.__name__}: {exc}")

    def _collect(self, result: HandlerResult, where: str) -> None:
        commands, failure = commands_in(result, where)
        if failure is not None:
            self._fail(failure)
        else:
            self._pending.extend(commands)

    def _accept_pending(self) -> list[Command]:
        """Check each command; refusals go back to the robot as replies, in this same call."""
        pending, self._pending = self._pending, []
        accepted, refusals = admit_commands(
            pending,
            risk=self._risk,
            status=self._status,
            book=self._book,
            instruments=self._instruments,
            ts=self._now,
            held=self._held,
        )
        self._feedback.extend(refusals)
        return accepted

    def _apply_control(self, control: Control) -> bool:
        """Apply ``control``; False if it was refused (logged, kept in last_refusal)."""
        try:
            target, params = controlled(
                control,
                status=self._status,
                params=self._params,
                params_class=type(self).params_class,
                risk=self._risk,
            )
        except _PROPAGATED:
            raise
        except RobotError as exc:  # a refusal: the sentence says why
            return self._refuse(control, str(exc))
        except BaseException as exc:  # anything else too: no control may fail or kill its robot
            return self._refuse(control, f"{type(exc).__name__}: {exc}")
        self._status, self._params = target, params
        what, who = describe_control(control), control.sender or "an unnamed sender"
        logger.info("robot %s: %s by %s at %d", self._name, what, who, control.ts)
        if target in (RobotStatus.HALTED, RobotStatus.STOPPED):
            self._pending.extend(self.cancel_all())
        return True

    def _refuse(self, control: Control, reason: str) -> bool:
        what = describe_control(control)
        logger.warning("robot %s refused %s: %s", self._name, what, reason)
        self._last_refusal = f"{what} at {control.ts}: {reason}"
        return False

    def _fail(self, reason: str) -> None:
        logger.error("robot %s failed: %s", self._name, reason)
        if self._failed_at is None:
            self._failed_at = self._events
        self._status = RobotStatus.FAILED
        self._error = reason
        self._pending.clear()
        self._pending.extend(self.cancel_all())
