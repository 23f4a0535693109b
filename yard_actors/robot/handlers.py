"""The handlers a trader overrides: ``on_quote``, ``on_tick``, ``on_bar``, ``on_fill``, ...

A base of :class:`~yard_actors.robot.robot.Robot`, apart from it so the class traders
subclass stays construction, dispatch and state. Each handler does nothing by default;
:meth:`Robot.handle` calls them one event at a time, on whichever thread feeds the robot.
"""

from __future__ import annotations

from yard_actors.robot.commands import HandlerResult
from yard_actors.wire.events import (
    Bar,
    CancelReply,
    Control,
    Fill,
    OrderAccepted,
    OrderRejected,
    Quote,
    SessionStatus,
    SystemStatus,
    Tick,
    Timer,
)

__all__ = ["Handlers"]


class Handlers:
    """The user's handlers, each returning ``None``, one command or an iterable of them."""

    def on_start(self) -> None:
        """Set up the robot's own state; runs once, at construction, before any event.

        If it raises, the robot is built failed (:attr:`error`, :attr:`failure_traceback`)
        rather than the constructor raising, so one robot cannot stop a host's start.
        """

    def on_quote(self, quote: Quote) -> HandlerResult:
        return None

    def on_tick(self, tick: Tick) -> HandlerResult:
        return None

    def on_bar(self, bar: Bar) -> HandlerResult:
        """Runs for each bar of the robot's symbols (from bar files), at the bar's close.

        ``bar.ts`` is the last nanosecond of the bar's period (``bar.start`` its first), so
        an order sent here meets the market after the bar, never inside it.
        """
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
