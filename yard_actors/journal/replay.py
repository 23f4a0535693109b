"""Replaying a robot's journal into a fresh robot.

Because a robot's only inputs are its events, feeding the journaled events
into a new instance of the same class rebuilds it exactly: the same commands
and the same :meth:`~yard_actors.robot.robot.Robot.snapshot`. The commands the robot
emitted live were journaled too, so a replay checks itself: any difference
means the robot is not deterministic (a wall clock, unseeded randomness, or
shared state), and the first difference says where.

A journaled event whose replay raises (one that no longer decodes, or a bug that
escapes :meth:`~yard_actors.robot.robot.Robot.handle`) does not stop the replay:
the robot is failed there, as the host's actor would fail it, the failure is in
:attr:`ReplayResult.failure`, and the rest of its events still keep its book.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import attrs

from yard_actors.errors import RobotError
from yard_actors.journal import RobotJournal, read_robot
from yard_actors.robot.loader import load_robot_class
from yard_actors.robot.risk import RiskLimits
from yard_actors.robot.robot import Robot
from yard_actors.wire.codec import decode, encode
from yard_actors.wire.events import Command, Event
from yard_actors.wire.instruments import InstrumentTable

__all__ = ["Divergence", "ReplayFailure", "ReplayResult", "build_robot", "replay", "replay_into"]


@attrs.frozen(kw_only=True)
class Divergence:
    """The first place where the replayed commands differ from the journaled ones."""

    index: int
    journaled: bytes | None
    replayed: bytes | None

    def __str__(self) -> str:
        return (
            f"command #{self.index} differs: journaled {self.journaled!r}, "
            f"replayed {self.replayed!r}"
        )


@attrs.frozen(kw_only=True)
class ReplayFailure:
    """The first journaled event whose replay raised; the robot was failed there."""

    seq: int | None
    error: str

    def __str__(self) -> str:
        return f"the event at journal seq {self.seq} raised {self.error}"


@attrs.frozen(kw_only=True)
class ReplayResult:
    robot: Robot
    events: tuple[Event, ...]
    commands: tuple[Command, ...]
    divergence: Divergence | None
    failure: ReplayFailure | None = None

    @property
    def faithful(self) -> bool:
        """The replay gave the journaled commands, and no event raised on the way."""
        return self.divergence is None and self.failure is None


def build_robot(
    spec: dict[str, Any],
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


def replay_into(robot: Robot, history: RobotJournal) -> ReplayResult:
    """Feed a journal's events into ``robot`` and compare its commands with the journal's.

    Never raises for an event (``KeyboardInterrupt`` and ``SystemExit`` aside): the
    first one that raises fails the robot and is the result's ``failure``.
    """
    events: list[Event] = []
    replayed: list[Command] = []
    journaled: list[bytes] = []
    failure: ReplayFailure | None = None
    for entry in history.entries:
        if entry.kind == "command":
            journaled.append(entry.payload)
            continue
        try:
            event = decode(entry.payload)
            events.append(event)
            replayed.extend(robot.handle(event))
        except Exception as exc:
            if failure is None:
                failure = ReplayFailure(seq=entry.seq, error=f"{type(exc).__name__}: {exc}")
                replayed.extend(_fail(robot, failure, exc))
    return ReplayResult(
        robot=robot,
        events=tuple(events),
        commands=tuple(replayed),
        divergence=_first_divergence(journaled, [encode(c) for c in replayed]),
        failure=failure,
    )


def _fail(robot: Robot, failure: ReplayFailure, exc: Exception) -> list[Command]:
    try:
        return robot.mark_failed(f"replaying the journal: {failure}", exc)
    except Exception:  # a robot too broken to cancel its orders is failed all the same
        return []


def replay(
    directory: str | os.PathLike[str],
    name: str,
    *,
    robot_class: type[Robot] | None = None,
    instruments: InstrumentTable | None = None,
) -> ReplayResult:
    """Rebuild robot ``name`` from the journal in ``directory``."""
    history = read_robot(directory, name)
    if history.spec is None and robot_class is None:
        msg = f"journal {os.fspath(directory)} has no robot named {name!r}"
        raise RobotError(msg)
    spec = dict(history.spec or {"name": name})
    spec["name"] = name
    robot = build_robot(spec, robot_class=robot_class, instruments=instruments)
    return replay_into(robot, history)


def _first_divergence(journaled: Sequence[bytes], replayed: Sequence[bytes]) -> Divergence | None:
    for index in range(max(len(journaled), len(replayed))):
        left = journaled[index] if index < len(journaled) else None
        right = replayed[index] if index < len(replayed) else None
        if left != right:
            return Divergence(index=index, journaled=left, replayed=right)
    return None
