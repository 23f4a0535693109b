"""Reading a journal back: every record, or one robot's history, across segments."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

import attrs

from yard_actors.errors import JournalError
from yard_actors.journal._format import (
    _DELIVERY,
    _EVENT,
    _EVENT_KINDS,
    _FANNED,
    _ID,
    _K_COMMAND,
    _K_DELIVERY,
    _K_EVENT,
    _K_FANNED,
    _K_QUARANTINE,
    _K_RESTART,
    _K_ROBOT,
    _K_WATERMARK,
    _check_order,
    _load,
    _number,
    _Segment,
    _segment_files,
)

__all__ = [
    "JournalEntry",
    "Record",
    "RobotJournal",
    "iter_records",
    "read_robot",
    "read_robots",
    "robots_in",
]


RecordKind = Literal["robot", "event", "delivery", "watermark", "command", "quarantine", "restart"]


@attrs.frozen(kw_only=True)
class Record:
    """One journal record, with robot names resolved; fields a kind lacks are None.

    ``robot``: robot, delivery, watermark, command, quarantine, restart. ``seq``: event,
    delivery, watermark, quarantine. ``payload``: event, command. ``spec``: robot; ``note``:
    restart (why, who asked, when). ``robots`` and ``topic``: an event the data intake
    fanned out, with the robots of its group (a plain event has None there).
    """

    kind: RecordKind
    robot: str | None = None
    seq: int | None = None
    payload: bytes | None = None
    spec: Mapping[str, Any] | None = None
    robots: tuple[str, ...] | None = None
    topic: str | None = None
    note: Mapping[str, Any] | None = None


@attrs.frozen(kw_only=True)
class JournalEntry:
    """An event a robot handled (with its global ``seq``) or a command it emitted (no seq)."""

    kind: Literal["event", "command"]
    seq: int | None
    payload: bytes


@attrs.frozen(kw_only=True)
class RobotJournal:
    """A robot's history: its last journaled spec and its entries in the order they happened.

    ``quarantined``: the seqs of events among them that failed the robot twice (``Q``
    records); a replay skips them (:func:`~yard_actors.journal.replay.replay_into`).
    """

    robot: str
    spec: Mapping[str, Any] | None
    entries: tuple[JournalEntry, ...]
    quarantined: frozenset[int] = frozenset()


def iter_records(directory: str | os.PathLike[str]) -> Iterator[Record]:
    """Yield every record of the journal in ``directory`` in written order, segment by segment.

    Name, group and header frames are the format's own and are not yielded: a fanned event
    comes as an ``event`` record carrying its group's robots and topic. Raises
    :class:`JournalError` on damage before a segment's tail, or on event seqs out of order.
    """
    last_seq = 0
    for path in _segment_files(Path(directory)):
        segment = _load(path)
        data = segment.data
        groups: dict[int, tuple[str, tuple[str, ...]]] = {}
        for start in segment.starts:
            kind = data[start]
            if kind in _EVENT_KINDS:
                seq = _EVENT.unpack_from(data, start)[1]
                _check_order(segment, start, last_seq, seq)
                last_seq = seq
                if kind == _K_EVENT:
                    payload = data[start + _EVENT.size : segment.end(start)]
                    yield Record(kind="event", seq=seq, payload=payload)
                    continue
                group_id = segment.group_id(start)
                if group_id not in groups:
                    groups[group_id] = _named_group(segment, group_id)
                topic, robots = groups[group_id]
                payload = data[start + _FANNED.size : segment.end(start)]
                yield Record(kind="event", seq=seq, payload=payload, robots=robots, topic=topic)
            elif kind in _ROBOT_SEQ_KINDS:
                seq = _DELIVERY.unpack_from(data, start)[2]
                yield Record(kind=_SEQ_KIND_NAMES[kind], robot=segment.robot(start), seq=seq)
            elif kind == _K_COMMAND:
                payload = data[start + _ID.size : segment.end(start)]
                yield Record(kind="command", robot=segment.robot(start), payload=payload)
            elif kind == _K_RESTART:
                note = json.loads(data[start + _ID.size : segment.end(start)])
                yield Record(kind="restart", robot=segment.robot(start), note=note)
            else:
                spec = json.loads(data[start + _ID.size : segment.end(start)])
                yield Record(kind="robot", robot=segment.robot(start), spec=spec)


_SEQ_KIND_NAMES: dict[int, RecordKind] = {
    _K_DELIVERY: "delivery",
    _K_WATERMARK: "watermark",
    _K_QUARANTINE: "quarantine",
}
_ROBOT_SEQ_KINDS = frozenset(_SEQ_KIND_NAMES)


def _named_group(segment: _Segment, group_id: int) -> tuple[str, tuple[str, ...]]:
    topic, robot_ids = segment.group(group_id)
    start = segment.groups[group_id]
    return topic, tuple(segment.name(robot_id, start) for robot_id in robot_ids)


def robots_in(directory: str | os.PathLike[str]) -> list[str]:
    """Return the robots added to the journal in ``directory``, in the order first added."""
    seen: dict[str, None] = {}
    for path in _segment_files(Path(directory)):
        segment = _load(path)
        for start in segment.starts:
            if segment.data[start] == _K_ROBOT:
                seen.setdefault(segment.robot(start))
    return list(seen)


def read_robot(
    directory: str | os.PathLike[str], robot: str, *, until: tuple[Path, int] | None = None
) -> RobotJournal:
    """Return ``robot``'s history from the journal in ``directory`` (empty if it has none).

    ``until``: read up to that segment and size only (:meth:`Journal.end`).
    """
    return read_robots(directory, [robot], until=until)[robot]


def read_robots(
    directory: str | os.PathLike[str],
    robots: Iterable[str],
    *,
    until: tuple[Path, int] | None = None,
) -> dict[str, RobotJournal]:
    """Return the histories of several robots in one pass over the journal.

    Restoring a whole host should use this: :func:`read_robot` per robot reads the journal
    once per robot. Segments are read newest first and each backwards, so a delivery or a
    watermark is met before its events and only the payloads of handled events are kept.
    The histories are held whole; a replay of a long journal streams them instead
    (:func:`~yard_actors.journal.stream.stream_runs`, the same histories, read forward).

    A robot handled a fanned event when a watermark of the robot at or past the event's seq
    follows it, with no ``robot`` record (the robot added again, as after its host
    restarted) in between; it handled it where the first such watermark stands. A fanned
    event no watermark covers was still in the robot's mailbox when the host stopped or
    crashed, and is not in its history. A quarantine record marks an event of the history
    to skip (``RobotJournal.quarantined``); a restart record (the robot restarted in its
    host, ``docs/supervision.md``) changes nothing here.
    """
    walk = _BackwardWalk(set(robots))
    for path, size in reversed(_segments_until(Path(directory), until)):
        walk.read(_load(path, size))
    return walk.histories(directory)


def _segments_until(
    directory: Path, until: tuple[Path, int] | None
) -> list[tuple[Path, int | None]]:
    """The segments to read, each with the size to read of it (None: all of it)."""
    paths = _segment_files(directory)
    if until is None:
        return [(path, None) for path in paths]
    last, size = until
    number = _number(last)
    return [
        (path, size if path.name == last.name else None)
        for path in paths
        if _number(path) <= number
    ]


class _BackwardWalk:
    """The state of :func:`read_robots` as it walks the journal from its end."""

    def __init__(self, wanted: set[str]) -> None:
        self.wanted = wanted
        self.specs: dict[str, Mapping[str, Any] | None] = dict.fromkeys(wanted)
        self.backwards: dict[str, list[int | bytes | _Watermark]] = {r: [] for r in wanted}
        self.fanned: dict[str, list[int]] = {r: [] for r in wanted}  # handled, newest first
        self.reach = dict.fromkeys(wanted, 0)  # highest watermark from here to the next R
        self.payloads: dict[int, bytes | None] = {}  # seq of each handled event -> payload
        self.quarantined: dict[str, set[int]] = {r: set() for r in wanted}
        self.missing = 0  # deliveries met whose event is not met yet
        self.next_seq: int | None = None

    def read(self, segment: _Segment) -> None:
        names = segment.names
        ids = {robot_id: name for robot_id, name in names.items() if name in self.wanted}
        if not ids and not self.missing:
            return
        data = segment.data
        members: dict[int, list[str]] = {}  # group id -> the wanted robots in the group
        for start in reversed(segment.starts):
            kind = data[start]
            if kind in _EVENT_KINDS:
                self._event(segment, start, ids, members)
                continue
            name = ids.get(_ID.unpack_from(data, start)[1])
            if name is not None:
                self._robot_record(segment, start, name)

    def _event(
        self, segment: _Segment, start: int, ids: dict[int, str], members: dict[int, list[str]]
    ) -> None:
        data = segment.data
        seq = _EVENT.unpack_from(data, start)[1]
        if self.next_seq is not None:
            _check_order(segment, start, seq, self.next_seq)
        self.next_seq = seq
        fanned = data[start] == _K_FANNED
        handled = False
        if fanned:
            group_id = segment.group_id(start)
            if group_id not in members:
                members[group_id] = _wanted_in(segment, group_id, ids)
            for name in members[group_id]:
                if seq <= self.reach[name]:
                    self.fanned[name].append(seq)
                    handled = True
        awaited = self.payloads.get(seq, b"") is None  # a delivery met earlier wants it
        self.missing -= awaited
        if handled or awaited:
            head = _FANNED.size if fanned else _EVENT.size
            self.payloads[seq] = data[start + head : segment.end(start)]

    def _robot_record(self, segment: _Segment, start: int, name: str) -> None:
        data = segment.data
        kind = data[start]
        if kind == _K_DELIVERY:
            seq = _DELIVERY.unpack_from(data, start)[2]
            self.backwards[name].append(seq)
            if seq not in self.payloads:
                self.payloads[seq] = None
                self.missing += 1
        elif kind == _K_WATERMARK:
            seq = _DELIVERY.unpack_from(data, start)[2]
            self.backwards[name].append(_Watermark(seq))
            self.reach[name] = max(self.reach[name], seq)
        elif kind == _K_COMMAND:
            self.backwards[name].append(data[start + _ID.size : segment.end(start)])
        elif kind == _K_QUARANTINE:
            self.quarantined[name].add(_DELIVERY.unpack_from(data, start)[2])
        elif kind == _K_RESTART:
            return  # an audit line: the history reads on across a restart in its host
        else:
            self.reach[name] = 0  # fanned events before this went to an earlier run of it
            if self.specs[name] is None:
                self.specs[name] = json.loads(data[start + _ID.size : segment.end(start)])

    def histories(self, directory: str | os.PathLike[str]) -> dict[str, RobotJournal]:
        if self.missing:
            lost = min(seq for seq, payload in self.payloads.items() if payload is None)
            msg = (
                f"The journal in {directory} has a delivery of event {lost} but not the "
                "event; was an older segment removed?"
            )
            raise JournalError(msg)
        shared: dict[int, JournalEntry] = {}  # one entry per event, however many robots had it

        def event(seq: int) -> JournalEntry:
            entry = shared.get(seq)
            if entry is None:
                payload = self.payloads[seq] or b""
                entry = shared[seq] = JournalEntry(kind="event", seq=seq, payload=payload)
            return entry

        return {
            robot: RobotJournal(
                robot=robot,
                spec=self.specs[robot],
                entries=_in_order(self.backwards[robot], self.fanned[robot], event),
                quarantined=frozenset(self.quarantined[robot]),
            )
            for robot in self.wanted
        }


@attrs.frozen
class _Watermark:
    seq: int


def _wanted_in(segment: _Segment, group_id: int, ids: Mapping[int, str]) -> list[str]:
    _, robot_ids = segment.group(group_id)
    return [ids[robot_id] for robot_id in robot_ids if robot_id in ids]


def _in_order(
    backwards: list[int | bytes | _Watermark],
    fanned_newest_first: list[int],
    event: Callable[[int], JournalEntry],
) -> tuple[JournalEntry, ...]:
    """Put a robot's records back in journal order; each watermark takes its fanned events."""
    fanned = fanned_newest_first[::-1]
    taken = 0
    entries = []
    for item in reversed(backwards):
        if type(item) is int:
            entries.append(event(item))
        elif type(item) is bytes:
            entries.append(JournalEntry(kind="command", seq=None, payload=item))
        else:
            assert type(item) is _Watermark
            while taken < len(fanned) and fanned[taken] <= item.seq:
                entries.append(event(fanned[taken]))
                taken += 1
    return tuple(entries)
