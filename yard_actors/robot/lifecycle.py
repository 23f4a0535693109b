"""A robot's lifecycle as a table: which control moves it from which status to which."""

from __future__ import annotations

import enum
from collections.abc import Mapping

from yard_actors.wire.events import ControlAction

__all__ = ["RobotStatus", "next_status"]


class RobotStatus(enum.Enum):
    """Where a robot is in its lifecycle.

    ``PAUSED``: it handles and journals every event, its state stays current, but its new
    orders are held, not sent (its cancels go out: a cancel only reduces risk).
    ``HALTED``: its working orders were cancelled, and market data and timers no longer
    reach its handlers; replies, fills and controls still do. ``resume`` ends either.
    ``FAILED`` and ``STOPPED``: its handlers see nothing more; fills and replies still keep
    its book.
    """

    RUNNING = "running"
    PAUSED = "paused"
    HALTED = "halted"
    FAILED = "failed"
    STOPPED = "stopped"


# The lifecycle as a table: (from, action) -> to. Anything else is refused.
TRANSITIONS: Mapping[tuple[RobotStatus, ControlAction], RobotStatus] = {
    (RobotStatus.RUNNING, ControlAction.PAUSE): RobotStatus.PAUSED,
    (RobotStatus.PAUSED, ControlAction.RESUME): RobotStatus.RUNNING,
    (RobotStatus.HALTED, ControlAction.RESUME): RobotStatus.RUNNING,
    (RobotStatus.RUNNING, ControlAction.HALT): RobotStatus.HALTED,
    (RobotStatus.PAUSED, ControlAction.HALT): RobotStatus.HALTED,
    (RobotStatus.RUNNING, ControlAction.STOP): RobotStatus.STOPPED,
    (RobotStatus.PAUSED, ControlAction.STOP): RobotStatus.STOPPED,
    (RobotStatus.HALTED, ControlAction.STOP): RobotStatus.STOPPED,
    (RobotStatus.RUNNING, ControlAction.SET_PARAMS): RobotStatus.RUNNING,
    (RobotStatus.PAUSED, ControlAction.SET_PARAMS): RobotStatus.PAUSED,
    (RobotStatus.HALTED, ControlAction.SET_PARAMS): RobotStatus.HALTED,
}


def next_status(status: RobotStatus, action: ControlAction) -> RobotStatus | None:
    """The status ``action`` leads to from ``status``, or None if the table refuses it."""
    return TRANSITIONS.get((status, action))
