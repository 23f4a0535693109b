"""The spec a journal keeps of a robot, building the robot from it, and failing it where its
replay raises.

:func:`robot_spec` is what a host (and a backtest) journals when it adds a robot, and
:func:`build_robot` its inverse, kept side by side so the two cannot drift apart. Shared by
every replay (:mod:`~yard_actors.journal.replay`, whole histories;
:mod:`~yard_actors.journal.replay_steps`, streamed): the robot is built from the spec the
host journaled when it added the robot, and an event whose replay raises fails the robot as
the host's actor would. The spec holds the instrument table the robot saw (``instruments``,
:meth:`~yard_actors.wire.instruments.InstrumentTable.to_json`), so a robot that prices with
``self.instrument(symbol)`` is rebuilt with the ticks and point values it ran with, not the
built-in ones; a spec journaled before yard kept it has none, and the built-in table is used.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from yard_actors.errors import JournalError
from yard_actors.journal.source import class_source
from yard_actors.robot.loader import class_path, load_robot_class
from yard_actors.robot.risk import RiskLimits
from yard_actors.robot.robot import Robot, RobotStatus
from yard_actors.wire.events import Command
from yard_actors.wire.instruments import InstrumentTable

__all__ = [
    "ReplayFailure",
    "build_robot",
    "fail_robot",
    "failed_before",
    "robot_spec",
    "spec_instruments",
]


@attrs.frozen(kw_only=True)
class ReplayFailure:
    """The first journaled event whose replay raised; the robot was failed there."""

    seq: int | None
    error: str

    def __str__(self) -> str:
        return f"the event at journal seq {self.seq} raised {self.error}"


def robot_spec(robot: Robot, limits: RiskLimits, instruments: InstrumentTable) -> dict[str, Any]:
    """The spec to journal for ``robot``, just built with ``limits`` and ``instruments``.

    It holds what :func:`build_robot` needs to build the same robot again: its class, name,
    symbols and params (as the robot took them), the limits (a replay must refuse what the
    run refused) and the instrument table (and price as the run priced); and the class's
    file and hash (:mod:`~yard_actors.journal.source`), by which a replay names a class
    changed since the run.
    """
    cls = type(robot)
    spec: dict[str, Any] = {
        "name": robot.name,
        "class": class_path(cls),
        "symbols": list(robot.subscriptions),
        "params": robot.snapshot()["params"],
        "limits": attrs.asdict(limits),
        "instruments": instruments.to_json(),
    }
    source = class_source(cls)
    if source is not None:
        spec["source"] = dict(source)
    return spec


def build_robot(
    spec: Mapping[str, Any],
    *,
    robot_class: type[Robot] | None = None,
    instruments: InstrumentTable | None = None,
) -> Robot:
    """Build a robot from the spec a host journaled when it was added.

    ``instruments``: the table to build it with, if not the one its spec journaled
    (:func:`spec_instruments`). Raises JournalError for a journaled table that does not
    read, and whatever the robot's class raises.
    """
    cls = robot_class if robot_class is not None else load_robot_class(str(spec["class"]))
    limits = RiskLimits(**spec["limits"]) if spec.get("limits") else None
    return cls(
        str(spec["name"]),
        params=spec.get("params"),
        symbols=spec.get("symbols"),
        instruments=instruments if instruments is not None else spec_instruments(spec),
        limits=limits,
    )


def spec_instruments(spec: Mapping[str, Any]) -> InstrumentTable | None:
    """The instrument table a robot's journaled spec says it saw; None for a spec journaled
    before yard kept it (the built-in table, as then). Raises JournalError naming the robot."""
    value = spec.get("instruments")
    if value is None:
        return None
    try:
        return InstrumentTable.from_json(value)
    except ValueError as exc:
        name = spec.get("name")
        msg = f"robot {name!r}: the instruments of its journaled spec do not read: {exc}"
        raise JournalError(msg) from exc


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
