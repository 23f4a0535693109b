"""The analysis pass: every robot of a journal replayed once, each event's row written as it goes.

All the robots are replayed in one forward read of the journal
(:func:`~yard_actors.journal.replay_all.replay_journal`): after each step the replayed
robot's :meth:`~yard_actors.robot.robot.Robot.snapshot` becomes the row's state
(:class:`~yard_actors.analysis.records.StateDeltas`), the commands it sent the row's
actions, and the step goes on to the robot's figures (:mod:`.metrics`), its plot series
(:mod:`.series`) and, when a store is to be checked, its facts (:mod:`.store_check`).
Rows go to the sink in batches of ``batch_rows``, so memory holds one batch, each robot's
downsampled series and its live orders, however long the journal.
"""

from __future__ import annotations

import os
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs
import orjson

from yard_actors.analysis.metrics import MetricsLedger, RobotMetrics
from yard_actors.analysis.records import DEFAULT_FULL_EVERY, EventRow, Sink, StateDeltas
from yard_actors.analysis.series import RobotSeries
from yard_actors.analysis.store_check import FactsCollector, StoreFacts
from yard_actors.errors import RobotError, YardError
from yard_actors.journal.index import index_journal
from yard_actors.journal.rebuild import build_robot, spec_instruments
from yard_actors.journal.replay_all import replay_journal
from yard_actors.journal.replay_steps import ReplayStep, RobotReplay
from yard_actors.robot.loader import class_path
from yard_actors.robot.robot import Robot
from yard_actors.wire.codec import encode
from yard_actors.wire.events import Command, Event
from yard_actors.wire.instruments import InstrumentTable

__all__ = ["DEFAULT_BATCH_ROWS", "RobotAnalysis", "analyze_journal", "analyze_robot"]

DEFAULT_BATCH_ROWS = 2000
_PROGRESS_EVERY = 1024  # steps between two progress calls

Progress = Callable[[int, int], None]
"""Called now and then with the events analysed so far (all robots) and the seq reached."""


@attrs.frozen(kw_only=True)
class RobotAnalysis:
    """What the pass found for one robot: its figures, plot series, replay verdict, facts.

    ``divergence``: where the replay first differed from the run, or the event whose
    replay raised, as a sentence (None: identical). ``facts``: its orders and fills as the
    journal has them, when a store check was asked for.
    """

    robot: str
    class_path: str
    spec: dict[str, Any] | None
    events: int
    commands: int
    first_ts: int | None
    last_ts: int | None
    metrics: RobotMetrics
    series: RobotSeries
    divergence: str | None
    facts: StoreFacts | None
    full_every: int


class _RobotPass:
    """One robot's part of the pass: the state deltas, figures, series, facts, times."""

    def __init__(
        self,
        robot: Robot,
        full_every: int,
        collect_facts: bool,
        instruments: InstrumentTable | None = None,  # the run's, journaled with its spec
    ) -> None:
        self.robot = robot
        self.deltas = StateDeltas(full_every)
        self.ledger = MetricsLedger(instruments, robot.subscriptions)
        self.series = RobotSeries()
        self.facts = FactsCollector() if collect_facts else None
        self.first_ts: int | None = None
        self.last_ts: int | None = None

    def take(self, event: Event, commands: tuple[Command, ...]) -> None:
        if self.first_ts is None:
            self.first_ts = event.ts
        self.last_ts = event.ts
        ledger = self.ledger
        ledger.update(event, commands)
        self.series.add(
            event,
            commands,
            equity=ledger.equity,
            mark=ledger.marks.price,
            position=ledger.position,
        )
        if self.facts is not None:
            self.facts.update(event, commands)


def analyze_journal(
    directory: str | os.PathLike[str],
    sink: Sink,
    *,
    robots: Sequence[str] | None = None,
    full_every: int = DEFAULT_FULL_EVERY,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    collect_facts: bool = False,
    progress: Progress | None = None,
) -> list[RobotAnalysis]:
    """Replay ``robots`` (default: every robot of the journal) and write their rows to ``sink``.

    Raises :class:`~yard_actors.errors.RobotError` for a robot the journal never added or
    whose class cannot be built, :class:`~yard_actors.errors.JournalError` for a damaged
    journal, :class:`~yard_actors.errors.StoreError` when the sink fails.
    """
    index = index_journal(directory)  # every robot's: a name not in it is refused with them
    names = list(index.robots if robots is None else robots)
    if not names:
        msg = f"the journal in {os.fspath(directory)} has no robots to analyse"
        raise RobotError(msg)
    missing = [name for name in names if name not in index.specs]
    if missing:
        known = ", ".join(index.robots) or "none"
        msg = (
            f"the journal in {os.fspath(directory)} has no robot {', '.join(missing)} "
            f"(it has {known})"
        )
        raise RobotError(msg)
    built = {name: _built(name, index.specs[name]) for name in names}
    passes = {
        name: _RobotPass(robot, full_every, collect_facts, spec_instruments(index.specs[name]))
        for name, robot in built.items()
    }
    for name in names:
        sink.begin_robot(name)
    replay = replay_journal(directory, built, index=index)
    rows: list[EventRow] = []
    done = 0
    for robot_replay, step in replay.steps():
        part = passes[robot_replay.name]
        rows.append(_row(robot_replay, part, step))
        if type(step.event) in _EVENT_TYPES:
            part.take(step.event, step.commands)
        done += 1
        if len(rows) >= batch_rows:
            sink.add_events(rows)
            rows = []
        if progress is not None and done % _PROGRESS_EVERY == 0:
            progress(done, step.seq)
    if rows:
        sink.add_events(rows)
    if progress is not None:
        progress(done, -1)
    return [
        _result(name, passes[name], replay.replays[name], index.specs.get(name), full_every)
        for name in names
    ]


def _built(name: str, spec: Mapping[str, Any]) -> Robot:
    """The robot as its spec says, or a RobotError naming it and what went wrong."""
    try:
        return build_robot({**spec, "name": name})
    except YardError:
        raise
    except Exception as exc:  # the robot's own constructor or on_start: a sentence, no trace
        msg = (
            f"cannot build robot {name} ({spec.get('class')}) from its journaled spec: "
            f"{type(exc).__name__}: {exc}"
        )
        raise RobotError(msg) from exc


def analyze_robot(
    directory: str | os.PathLike[str],
    robot: str,
    sink: Sink,
    *,
    full_every: int = DEFAULT_FULL_EVERY,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    collect_facts: bool = False,
    progress: Progress | None = None,
) -> RobotAnalysis:
    """:func:`analyze_journal` for one robot."""
    [analysis] = analyze_journal(
        directory,
        sink,
        robots=[robot],
        full_every=full_every,
        batch_rows=batch_rows,
        collect_facts=collect_facts,
        progress=progress,
    )
    return analysis


def _row(replay: RobotReplay, part: _RobotPass, step: ReplayStep) -> EventRow:
    event = step.event
    state, full = part.deltas.next(replay.robot.snapshot())
    # Until the replay diverges, the journaled commands are the produced ones, encoded.
    if replay.divergence is None:
        actions = step.journaled
    else:
        actions = tuple(encode(command) for command in step.commands)
    if type(event) in _EVENT_TYPES:  # the journaled bytes: the event as the robot got it
        ts, kind, payload = event.ts, type(event).__name__, step.payload
    else:  # the replay's stand-in for an event that no longer decodes: its journaled bytes
        ts, kind = part.last_ts or 0, "undecodable"
        payload = orjson.dumps({"undecodable": _text(getattr(event, "payload", b""))})
    return EventRow(
        robot=replay.name,
        seq=step.seq,
        ts=ts,
        kind=kind,
        event=payload,
        state=state,
        full=full,
        actions=actions,
    )


_EVENT_TYPES = frozenset(typing.get_args(Event))


def _result(
    name: str,
    part: _RobotPass,
    replay: RobotReplay,
    spec: Any,
    full_every: int,
) -> RobotAnalysis:
    robot = part.robot
    return RobotAnalysis(
        robot=name,
        class_path=class_path(type(robot)),
        spec=None if spec is None else dict(spec),
        events=replay.events,
        commands=replay.commands,
        first_ts=part.first_ts,
        last_ts=part.last_ts,
        metrics=part.ledger.metrics(),
        series=part.series,
        divergence=_verdict(replay),
        facts=None if part.facts is None else part.facts.facts(),
        full_every=full_every,
    )


def _verdict(replay: RobotReplay) -> str | None:
    if replay.failure is not None:
        return f"the replay failed: {replay.failure}"
    divergence = replay.divergence
    if divergence is None:
        return None
    where = "before any event" if divergence.seq is None else f"at event seq {divergence.seq}"
    return (
        f"the replay diverged {where} (command #{divergence.index}): journaled "
        f"{_shown(divergence.journaled)}, produced {_shown(divergence.produced)}; the rows "
        "from there on are the replayed robot's, not the run's"
    )


def _shown(commands: tuple[bytes, ...]) -> str:
    return "[" + ", ".join(c.decode("utf-8", "replace") for c in commands) + "]"


def _text(payload: object) -> str:
    return bytes(payload).decode("utf-8", "replace") if isinstance(payload, bytes) else ""
