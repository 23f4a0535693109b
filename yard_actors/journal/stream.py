"""Reading robots' histories forward, in one pass, in memory that does not grow with the journal.

:func:`~yard_actors.journal.read_robots` walks the journal backwards and returns whole
histories: right for a restore, which needs all of a robot's events before it starts, but
it holds every payload. A replay of a long run wants the opposite: the events as the journal
is read, and nothing kept once fed. :func:`stream_runs` reads segments oldest first and
yields each robot's *runs*: the events a robot took in one go (the fanned events up to one
``W``, or consecutive ``D`` records) with the ``C`` records it journaled handling them, which
follow the run and precede the robot's next ``W`` or ``D`` (a robot writes them in its own
thread, one run at a time). Runs of different robots come in the order they end; each
robot's in its own order. The histories are the same as :func:`read_robots` gives (the
rules are in the package docstring): concatenating a robot's runs gives its entries.

What it holds, whatever the journal's length: one segment (a file, ``segment_bytes``), each
robot's fanned events not yet under a ``W`` (its mailbox when the journal was written), the
current run of each robot, and the payloads of the last ``window`` ``E`` events, which a
``D`` may name (an event to one robot is journaled by the intake and delivered when the
robot takes it off its mailbox, so its ``D`` follows it within a mailbox's depth of seqs).
A ``D`` or a ``W`` reaching back past the window raises :class:`JournalError` saying so;
pass a larger ``window`` for such a journal.
"""

from __future__ import annotations

import os
import struct
from collections import deque
from collections.abc import Iterable, Iterator
from pathlib import Path

import attrs

from yard_actors.errors import JournalError
from yard_actors.journal._format import (
    _DELIVERY,
    _EVENT,
    _FANNED,
    _FRAME,
    _ID,
    _K_COMMAND,
    _K_DELIVERY,
    _K_EVENT,
    _K_FANNED,
    _K_ROBOT,
    _K_WATERMARK,
    _check_order,
    _load,
    _load_parts,
    _Segment,
    _segment_files,
)

__all__ = ["DEFAULT_WINDOW", "RobotRun", "stream_runs"]

_FRAMED_FANNED = struct.Struct(_FRAME.format + _FANNED.format[1:])  # the frame, then the body
DEFAULT_WINDOW = 1 << 16  # seqs an event stays readable after it is journaled
_RUN_CAP = 4096  # a run of single deliveries is cut here: its commands then go to its end


@attrs.frozen(kw_only=True)
class RobotRun:
    """Events one robot took in one go, ``(seq, payload)`` in order, and the commands after them.

    ``commands``: the payloads of the ``C`` records the robot journaled while handling the
    run (or before its first event, for a run without events).
    """

    robot: str
    events: tuple[tuple[int, bytes], ...]
    commands: tuple[bytes, ...]


class _RobotState:
    """One wanted robot as the read goes: its undelivered fanned events and its open run."""

    __slots__ = ("commands", "delivered", "dropped", "events", "horizon", "name", "pending")

    def __init__(self, name: str) -> None:
        self.name = name
        self.pending: deque[tuple[int, bytes]] = deque()  # fanned, not yet under a W
        self.dropped = 0  # the highest pending seq dropped past the window
        # no pending event leaves the window before this seq: at most the oldest's seq plus
        # the window (pending only loses its oldest), so one compare per event tells
        self.horizon = 0
        self.events: list[tuple[int, bytes]] = []
        self.commands: list[bytes] = []
        self.delivered = False  # the open run is of D records

    def close(self, out: list[RobotRun]) -> None:
        if self.events or self.commands:
            out.append(
                RobotRun(robot=self.name, events=tuple(self.events), commands=tuple(self.commands))
            )
            self.events = []
            self.commands = []


def stream_runs(
    directory: str | os.PathLike[str],
    robots: Iterable[str],
    *,
    window: int = DEFAULT_WINDOW,
    part_bytes: int | None = None,
) -> Iterator[RobotRun]:
    """Yield the runs of ``robots`` from the journal in ``directory``, reading it forward once.

    ``part_bytes``: verify each segment in parts of about that many bytes, yielding the runs
    of a part before the next is verified (for a reader that hands runs on as they come);
    by default a segment is verified whole first, the fastest way to read it all.

    Raises :class:`JournalError` on damage (as :func:`~yard_actors.journal.iter_records`), on
    event seqs out of order, or on a ``D`` or ``W`` that names an event outside the window.
    """
    walk = _ForwardWalk({name: _RobotState(name) for name in robots}, window, directory)
    for path in _segment_files(Path(directory)):
        if part_bytes is None:
            yield from walk.read(_load(path))
            continue
        for part in _load_parts(path, part_bytes=part_bytes):
            yield from walk.read(part)
    yield from walk.finish()


class _ForwardWalk:
    def __init__(
        self, states: dict[str, _RobotState], window: int, directory: str | os.PathLike[str]
    ) -> None:
        self.states = states
        self.window = window
        self.directory = directory
        self.events: dict[int, bytes] = {}  # E payloads of the window, by seq
        self.order: deque[int] = deque()  # their seqs, oldest first
        self.last_seq = 0

    def read(self, segment: _Segment) -> Iterator[RobotRun]:  # noqa: PLR0912  # inlined for speed
        data, states = segment.data, self.states
        ids = {robot_id: states[name] for robot_id, name in segment.names.items() if name in states}
        members: dict[int, list[_RobotState]] = {}
        out: list[RobotRun] = []
        unpack_fanned, unpack_event, unpack_id = (
            _FRAMED_FANNED.unpack_from,
            _EVENT.unpack_from,
            _ID.unpack_from,
        )
        frame, head = _FRAME.unpack_from, _FRAME.size
        fanned, fanned_size = _K_FANNED, _FANNED.size
        last_seq = self.last_seq
        # the hot loop of a replay: one unpack per record, the common paths inlined
        for start in segment.starts:
            kind = data[start]
            if kind == fanned:
                length, _, _, seq, group_id = unpack_fanned(data, start - head)
                if seq <= last_seq:
                    _check_order(segment, start, last_seq, seq)
                last_seq = seq
                wanted = members.get(group_id)
                if wanted is None:
                    wanted = members[group_id] = _members(segment, segment.group_id(start), ids)
                if wanted:
                    event = (seq, data[start + fanned_size : start + length])
                    for state in wanted:
                        state.pending.append(event)
                        if seq >= state.horizon:
                            self._drop(state, seq)
                continue
            if kind == _K_EVENT:
                seq = unpack_event(data, start)[1]
                if seq <= last_seq:
                    _check_order(segment, start, last_seq, seq)
                last_seq = seq
                self._keep(seq, data[start + _EVENT.size : start + frame(data, start - head)[0]])
                continue
            owner = ids.get(unpack_id(data, start)[1])
            if owner is None:
                continue
            state = owner
            if kind == _K_COMMAND:
                state.commands.append(data[start + _ID.size : start + frame(data, start - head)[0]])
                continue
            if kind == _K_WATERMARK:
                self._watermark(state, _DELIVERY.unpack_from(data, start)[2], out)
            elif kind == _K_DELIVERY:
                self.last_seq = last_seq  # what a delivery's event may not be past
                self._delivery(state, _DELIVERY.unpack_from(data, start)[2], out)
            elif kind == _K_ROBOT:
                state.close(out)  # added again: fanned events not under a W went to its last run
                state.pending.clear()
                state.dropped = 0
            if out:
                yield from out
                out.clear()
        self.last_seq = last_seq

    def finish(self) -> Iterator[RobotRun]:
        """Close every open run (fanned events under no ``W`` were still in a mailbox)."""
        out: list[RobotRun] = []
        for state in self.states.values():
            state.close(out)
        return iter(out)

    def _keep(self, seq: int, payload: bytes) -> None:
        events, order = self.events, self.order
        events[seq] = payload
        order.append(seq)
        floor = seq - self.window
        while order[0] <= floor:
            del events[order.popleft()]

    def _drop(self, state: _RobotState, seq: int) -> None:
        """Let go of the robot's pending fanned events more than the window before ``seq``."""
        pending, floor = state.pending, seq - self.window
        while pending[0][0] <= floor:
            state.dropped = pending.popleft()[0]
        state.horizon = pending[0][0] + self.window

    def _watermark(self, state: _RobotState, seq: int, out: list[RobotRun]) -> None:
        if seq <= state.dropped:
            self._too_far(state.name, "a watermark", seq, state.dropped)
        state.close(out)
        state.delivered = False
        pending, events = state.pending, state.events
        if pending and pending[-1][0] <= seq:  # the usual case: the mark covers them all
            events.extend(pending)
            pending.clear()
            return
        while pending and pending[0][0] <= seq:
            events.append(pending.popleft())

    def _delivery(self, state: _RobotState, seq: int, out: list[RobotRun]) -> None:
        payload = self.events.get(seq)
        if payload is None:
            self._too_far(state.name, "a delivery", seq, seq)
        if not state.delivered or state.commands or len(state.events) >= _RUN_CAP:
            state.close(out)
            state.delivered = True
        state.events.append((seq, payload))  # type: ignore[arg-type]  # None raised above

    def _too_far(self, robot: str, record: str, seq: int, lost: int) -> None:
        if record == "a delivery" and seq > self.last_seq:
            problem = "before the event itself; is the journal damaged?"
        elif record == "a delivery" and self.order and seq >= self.order[0]:
            problem = "which is not an event to one robot; is the journal damaged?"
        else:
            problem = (
                f"more than {self.window} events after event {lost}, farther than this read "
                "keeps events (or an older segment was removed); read it with a larger window."
            )
        msg = f"The journal in {self.directory} has {record} of event {seq} for {robot!r} {problem}"
        raise JournalError(msg)


def _members(segment: _Segment, group_id: int, ids: dict[int, _RobotState]) -> list[_RobotState]:
    _, robot_ids = segment.group(group_id)
    return [ids[robot_id] for robot_id in robot_ids if robot_id in ids]
