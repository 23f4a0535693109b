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
:attr:`ReplayResult.failure`, and the rest of its events still keep its book. Where the
robot turned failed, for that reason or because a handler raised (which ``handle`` keeps
to itself), is :attr:`ReplayResult.failed_at`: the host's supervision quarantines an event
that fails a robot twice (``docs/supervision.md``), and every replay skips the events its
journal marks so (:attr:`~yard_actors.journal.RobotJournal.quarantined`).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import Any

import attrs

from yard_actors.errors import RobotError
from yard_actors.journal import RobotJournal, read_robot
from yard_actors.robot.loader import load_robot_class
from yard_actors.robot.risk import RiskLimits
from yard_actors.robot.robot import Robot, RobotStatus
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
    """What a replay gave: the robot, the events it was fed, the commands it produced.

    ``failure``: the first event whose replay raised. ``failed_at``: the event after which
    the robot was first failed, whatever failed it (seq None: it was failed before its
    first event, in ``on_start``). ``skipped``: the quarantined seqs it was not fed.
    ``stopped``: the replay was called off before its end (the robot is incomplete).
    """

    robot: Robot
    events: tuple[Event, ...]
    commands: tuple[Command, ...]
    divergence: Divergence | None
    failure: ReplayFailure | None = None
    failed_at: ReplayFailure | None = None
    skipped: tuple[int, ...] = ()
    stopped: bool = False

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


_STOP_CHECK = 1024  # events between two looks at the ``stop`` flag


def replay_into(
    robot: Robot, history: RobotJournal, *, stop: threading.Event | None = None
) -> ReplayResult:
    """Feed a journal's events into ``robot`` and compare its commands with the journal's.

    Events the history marks quarantined are skipped. Never raises for an event
    (``KeyboardInterrupt`` and ``SystemExit`` aside): the first one that raises fails
    the robot and is the result's ``failure``. ``stop``, once set, ends the replay early
    (looked at every thousand events or so; the result says ``stopped``).
    """
    events: list[Event] = []
    replayed: list[Command] = []
    journaled: list[bytes] = []
    failure: ReplayFailure | None = None
    failed_at = _failed_before(robot)
    quarantined = history.quarantined
    skipped: list[int] = []
    stopped = False
    for count, entry in enumerate(history.entries):
        if entry.kind == "command":
            journaled.append(entry.payload)
            continue
        if quarantined and entry.seq in quarantined:
            skipped.append(entry.seq)
            continue
        if stop is not None and count % _STOP_CHECK == 0 and stop.is_set():
            stopped = True
            break
        try:
            event = decode(entry.payload)
            events.append(event)
            replayed.extend(robot.handle(event))
        except Exception as exc:
            if failure is None:
                failure = ReplayFailure(seq=entry.seq, error=f"{type(exc).__name__}: {exc}")
                replayed.extend(_fail(robot, failure, exc))
        if failed_at is None and robot.status is RobotStatus.FAILED:
            failed_at = ReplayFailure(seq=entry.seq, error=str(robot.error))
    return ReplayResult(
        robot=robot,
        events=tuple(events),
        commands=tuple(replayed),
        divergence=_first_divergence(journaled, [encode(c) for c in replayed]),
        failure=failure,
        failed_at=failed_at,
        skipped=tuple(skipped),
        stopped=stopped,
    )


def _failed_before(robot: Robot) -> ReplayFailure | None:
    """The robot's failure before its first event (its ``on_start`` raised), if it has one."""
    if robot.status is not RobotStatus.FAILED:
        return None
    return ReplayFailure(seq=None, error=str(robot.error))


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
