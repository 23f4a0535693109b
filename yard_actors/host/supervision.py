"""The Host's supervision calls: robots, snapshot, failure, pause, resume, set_params,
remove_robot, halt and control.

A base of :class:`~yard_actors.host.host.Host`, apart from it so ``host.py`` holds the host's
parts and the lifecycle of its robots, and the calls an operator makes (from the REPL, the
control server, a script) read on their own. Each is a :class:`Control` event told to the
robot, journaled by its actor like any event (so a replay reproduces it) and stamped with
who sent it (``sender``: ``"local"`` for the host's own caller, a peer's key name for the
control server). Each returns once the robot has handled it, or after ``ask_timeout``
seconds saying so, and refuses what it can tell would be refused (an unknown robot, a
transition the lifecycle refuses, params the robot's params class or risk limits refuse)
with a :class:`RobotError` before anything is sent.

Calls may come from two threads at once (the REPL's and the control server's): one
re-entrant lock (``_supervising``, :func:`supervised`) serialises them. ``robots()``,
``snapshot()`` and ``failure()`` only read, and skip it.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, cast

from yard_actors.errors import RobotError
from yard_actors.host.halting import (
    HaltReport,
    halt_robots,
    handled,
    open_orders,
    wait_cancels_answered,
)
from yard_actors.host.hosted import Hosted, robot_table
from yard_actors.host.in_flight import InFlight
from yard_actors.host.robot_actor import Deliver, ask_snapshot, ask_traceback
from yard_actors.host.table import RobotTable
from yard_actors.robot.lifecycle import RobotStatus, next_status
from yard_actors.robot.params import changed_params
from yard_actors.robot.risk import RiskGuard
from yard_actors.robot.snapshot import to_jsonable
from yard_actors.wire.events import Control, ControlAction
from yard_actors.wire.schema import EARLIEST_WALL_TS

__all__ = ["LOCAL", "Supervision", "supervised"]

logger = logging.getLogger(__name__)

LOCAL = "local"
"""The sender of a control made by the host's own caller (a script, the console)."""

_Call = TypeVar("_Call", bound=Callable[..., Any])


def supervised(method: _Call) -> _Call:
    """Run ``method`` under the host's supervision lock (one supervision call at a time)."""

    @functools.wraps(method)
    def locked(self: Supervision, *args: Any, **kwargs: Any) -> Any:
        with self._supervising:
            return method(self, *args, **kwargs)

    return cast(_Call, locked)


class Supervision:
    """The supervision calls; the host sets the attributes below and defines :meth:`_remove`."""

    _robots: dict[str, Hosted]
    _in_flight: InFlight
    _ask_timeout: float
    _supervising: threading.RLock

    def _remove(self, name: str) -> None:
        """Unroute and stop the robot, and forget it (the host's own steps)."""
        raise NotImplementedError

    def _hosted(self, name: str) -> Hosted:
        hosted = self._robots.get(name)
        if hosted is None:
            known = ", ".join(sorted(self._robots)) or "none"
            msg = f"no robot named {name!r} on this host (robots: {known})"
            raise RobotError(msg)
        return hosted

    def robots(self) -> RobotTable:
        """One row per robot, in the order they were added; ``str()`` of it is a table.

        ``awaiting``: the robot's orders sent with no report yet; ``cancelling``: its cancels
        sent with no answer yet (:mod:`.in_flight`). Any thread, no lock: it only reads.
        """
        return robot_table(self._robots.values(), self._in_flight)

    def snapshot(self, name: str) -> dict[str, Any]:
        """The robot's full state, taken between two of its events."""
        return ask_snapshot(self._hosted(name).ref, self._ask_timeout)

    def failure(self, name: str) -> str | None:
        """The traceback of the robot's failure, or None if it has not failed."""
        return ask_traceback(self._hosted(name).ref, self._ask_timeout)

    def control(
        self,
        name: str,
        action: ControlAction | str,
        params: Mapping[str, Any] | None = None,
        *,
        ts: int | None = None,
        sender: str = LOCAL,
    ) -> None:
        """Send a control command to one robot and return at once; it is journaled like any event.

        ``ts`` defaults to the wall clock here, at the edge: the robot only ever
        sees the journaled value, so replay stays exact. A ``ts`` given must be that clock,
        nanoseconds since the epoch: one before 2000 (a zero, or seconds, milliseconds or
        microseconds) raises RobotError (``docs/wire.md``, Control). Unlike the calls below,
        nothing else is checked first and nothing waited for: a refusal is the robot's, in its
        log and ``last_refusal``. Takes no lock (the trades intake's thread halts a robot with it).
        """
        hosted = self._hosted(name)
        if ts is not None and ts < EARLIEST_WALL_TS:
            msg = (
                f"a control's ts must be the wall clock in nanoseconds since the epoch (at least "
                f"{EARLIEST_WALL_TS:_}, 2000-01-01), was {ts!r}: a zero, or seconds, milliseconds"
                " or microseconds? Leave ts out to stamp the host's clock; nothing sent"
            )
            raise RobotError(msg)
        event = Control(
            ts=time.time_ns() if ts is None else ts,
            robot=name,
            action=ControlAction(action),
            params=dict(params or {}),
            sender=sender,
        )
        hosted.ref.tell(Deliver(event))

    @supervised
    def pause(self, name: str, *, sender: str = LOCAL) -> str:
        """Pause a robot: it keeps handling and journaling every event, its new orders held.

        Each order it would send is answered by an ``OrderRejected`` ("held: robot
        paused"), counted and shown (``robots()``'s ``held``, the snapshot's ``held``); its
        cancels still go out, since a cancel only reduces risk. Returns a sentence.
        """
        hosted = self._hosted(name)
        if hosted.stats.status == RobotStatus.PAUSED.value:
            return f"{name} is paused already; nothing sent"
        if not self._obeyed(hosted, self._control_event(hosted, ControlAction.PAUSE, {}, sender)):
            return self._unconfirmed(hosted, "pause")
        return f"{name} paused: events still handled and journaled, new orders held"

    @supervised
    def resume(self, name: str, *, sender: str = LOCAL) -> str:
        """Resume a paused or halted robot: its new orders are sent again. Returns a sentence."""
        hosted = self._hosted(name)
        if hosted.stats.status == RobotStatus.RUNNING.value:
            return f"{name} is running already; nothing sent"
        was = hosted.stats.status
        if not self._obeyed(hosted, self._control_event(hosted, ControlAction.RESUME, {}, sender)):
            return self._unconfirmed(hosted, "resume")
        return f"{name} resumed from {was}: it trades again"

    @supervised
    def set_params(self, name: str, *, sender: str = LOCAL, **params: Any) -> dict[str, Any]:
        """Change some of a robot's params; return all its params after (JSON-able).

        Checked here first against the robot's params class and its risk limits (the
        checks the robot itself makes): a refusal is a :class:`RobotError` naming the
        param and the problem, and nothing is sent. Values must be JSON values (send a
        decimal as a string: the params class converts it).
        """
        hosted = self._hosted(name)
        if not params:
            msg = f"set_params({name!r}, ...) needs at least one param, as key=value"
            raise RobotError(msg)
        control = self._control_event(hosted, ControlAction.SET_PARAMS, params, sender)
        expected = _checked_params(hosted, control.params)
        if not self._obeyed(hosted, control):
            logger.warning("%s", self._unconfirmed(hosted, "set_params"))
            return dict(to_jsonable(expected, f"{name}.params"))
        if hosted.stats.params != expected:
            msg = f"{name} refused set_params {params!r}: {hosted.stats.refusal}"
            raise RobotError(msg)
        return dict(to_jsonable(hosted.stats.params, f"{name}.params"))

    @supervised
    def remove_robot(
        self, name: str, *, sender: str = LOCAL, timeout: float | None = None
    ) -> list[str]:
        """Cancel the robot's working orders, then stop it; its journal stays.

        A robot with working orders (or cancels awaiting an answer) is halted first (a
        journaled ``halt``: it cancels every working order, and comes back halted if added
        again), then the host waits, up to ``timeout`` s (``ask_timeout``), until the
        gateway has answered every cancel. Returns the client order ids of the working
        orders it cancelled (empty if none; an order that filled before its cancel arrived
        is among them: it is final too). If the gateway has not answered them all in time,
        raises :class:`RobotError` naming them, and the robot stays, halted, its cancels
        sent again until answered: call ``remove_robot`` again. A robot with no working
        order is stopped as it is, so added again it carries on as it was.
        """
        hosted = self._hosted(name)
        cancelled: list[str] = []
        if open_orders([hosted], self._in_flight):
            cancelled = self._cancel_working(hosted, sender, timeout)
        self._remove(name)
        if hosted.stats.open_orders:  # sent as it was being removed: an order nobody watches
            msg = (
                f"{name} is removed, but sent {hosted.stats.open_orders} order(s) as it was "
                "being removed; add it again (it restores them from its journal), then remove "
                "it again to cancel them"
            )
            logger.error("%s", msg)
            raise RobotError(msg)
        logger.info("robot %s removed by %s; cancelled first: %s", name, sender, cancelled)
        return cancelled

    def _cancel_working(self, hosted: Hosted, sender: str, timeout: float | None) -> list[str]:
        """Halt the robot, wait for the gateway to answer its cancels; the orders' ids."""
        name = hosted.name
        wait = self._ask_timeout if timeout is None else timeout
        deadline = time.monotonic() + wait
        # What works before the halt, and what it sent before handling it: some cancels may
        # be answered before the robot is seen to have handled its halt.
        working = dict.fromkeys(self._open_orders(hosted))
        if hosted.stats.status in (RobotStatus.RUNNING.value, RobotStatus.PAUSED.value):
            self.control(name, ControlAction.HALT, sender=sender)
        if handled([hosted], deadline):
            msg = f"{name} has not handled its halt within {wait:g} s; it is not removed"
            raise RobotError(msg)
        working.update(dict.fromkeys(self._open_orders(hosted)))
        if wait_cancels_answered([hosted], self._in_flight, deadline):
            left = self._open_orders(hosted)
            msg = (
                f"{name} is halted but not removed: the gateway has not answered the cancels "
                f"of {', '.join(left) or 'its orders'} within {wait:g} s (they are sent again "
                "until it does); call remove_robot again"
            )
            raise RobotError(msg)
        return list(working)

    @supervised
    def halt(self, *, sender: str = LOCAL, timeout: float | None = None) -> HaltReport:
        """The kill switch: halt every robot, and wait until the gateway confirmed the cancels.

        Each running or paused robot gets a journaled ``halt`` (it cancels every working
        order and trades no more until ``resume``). Returns a :class:`HaltReport` once no
        robot has a working order left, or after ``timeout`` s (``ask_timeout``), saying
        how many were left unanswered.
        """
        wait = self._ask_timeout if timeout is None else timeout
        logger.warning("halt by %s: halting every robot", sender)
        return halt_robots(
            list(self._robots.values()),
            self._in_flight,
            halt=lambda hosted: self.control(hosted.name, ControlAction.HALT, sender=sender),
            timeout=wait,
        )

    # --- helpers -----------------------------------------------------------------------------

    def _control_event(
        self, hosted: Hosted, action: ControlAction, params: Mapping[str, Any], sender: str
    ) -> Control:
        """The control to send, or RobotError if the robot's lifecycle or the wire refuses it."""
        if _target(hosted, action) is None:
            status = hosted.stats.status
            msg = f"cannot {action.value} {hosted.name}: it is {status}; nothing sent"
            raise RobotError(msg)
        try:
            return Control(
                ts=time.time_ns(),
                robot=hosted.name,
                action=action,
                params=dict(params),
                sender=sender,
            )
        except ValueError as exc:
            msg = f"cannot {action.value} {hosted.name}: {exc}; nothing sent"
            raise RobotError(msg) from None

    def _obeyed(self, hosted: Hosted, control: Control) -> bool:
        """Send ``control`` and wait for the robot to handle it: False if it has not in time.

        Raises RobotError if the robot refused it, with the robot's sentence.
        """
        target = _target(hosted, control.action)
        hosted.ref.tell(Deliver(control))
        if handled([hosted], time.monotonic() + self._ask_timeout):
            return False
        if target is not None and hosted.stats.status != target.value:
            msg = f"{hosted.name} refused {control.action.value}: {hosted.stats.refusal}"
            raise RobotError(msg)
        return True

    def _unconfirmed(self, hosted: Hosted, what: str) -> str:
        backlog = hosted.stats.backlog.waiting
        return (
            f"{hosted.name}: {what} sent, not handled within {self._ask_timeout:g} s (market "
            f"data waiting for it: {backlog}); robots() shows when it is"
        )

    def _open_orders(self, hosted: Hosted) -> list[str]:
        """The client order ids of the robot's working orders, oldest first."""
        snapshot = ask_snapshot(hosted.ref, self._ask_timeout)
        return [order["client_order_id"] for order in snapshot["open_orders"]]


def _target(hosted: Hosted, action: ControlAction) -> RobotStatus | None:
    """The status ``action`` takes the robot to, by the figures it published; None: refused
    (a status the lifecycle table does not know, a restart under way, refuses every action)."""
    try:
        status = RobotStatus(hosted.stats.status)
    except ValueError:
        return None
    return next_status(status, action)


def _checked_params(hosted: Hosted, changes: Mapping[str, Any]) -> Any:
    """The robot's params with ``changes``, checked as the robot will; RobotError to refuse."""
    robot_type = hosted.robot_type
    try:
        changed = changed_params(robot_type.params_class, hosted.stats.params, changes)
        guard = RiskGuard(
            hosted.name,
            hosted.limits,
            params_class=robot_type.params_class,
            order_qty_params=robot_type.order_qty_params,
            position_params=robot_type.position_params,
        )
        guard.check_params(changed)
    except RobotError as exc:
        msg = f"cannot set params of {hosted.name}: {exc}; nothing sent"
        raise RobotError(msg) from None
    return changed
