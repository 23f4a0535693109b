"""One robot in a backtest: built as a host builds it, fed as its actor feeds it.

:func:`build_robot` makes the robot and the spec the host journals for it (the same
keys, so a replay rebuilds it the same way). :class:`RobotRunner` does for one robot
what its actor does in a live host (:mod:`yard_actors.host.robot_actor`): the timers
due before an event first, each journaled; the event; each command journaled and
handed to the order desk. It has no mailbox and no thread: the backtest's loop calls it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from gateways.store.base import ReportRecord
from yard_actors.backtest.desk import OrderDesk
from yard_actors.backtest.journaling import RunJournal
from yard_actors.host.host_config import RobotSettings
from yard_actors.journal.rebuild import robot_spec
from yard_actors.robot.loader import load_robot_class
from yard_actors.robot.robot import Robot
from yard_actors.robot.timers import fire_due_timers
from yard_actors.wire.codec import encode
from yard_actors.wire.events import Command, Event, Timer
from yard_actors.wire.instruments import InstrumentTable

__all__ = ["RobotRunner", "build_robot"]

log = logging.getLogger(__name__)


def build_robot(
    settings: RobotSettings, instruments: InstrumentTable
) -> tuple[Robot, dict[str, Any]]:
    """The robot of ``settings`` and its journal spec, as :meth:`Host.add_robot` makes them.

    Raises RobotError (a class that does not load, params or limits it refuses).
    """
    cls = load_robot_class(settings.class_path)
    robot = cls(
        settings.name,
        params=dict(settings.params),
        symbols=settings.symbols,
        instruments=instruments,
        limits=settings.limits,
    )
    return robot, robot_spec(robot, settings.limits, instruments)


class RobotRunner:
    """Feeds one robot its events, journals them and hands its commands to the desk."""

    def __init__(self, robot: Robot, journal: RunJournal, desk: OrderDesk) -> None:
        self.robot = robot
        self.name = robot.name
        self._journal = journal
        self._desk = desk
        self.horizon = 0
        """No timer of the robot's falls due before this event time; 0: ask the robot.
        A caller may skip :meth:`fire_timers` for an event before it."""

    def fire_timers(self, ts: int) -> None:
        """Hand the robot its timers due at or before ``ts``; call before the event at ``ts``.

        The robot's :meth:`~Robot.timer_horizon` bounds when the next can fall due,
        whatever its handlers do meanwhile: until then the robot is not asked again.
        """
        if ts < self.horizon:
            return
        robot = self.robot
        horizon = robot.timer_horizon(ts)
        if horizon is not None and horizon <= ts:
            fire_due_timers(robot, ts, self._on_timer)
            horizon = robot.timer_horizon(ts)
        self.horizon = 0 if horizon is None else horizon  # None: no timer yet, ask again

    def on_market(self, event: Event) -> None:
        """Handle a market event (its timers fired and the event journaled already)."""
        try:
            commands = self.robot.handle(event)
        except Exception as exc:
            commands = self._crashed(exc)
        if commands:
            self._emit(commands)

    def on_reports(self, reports: Sequence[ReportRecord]) -> None:
        """Handle reports as the trades intake delivers them: journaled, then one by one.

        Each is the report the store wrote (its ``seq`` set), equal to what a robot decodes
        from the bytes the gateway publishes, which are journaled.
        """
        first = self._journal.reports([r.payload or encode(r.report) for r in reports])
        for offset, record in enumerate(reports):
            report = record.report
            self.fire_timers(report.ts)
            self._journal.delivery(self.name, first + offset)
            try:
                commands = self.robot.handle(report)
            except Exception as exc:
                commands = self._crashed(exc)
            if commands:
                self._emit(commands)

    def _on_timer(self, timer: Timer) -> None:
        self._journal.timer(self.name, encode(timer))
        try:
            commands = self.robot.handle(timer)
        except Exception as exc:
            commands = self._crashed(exc)
        if commands:
            self._emit(commands)

    def _emit(self, commands: list[Command]) -> None:
        journal, desk, name = self._journal, self._desk, self.name
        for command in commands:
            payload = encode(command)
            journal.command(name, payload)
            desk.take(name, payload, command)

    def _crashed(self, exc: Exception) -> list[Command]:
        """An error escaped :meth:`Robot.handle` (a bug in yard): the robot fails, as in a host."""
        log.error(
            "robot %s: %s escaped the handling of its events; the robot is failed",
            *(self.name, type(exc).__name__),
            exc_info=exc,
        )
        return self.robot.mark_failed(f"{type(exc).__name__} in yard: {exc}", exc)
