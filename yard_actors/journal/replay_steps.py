"""Replaying robots step by step while the journal is read: one event in, its commands out.

:func:`~yard_actors.journal.replay.replay_into` takes a whole history and returns whole lists;
this module replays from :func:`~yard_actors.journal.stream.stream_runs`, so a journal of any
length replays in memory that does not grow with it (every robot of a journal in one pass
over it: :mod:`~yard_actors.journal.replay_all`). Each step is one event fed to the robot with the
commands it produced and the commands the live robot journaled for it.

The journal says which commands a *run* of events produced (a robot journals its commands
after the ``W`` or ``D`` records of the run), not which event of the run produced each; a
step's ``journaled`` are the run's commands taken in order, as many as the step produced
(the run's last step takes the rest). So a faithful replay gives every step its own
commands, and the first step whose commands differ is where the replay first diverged.
Quarantined events are skipped, and an event whose replay raises fails the robot there, as
in :func:`~yard_actors.journal.replay.replay_into`.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Generator, Iterator, Mapping
from typing import Any, Final

import attrs
import orjson

from yard_actors.errors import RobotError
from yard_actors.journal.index import JournalIndex, index_journal
from yard_actors.journal.rebuild import ReplayFailure, build_robot, fail_robot, failed_before
from yard_actors.journal.stream import DEFAULT_WINDOW, RobotRun, stream_runs
from yard_actors.robot.robot import Robot, RobotStatus
from yard_actors.wire.codec import decode, encode
from yard_actors.wire.events import Command, Event
from yard_actors.wire.fast_decode import DECODERS
from yard_actors.wire.instruments import InstrumentTable
from yard_actors.wire.schema import MAX_PAYLOAD_BYTES

__all__ = [
    "ReplaySession",
    "ReplayStep",
    "StepDivergence",
    "UndecodableEvent",
    "decode_event",
    "open_replay",
    "replay_steps",
]


@attrs.frozen(kw_only=True)
class ReplayStep:
    """One journaled event fed to the replayed robot: what it produced, what was journaled."""

    seq: int
    event: Event
    commands: tuple[Command, ...]
    journaled: tuple[bytes, ...]
    payload: bytes = b""  # the event as journaled: the bytes the robot's intake received


@attrs.frozen(kw_only=True)
class StepDivergence:
    """The first step whose produced commands differ from the journaled ones.

    ``index``: the robot's command (counted from its first) where they first differ.
    ``step``: the steps fed before it (a second replay's state after that many steps is
    the state before the event). ``seq`` and ``event`` are None when the journal holds
    commands before any event.
    """

    robot: str
    seq: int | None
    event: Event | None
    index: int
    step: int
    journaled: tuple[bytes, ...]
    produced: tuple[bytes, ...]

    def first_difference(self) -> tuple[bytes | None, bytes | None]:
        """The first journaled and produced commands that differ (None: that side ran out)."""
        for journaled, produced in zip(self.journaled, self.produced, strict=False):
            if journaled != produced:
                return journaled, produced
        common = min(len(self.journaled), len(self.produced))
        return (
            self.journaled[common] if common < len(self.journaled) else None,
            self.produced[common] if common < len(self.produced) else None,
        )


class RobotReplay:
    """One robot replayed from a stream of its runs: counts, skips, failure, first divergence."""

    def __init__(self, name: str, robot: Robot, quarantined: frozenset[int]) -> None:
        self.name = name
        self.robot = robot
        self.quarantined = quarantined
        self.events = 0
        self.commands = 0  # produced, as journaled ones are compared one by one
        self.skipped: list[int] = []
        self.failure: ReplayFailure | None = None
        self.failed_at = failed_before(robot)
        self.divergence: StepDivergence | None = None

    @property
    def identical(self) -> bool:
        """Every step so far produced the journaled commands and no event raised."""
        return self.divergence is None and self.failure is None

    def steps(self, run: RobotRun, event_of: Callable[[int, bytes], Event]) -> Iterator[ReplayStep]:
        """Feed ``run`` to the robot; yield a step per event fed (quarantined ones skipped)."""
        for seq, event, commands, journaled, payload in self._walk(run, event_of):
            yield ReplayStep(
                seq=seq, event=event, commands=commands, journaled=journaled, payload=payload
            )

    def feed(self, run: RobotRun, event_of: Callable[[int, bytes], Event]) -> None:
        """Feed ``run`` to the robot as :meth:`steps` does, keeping no step (the faster way).

        The run's commands are compared once, whole: when they are the journaled ones, so
        is every step's (a step's journaled commands are the run's, in order, as many as it
        produced). Only a run that differs is looked at step by step, to find the first.
        """
        if self.quarantined or self.divergence is not None:
            deque(self._walk(run, event_of), maxlen=0)
            return
        robot = self.robot
        handle, before = robot.handle, robot.events_handled
        direct = event_of is decode_event  # the codec's own work, without its calls
        loads, fast_decoder, limit = orjson.loads, _FAST.get, MAX_PAYLOAD_BYTES
        produced_all: list[Command] = []
        producing: list[tuple[int, int, Event, int]] = []  # (at, seq, event, produced)
        event: Event | None = None
        # the hot loop of `yard replay`: no step built, no command encoded until the run's end
        for at, (seq, payload) in enumerate(run.events):
            try:
                event = None
                if direct and len(payload) <= limit:
                    # decode()'s fast path inlined: a well-formed event of a fast type
                    # decodes here; anything else, or anything that raises, goes to
                    # decode(), which alone judges it and words the error
                    try:
                        document = loads(payload)
                        event = fast_decoder(document["type"])(document)  # type: ignore[misc]
                    except Exception:  # noqa: S110  # decode() says what is wrong
                        pass
                if event is None:
                    event = decode(payload) if direct else event_of(seq, payload)
                produced = handle(event)
            except Exception as exc:  # failed here, whether handle() saw the event or not
                event, produced = self._raised(seq, payload, exc, event_of)
                if self.failed_at is None:
                    self.failed_at = ReplayFailure(seq=seq, error=str(robot.error))
            if produced:
                producing.append((at, seq, event, len(produced)))
                produced_all.extend(produced)
        if self.failed_at is None and robot.failed_at_event is not None:  # a handler failed it
            at = min(max(robot.failed_at_event - before - 1, 0), len(run.events) - 1)
            self.failed_at = ReplayFailure(seq=run.events[at][0], error=str(robot.error))
        encoded = tuple(map(encode, produced_all)) if produced_all else ()
        if encoded != run.commands:
            self._first_differing(run, encoded, producing, event)
        self.events += len(run.events)
        self.commands += len(produced_all)

    def _first_differing(
        self,
        run: RobotRun,
        encoded: tuple[bytes, ...],
        producing: list[tuple[int, int, Event, int]],
        last_event: Event | None,
    ) -> None:
        """Record the divergence of a fed run whose commands differ, where :meth:`_walk` would.

        Only a step that produced commands, or the run's last (which takes the journaled
        commands left), can differ: a step that produced none expects none.
        """
        journaled, last = run.commands, len(run.events) - 1
        if last < 0:
            self._diverged(None, None, journaled, (), step=self.events, commands=self.commands)
            return
        done = 0  # commands produced, and journaled ones taken, before the step
        for at, seq, event, count in producing:
            if at == last:
                break
            mine, expected = encoded[done : done + count], journaled[done : done + count]
            if mine != expected:
                step, commands = self.events + at, self.commands + done
                self._diverged(seq, event, expected, mine, step=step, commands=commands)
                return
            done += count
        seq = run.events[last][0]
        step, commands = self.events + last, self.commands + done
        self._diverged(
            seq, last_event, journaled[done:], encoded[done:], step=step, commands=commands
        )

    def _walk(
        self, run: RobotRun, event_of: Callable[[int, bytes], Event]
    ) -> Iterator[tuple[int, Event, tuple[Command, ...], tuple[bytes, ...], bytes]]:
        # the hot loop of every replay: locals, and no tuple built for an event without commands
        journaled, events, quarantined = run.commands, run.events, self.quarantined
        last = _last_fed(run, quarantined) if quarantined else len(events) - 1
        robot = self.robot
        handle, failed = robot.handle, RobotStatus.FAILED
        taken = 0
        for at, (seq, payload) in enumerate(events):
            if quarantined and seq in quarantined:
                self.skipped.append(seq)
                continue
            try:
                event = event_of(seq, payload)
                produced = handle(event)
            except Exception as exc:
                event, produced = self._raised(seq, payload, exc, event_of)
            if robot.status is failed and self.failed_at is None:
                self.failed_at = ReplayFailure(seq=seq, error=str(robot.error))
            if produced:
                commands = tuple(produced)
                encoded = tuple(map(encode, commands))
            else:
                commands = encoded = ()
            if at == last:
                expected, taken = journaled[taken:], len(journaled)
            elif encoded:
                expected, taken = journaled[taken : taken + len(encoded)], taken + len(encoded)
            else:
                expected = ()
            if encoded != expected and self.divergence is None:
                self._diverged(
                    seq, event, expected, encoded, step=self.events, commands=self.commands
                )
            self.events += 1
            self.commands += len(commands)
            yield seq, event, commands, expected, payload
        if last is None and journaled and self.divergence is None:
            # commands with no event to produce them
            self._diverged(None, None, journaled, (), step=self.events, commands=self.commands)

    def _raised(
        self, seq: int, payload: bytes, exc: Exception, event_of: Callable[[int, bytes], Event]
    ) -> tuple[Event, list[Command]]:
        """Fail the robot where the event's replay raised (the first time); its commands."""
        try:
            event = event_of(seq, payload)
        except Exception:  # it does not decode: the step carries its bytes
            event = UndecodableEvent(seq=seq, payload=payload)  # type: ignore[assignment]
        failure = ReplayFailure(seq=seq, error=f"{type(exc).__name__}: {exc}")
        if self.failure is not None:
            return event, []
        self.failure = failure
        return event, fail_robot(self.robot, failure, exc)

    def _diverged(
        self,
        seq: int | None,
        event: Event | None,
        journaled: tuple[bytes, ...],
        produced: tuple[bytes, ...],
        *,
        step: int,
        commands: int,
    ) -> None:
        """Record the divergence at the step after ``step`` steps and ``commands`` produced."""
        first = next(
            (n for n, (j, p) in enumerate(zip(journaled, produced, strict=False)) if j != p),
            min(len(journaled), len(produced)),
        )
        self.divergence = StepDivergence(
            robot=self.name,
            seq=seq,
            event=event,
            index=commands + first,
            step=step,
            journaled=journaled,
            produced=produced,
        )


@attrs.frozen(kw_only=True)
class UndecodableEvent:
    """Stands in a step's ``event`` for a payload that no longer decodes (it failed the robot)."""

    seq: int
    payload: bytes


def _last_fed(run: RobotRun, quarantined: frozenset[int]) -> int | None:
    for at in range(len(run.events) - 1, -1, -1):
        if run.events[at][0] not in quarantined:
            return at
    return None


class ReplaySession:
    """One robot's streamed replay: ``robot`` is the replayed robot, ``steps()`` drives it.

    Between two steps ``robot.snapshot()`` is the state after the last step's event. After
    ``steps()`` is exhausted, ``replay`` holds the counts, skips and first divergence.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        replay: RobotReplay,
        spec: Mapping[str, Any] | None,
        window: int,
    ) -> None:
        self.directory = directory
        self.replay = replay
        self.spec = spec
        self._window = window

    @property
    def robot(self) -> Robot:
        return self.replay.robot

    def steps(self) -> Generator[ReplayStep, None, None]:
        """Read the journal forward and yield one step per event the robot is fed.

        Close the generator to stop early (the journal's segment is then let go at once).
        """
        replay = self.replay
        for run in stream_runs(self.directory, [replay.name], window=self._window):
            yield from replay.steps(run, decode_event)


def open_replay(
    directory: str | os.PathLike[str],
    name: str,
    *,
    robot: Robot | None = None,
    robot_class: type[Robot] | None = None,
    instruments: InstrumentTable | None = None,
    window: int = DEFAULT_WINDOW,
    index: JournalIndex | None = None,
) -> ReplaySession:
    """Prepare to replay robot ``name`` from the journal in ``directory``.

    The robot is ``robot`` if given, else built from its last journaled spec (with
    ``robot_class`` in place of the journaled class, if given). Raises
    :class:`~yard_actors.errors.RobotError` if the journal never added ``name`` and
    neither ``robot`` nor ``robot_class`` is given, and whatever building it raises.
    """
    index = index if index is not None else index_journal(directory, [name])
    spec = index.specs.get(name)
    if robot is None:
        robot = _built(directory, name, spec, robot_class, instruments)
    replay = RobotReplay(name, robot, index.quarantined_of(name))
    return ReplaySession(directory, replay, spec, window)


def replay_steps(
    directory: str | os.PathLike[str],
    name: str,
    *,
    robot: Robot | None = None,
    robot_class: type[Robot] | None = None,
    instruments: InstrumentTable | None = None,
) -> Iterator[ReplayStep]:
    """Replay robot ``name`` from the journal in ``directory``, yielding a step per event fed.

    Streams: the steps come as the journal is read. See :func:`open_replay` for the robot.
    """
    session = open_replay(
        directory, name, robot=robot, robot_class=robot_class, instruments=instruments
    )
    return session.steps()


def _built(
    directory: str | os.PathLike[str],
    name: str,
    spec: Mapping[str, Any] | None,
    robot_class: type[Robot] | None,
    instruments: InstrumentTable | None,
) -> Robot:
    if spec is None and robot_class is None:
        msg = f"journal {os.fspath(directory)} has no robot named {name!r}"
        raise RobotError(msg)
    spec = dict(spec or {"name": name})
    spec["name"] = name
    return build_robot(spec, robot_class=robot_class, instruments=instruments)


_FAST: Final = DECODERS  # bound here: a module global's .get is one lookup less per event


def decode_event(seq: int, payload: bytes) -> Event:
    """Decode the payload of the event at ``seq`` (what :meth:`RobotReplay.steps` calls)."""
    return decode(payload)
