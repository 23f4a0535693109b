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
from collections.abc import Iterable, Iterator

import attrs

from yard_actors.journal import JournalEntry, RobotJournal
from yard_actors.journal.rebuild import ReplayFailure, build_robot
from yard_actors.journal.replay_steps import (
    ReplaySession,
    ReplayStep,
    RobotReplay,
    StepDivergence,
    UndecodableEvent,
    decode_event,
    open_replay,
    replay_steps,
)
from yard_actors.journal.stream import RobotRun
from yard_actors.robot.robot import Robot
from yard_actors.wire.events import Command, Event
from yard_actors.wire.instruments import InstrumentTable

__all__ = [
    "Divergence",
    "ReplayFailure",
    "ReplayResult",
    "ReplaySession",
    "ReplayStep",
    "build_robot",
    "open_replay",
    "replay",
    "replay_into",
    "replay_steps",
]


@attrs.frozen(kw_only=True)
class Divergence:
    """The first place where the replayed commands differ from the journaled ones."""

    index: int
    journaled: bytes | None
    replayed: bytes | None

    @classmethod
    def of(cls, step: StepDivergence) -> Divergence:
        """The first differing command of a step's divergence."""
        journaled, replayed = step.first_difference()
        return cls(index=step.index, journaled=journaled, replayed=replayed)

    def __str__(self) -> str:
        return (
            f"command #{self.index} differs: journaled {self.journaled!r}, "
            f"replayed {self.replayed!r}"
        )


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
    replay = RobotReplay(history.robot, robot, history.quarantined)
    if stop is not None and stop.is_set():
        return _result(replay, (), stopped=True)
    steps = (step for run in _runs(history.entries) for step in replay.steps(run, decode_event))
    return _result(replay, steps, stop=stop)


def _result(
    replay: RobotReplay,
    steps: Iterable[ReplayStep],
    *,
    stop: threading.Event | None = None,
    stopped: bool = False,
) -> ReplayResult:
    """Run ``steps`` to their end (or ``stop``), keeping every event and command."""
    events: list[Event] = []
    replayed: list[Command] = []
    for step in steps:
        if not isinstance(step.event, UndecodableEvent):
            events.append(step.event)
        replayed.extend(step.commands)
        if stop is not None and replay.events % _STOP_CHECK == 0 and stop.is_set():
            stopped = True
            break
    divergence = replay.divergence
    return ReplayResult(
        robot=replay.robot,
        events=tuple(events),
        commands=tuple(replayed),
        divergence=None if divergence is None else Divergence.of(divergence),
        failure=replay.failure,
        failed_at=replay.failed_at,
        skipped=tuple(replay.skipped),
        stopped=stopped,
    )


def _runs(entries: Iterable[JournalEntry]) -> Iterator[RobotRun]:
    """A history's entries as runs: events, then the commands that follow them."""
    events: list[tuple[int, bytes]] = []
    commands: list[bytes] = []
    for entry in entries:
        if entry.kind == "command":
            commands.append(entry.payload)
            continue
        if commands:
            yield RobotRun(robot="", events=tuple(events), commands=tuple(commands))
            events, commands = [], []
        events.append((entry.seq or 0, entry.payload))
    if events or commands:
        yield RobotRun(robot="", events=tuple(events), commands=tuple(commands))


def replay(
    directory: str | os.PathLike[str],
    name: str,
    *,
    robot_class: type[Robot] | None = None,
    instruments: InstrumentTable | None = None,
) -> ReplayResult:
    """Rebuild robot ``name`` from the journal in ``directory``, keeping every event.

    Streams the journal (:func:`~yard_actors.journal.replay_steps.open_replay`) but holds
    what it replays: for a long journal use :func:`replay_steps`. Raises
    :class:`~yard_actors.errors.RobotError` if the journal has no robot ``name`` (and no
    ``robot_class`` is given).
    """
    session = open_replay(directory, name, robot_class=robot_class, instruments=instruments)
    return _result(session.replay, session.steps())
