"""Building the robot a journal speaks of, and failing it where its replay raises.

Shared by every replay (:mod:`~yard_actors.journal.replay`, whole histories;
:mod:`~yard_actors.journal.replay_steps`, streamed): the robot is built from the spec the
host journaled when it added the robot, and an event whose replay raises fails the robot as
the host's actor would.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from yard_actors.robot.loader import load_robot_class
from yard_actors.robot.risk import RiskLimits
from yard_actors.robot.robot import Robot, RobotStatus
from yard_actors.wire.events import Command
from yard_actors.wire.instruments import InstrumentTable

__all__ = ["ReplayFailure", "build_robot", "fail_robot", "failed_before"]


@attrs.frozen(kw_only=True)
class ReplayFailure:
    """The first journaled event whose replay raised; the robot was failed there."""

    seq: int | None
    error: str

    def __str__(self) -> str:
        return f"the event at journal seq {self.seq} raised {self.error}"


def build_robot(
    spec: Mapping[str, Any],
    *,
    robot_class: type[Robot] | None = None,
    instruments: InstrumentTable | None = None,
) -> Robot:
    """Build a robot from the spec a host journaled when it was added."""
    cls = robot_class if robot_class is not None else load_robot_class(str(spec["class"]))
    limits = RiskLimits(**spec["limits"]) if spec.get("limits") else None
    return cls(
        str(spec["name"]),
        params=spec.get("params"),
        symbols=spec.get("symbols"),
        instruments=instruments,
        limits=limits,
    )


def failed_before(robot: Robot) -> ReplayFailure | None:
    """The robot's failure before its first event (its ``on_start`` raised), if it has one."""
    if robot.status is not RobotStatus.FAILED:
        return None
    return ReplayFailure(seq=None, error=str(robot.error))


def fail_robot(robot: Robot, failure: ReplayFailure, exc: Exception) -> list[Command]:
    """Fail ``robot`` where its replay raised; return the commands that cancel its orders."""
    try:
        return robot.mark_failed(f"replaying the journal: {failure}", exc)
    except Exception:  # a robot too broken to cancel its orders is failed all the same
        return []
