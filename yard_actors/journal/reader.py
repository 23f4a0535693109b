"""Reading a journal back: every record, or one robot's history, across segments."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

import attrs

from yard_actors.errors import JournalError
from yard_actors.journal._format import (
    _DELIVERY,
    _EVENT,
    _ID,
    _K_COMMAND,
    _K_DELIVERY,
    _K_EVENT,
    _K_ROBOT,
    _check_order,
    _load,
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


RecordKind = Literal["robot", "event", "delivery", "command"]


@attrs.frozen(kw_only=True)
class Record:
    """One journal record, with robot names resolved; fields a kind lacks are None.

    ``robot``: robot, delivery, command. ``seq``: event, delivery. ``payload``: event,
    command. ``spec``: robot.
    """

    kind: RecordKind
    robot: str | None = None
    seq: int | None = None
    payload: bytes | None = None
    spec: Mapping[str, Any] | None = None


@attrs.frozen(kw_only=True)
class JournalEntry:
    """An event a robot handled (with its global ``seq``) or a command it emitted (no seq)."""

    kind: Literal["event", "command"]
    seq: int | None
    payload: bytes


@attrs.frozen(kw_only=True)
class RobotJournal:
    """A robot's history: its last journaled spec and its entries in the order they happened."""

    robot: str
    spec: Mapping[str, Any] | None
    entries: tuple[JournalEntry, ...]


def iter_records(directory: str | os.PathLike[str]) -> Iterator[Record]:
    """Yield every record of the journal in ``directory`` in written order, segment by segment.

    Name and header frames are the format's own and are not yielded. Raises
    :class:`JournalError` on damage before a segment's tail, or on event seqs out of order.
    """
    last_seq = 0
    for path in _segment_files(Path(directory)):
        segment = _load(path)
        data = segment.data
        for start in segment.starts:
            kind = data[start]
            if kind == _K_EVENT:
                seq = _EVENT.unpack_from(data, start)[1]
                _check_order(segment, start, last_seq, seq)
                last_seq = seq
                payload = data[start + _EVENT.size : segment.end(start)]
                yield Record(kind="event", seq=seq, payload=payload)
            elif kind == _K_DELIVERY:
                seq = _DELIVERY.unpack_from(data, start)[2]
                yield Record(kind="delivery", robot=segment.robot(start), seq=seq)
            elif kind == _K_COMMAND:
                payload = data[start + _ID.size : segment.end(start)]
                yield Record(kind="command", robot=segment.robot(start), payload=payload)
            else:
                spec = json.loads(data[start + _ID.size : segment.end(start)])
                yield Record(kind="robot", robot=segment.robot(start), spec=spec)


def robots_in(directory: str | os.PathLike[str]) -> list[str]:
    """Return the robots added to the journal in ``directory``, in the order first added."""
    seen: dict[str, None] = {}
    for path in _segment_files(Path(directory)):
        segment = _load(path)
        for start in segment.starts:
            if segment.data[start] == _K_ROBOT:
                seen.setdefault(segment.robot(start))
    return list(seen)


def read_robot(directory: str | os.PathLike[str], robot: str) -> RobotJournal:
    """Return ``robot``'s history from the journal in ``directory`` (empty if it has none)."""
    return read_robots(directory, [robot])[robot]


def read_robots(
    directory: str | os.PathLike[str], robots: Iterable[str]
) -> dict[str, RobotJournal]:
    """Return the histories of several robots in one pass over the journal.

    Restoring a whole host should use this: :func:`read_robot` per robot reads the journal
    once per robot. Segments are read newest first and each backwards, so a delivery is met
    before its event and only the payloads of delivered events are kept in memory.
    """
    wanted = set(robots)
    specs: dict[str, Mapping[str, Any] | None] = dict.fromkeys(wanted)
    backwards: dict[str, list[int | bytes]] = {robot: [] for robot in wanted}
    payloads: dict[int, bytes | None] = {}  # seq of each delivered event -> its payload
    missing = 0
    next_seq = None
    for path in reversed(_segment_files(Path(directory))):
        segment = _load(path)
        ids = {robot_id: name for robot_id, name in segment.names.items() if name in wanted}
        if not ids and not missing:
            continue
        data = segment.data
        for start in reversed(segment.starts):
            kind = data[start]
            if kind == _K_EVENT:
                seq = _EVENT.unpack_from(data, start)[1]
                if next_seq is not None:
                    _check_order(segment, start, seq, next_seq)
                next_seq = seq
                if payloads.get(seq, b"") is None:
                    payloads[seq] = data[start + _EVENT.size : segment.end(start)]
                    missing -= 1
                continue
            name = ids.get(_ID.unpack_from(data, start)[1])
            if name is None:
                continue
            if kind == _K_DELIVERY:
                seq = _DELIVERY.unpack_from(data, start)[2]
                backwards[name].append(seq)
                if seq not in payloads:
                    payloads[seq] = None
                    missing += 1
            elif kind == _K_COMMAND:
                backwards[name].append(data[start + _ID.size : segment.end(start)])
            elif specs[name] is None:
                specs[name] = json.loads(data[start + _ID.size : segment.end(start)])
    if missing:
        lost = min(seq for seq, payload in payloads.items() if payload is None)
        msg = (
            f"The journal in {directory} has a delivery of event {lost} but not the event; "
            "was an older segment removed?"
        )
        raise JournalError(msg)
    return {robot: _history(robot, specs[robot], backwards[robot], payloads) for robot in wanted}


def _history(
    robot: str,
    spec: Mapping[str, Any] | None,
    backwards: list[int | bytes],
    payloads: dict[int, bytes | None],
) -> RobotJournal:
    entries = []
    for item in reversed(backwards):
        if isinstance(item, int):
            entries.append(JournalEntry(kind="event", seq=item, payload=payloads[item] or b""))
        else:
            entries.append(JournalEntry(kind="command", seq=None, payload=item))
    return RobotJournal(robot=robot, spec=spec, entries=tuple(entries))
