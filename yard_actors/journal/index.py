"""What a forward read must know before it starts: the robots, their last specs, quarantines.

A forward read of the journal (:mod:`~yard_actors.journal.stream`) meets a robot's ``R``
(its spec) at the start but a later ``R`` (the robot added again with other params) and a
``Q`` (an event set aside after it failed the robot twice) only after the events they speak
of. The replay needs both before it feeds the first event: the robot is built from its last
spec, as the host's restore builds it, and a quarantined event is never fed. So a forward
read is preceded by this index: one walk over the frames that looks at their lengths and
kind bytes only (no crc, no payload), cheap next to the read itself. It stops at the first
frame that does not fit in its segment; the verified read that follows reports damage.
"""

from __future__ import annotations

import json
import os
import struct
import zlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs

from yard_actors.errors import JournalError
from yard_actors.journal._format import (
    _DELIVERY,
    _FRAME,
    _ID,
    _K_NAME,
    _K_QUARANTINE,
    _K_ROBOT,
    _segment_files,
)

__all__ = ["JournalIndex", "index_journal"]

_INDEXED = frozenset((_K_NAME, _K_ROBOT, _K_QUARANTINE))  # the kinds whose body is read
_NAMED = frozenset((_K_ROBOT, _K_QUARANTINE))
_LENGTH_KIND = struct.Struct("<I4xB")  # a frame's body length and its record's kind


@attrs.frozen(kw_only=True)
class JournalIndex:
    """The robots of a journal in the order first added, each one's last spec and quarantines."""

    robots: tuple[str, ...]
    specs: Mapping[str, Mapping[str, Any]]
    quarantined: Mapping[str, frozenset[int]]

    def quarantined_of(self, robot: str) -> frozenset[int]:
        """The seqs of ``robot``'s events its journal marks quarantined (empty if none)."""
        return self.quarantined.get(robot, frozenset())


def index_journal(
    directory: str | os.PathLike[str], robots: Iterable[str] | None = None
) -> JournalIndex:
    """Index the journal in ``directory`` (only ``robots``' specs and quarantines, if given).

    Raises :class:`JournalError` if the directory cannot be listed or a segment read.
    """
    wanted = None if robots is None else set(robots)
    order: dict[str, None] = {}
    specs: dict[str, Mapping[str, Any]] = {}
    quarantined: dict[str, set[int]] = {}
    for path in _segment_files(Path(directory)):
        _index_segment(path, _read(path), wanted, order, specs, quarantined)
    return JournalIndex(
        robots=tuple(order),
        specs=specs,
        quarantined={name: frozenset(seqs) for name, seqs in quarantined.items()},
    )


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        msg = f"Cannot read the journal segment {path}: {exc}."
        raise JournalError(msg) from exc


def _index_segment(  # noqa: PLR0917  # a private helper of one caller, its state passed in
    path: Path,
    data: bytes,
    wanted: set[str] | None,
    order: dict[str, None],
    specs: dict[str, Mapping[str, Any]],
    quarantined: dict[str, set[int]],
) -> None:
    names: dict[int, str] = {}
    unpack, head, size = _FRAME.unpack_from, _FRAME.size, len(data)
    hop, indexed, last = _LENGTH_KIND.unpack_from, _INDEXED, size - _LENGTH_KIND.size
    offset = 0
    # one hop per frame in as few operations as can be: it runs for every record
    while offset <= last:
        length, kind = hop(data, offset)
        offset += head + length
        if kind not in indexed:
            if length and offset <= size:
                continue
            return  # a torn tail, or damage the verified read will report
        if length == 0 or offset > size:
            return
        start, end = offset - length, offset
        if zlib.crc32(data[start:end]) != unpack(data, end - length - head)[1]:
            return  # as above: the verified read says what is wrong
        if kind == _K_NAME:
            names[_ID.unpack_from(data, start)[1]] = str(data[start + _ID.size : end], "utf-8")
        elif kind in _NAMED:
            name = names.get(_ID.unpack_from(data, start)[1])
            if name is None or (wanted is not None and name not in wanted):
                continue
            if kind == _K_ROBOT:
                order.setdefault(name)
                specs[name] = _spec(path, data[start + _ID.size : end])
            else:
                quarantined.setdefault(name, set()).add(_DELIVERY.unpack_from(data, start)[2])


def _spec(path: Path, body: bytes) -> Mapping[str, Any]:
    try:
        spec = json.loads(body)
    except ValueError as exc:
        msg = f"Journal segment {path} has a robot record whose spec is not JSON: {exc}."
        raise JournalError(msg) from exc
    if not isinstance(spec, dict):
        msg = f"Journal segment {path} has a robot record whose spec is not an object: {spec!r}."
        raise JournalError(msg)
    return spec
