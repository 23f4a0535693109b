"""The on-disk format of journal segments: frames, kinds, and verifying a segment as read.

Shared by the writer (which frames records) and the reader (which verifies them); see the
package docstring for the format table.
"""

from __future__ import annotations

import logging
import os
import re
import struct
import sys
import zlib
from array import array
from collections.abc import Iterator
from pathlib import Path

import attrs

from yard_actors.errors import JournalError

logger = logging.getLogger("yard_actors.journal")

_FRAME = struct.Struct("<II")  # body length, crc32 of body
_FRAME_KIND = struct.Struct("<IIB")  # a frame's header and its record's kind: what a read unpacks
_HEADER = struct.Struct("<B4sH")  # kind, magic, format version
_ID = struct.Struct("<BI")  # kind, robot id: name, robot and command bodies
_EVENT = struct.Struct("<BQ")  # kind, seq
_DELIVERY = struct.Struct("<BIQ")  # kind, robot id, seq: delivery and watermark bodies
_GROUP = struct.Struct("<BIH")  # kind, group id, topic length; the topic and u32 robot ids follow
_FANNED = struct.Struct("<BQI")  # kind, seq, group id
_K_HEADER, _K_NAME, _K_ROBOT, _K_EVENT, _K_DELIVERY, _K_COMMAND = b"HNREDC"
_K_GROUP, _K_FANNED, _K_WATERMARK = b"GFW"
_K_QUARANTINE, _K_RESTART = b"QX"  # supervision: an event set aside, a robot restarted
_KINDS = frozenset(b"HNREDCGFWQX")
_RECORD_KINDS = frozenset(b"REDCFWQX")  # the kinds read back as records
_V1_RECORD_KINDS = frozenset(b"REDC")  # version 1 had no fan-out
_EVENT_KINDS = frozenset(b"EF")  # the kinds that take a seq (at the same place in the body)
_MAGIC = b"yard"
_VERSION = 2
_READABLE_VERSIONS = (1, 2)
_SEGMENT_NAME = re.compile(r"journal-(\d{6,})\.yj")
_BUFFER_BYTES = 1 << 16

_header_body = _HEADER.pack(_K_HEADER, _MAGIC, _VERSION)
_HEADER_FRAME = _FRAME.pack(len(_header_body), zlib.crc32(_header_body)) + _header_body


@attrs.frozen
class _Segment:
    path: Path
    data: bytes
    starts: array[int]  # offsets of the verified record bodies; header, name, group excluded
    names: dict[int, str]
    groups: dict[int, int] = attrs.field(factory=dict)  # group id -> offset of its body

    def end(self, start: int) -> int:
        return start + _length(self.data, start - _FRAME.size)

    def group_id(self, start: int) -> int:
        """The group id of the fanned event whose body starts at ``start``."""
        group_id: int = _FANNED.unpack_from(self.data, start)[2]
        if group_id not in self.groups:
            msg = (
                f"Journal segment {self.path} has a fanned event at byte "
                f"{start - _FRAME.size} for group id {group_id}, which no group record "
                "in the segment defines."
            )
            raise JournalError(msg)
        return group_id

    def group(self, group_id: int) -> tuple[str, tuple[int, ...]]:
        """The topic and robot ids of a group this segment declares."""
        start = self.groups[group_id]
        topic_length = _GROUP.unpack_from(self.data, start)[2]
        ids_at = start + _GROUP.size + topic_length
        topic = str(self.data[start + _GROUP.size : ids_at], "utf-8")
        ids = array("I")
        ids.frombytes(self.data[ids_at : self.end(start)])
        if sys.byteorder != "little":
            ids.byteswap()
        return topic, tuple(ids)

    def name(self, robot_id: int, start: int) -> str:
        """The name of ``robot_id``, which a record at ``start`` uses."""
        try:
            return self.names[robot_id]
        except KeyError:
            msg = (
                f"Journal segment {self.path} has a record at byte {start - _FRAME.size} for "
                f"robot id {robot_id}, which no name record in the segment defines."
            )
            raise JournalError(msg) from None

    def robot(self, start: int) -> str:
        return self.name(_ID.unpack_from(self.data, start)[1], start)


def _number(path: Path) -> int:
    match = _SEGMENT_NAME.fullmatch(path.name)
    assert match is not None
    return int(match[1])


def _segment_files(directory: Path) -> list[Path]:
    try:
        names = os.listdir(directory)
    except OSError as exc:
        msg = f"Cannot list the journal directory {directory}: {exc}."
        raise JournalError(msg) from exc
    return sorted(
        (directory / name for name in names if _SEGMENT_NAME.fullmatch(name)), key=_number
    )


def _last_seq(segments: list[Path]) -> int:
    for path in reversed(segments):
        segment = _load(path)
        for start in reversed(segment.starts):
            if segment.data[start] in _EVENT_KINDS:
                return int(_EVENT.unpack_from(segment.data, start)[1])
    return 0


def _load(path: Path, size: int | None = None) -> _Segment:
    """Read a segment and verify its frames; warn about a torn tail, raise on other damage.

    ``size``: read only its first ``size`` bytes (a segment still being written, read up to
    a point the writer said every record before lies within).
    """
    (segment,) = _load_parts(path, size)
    return segment


def _load_parts(
    path: Path, size: int | None = None, part_bytes: int | None = None
) -> Iterator[_Segment]:
    """:func:`_load` in parts: each a :class:`_Segment` of the records of the next
    ``part_bytes`` or so of the file (one part when None), sharing the segment's data,
    names and groups (a part's names and groups hold those of the parts before it too).

    A reader that starts on the first records while the rest is verified keeps its own
    reader waiting less (:mod:`~yard_actors.journal.stream_ahead`); damage is found, and
    raised or warned about, when the part holding it is reached.
    """
    data = _read_segment(path, size)
    names: dict[int, str] = {}
    groups: dict[int, int] = {}
    if not data:
        yield _Segment(path, data, array("Q"), names, groups)
        return  # a run that died before writing its header
    view, size, unpack, crc32 = memoryview(data), len(data), _FRAME_KIND.unpack_from, zlib.crc32
    records, head = _RECORD_KINDS, _FRAME.size
    limit = size - _FRAME_KIND.size  # where the last frame with a body can start
    offset = 0
    intact = True
    while intact:
        part = _Segment(path, data, array("Q"), names, groups)
        append = part.starts.append
        last = limit if part_bytes is None else min(limit, offset + part_bytes)
        # the hot loop of every read: one unpack and one crc per frame, checks inlined
        while offset <= last:
            length, crc, kind = unpack(data, offset)
            start = offset + head
            end = start + length
            if end > size or not length or crc32(view[start:end]) != crc:
                intact = False
                break
            if kind in records and offset:
                append(start)
            elif offset == 0:
                records = _V1_RECORD_KINDS if _check_header(path, data) == 1 else _RECORD_KINDS
            elif kind == _K_NAME:
                names[_ID.unpack_from(data, start)[1]] = str(view[start + _ID.size : end], "utf-8")
            elif kind == _K_GROUP and records is _RECORD_KINDS:
                groups[_GROUP.unpack_from(data, start)[1]] = start
            else:
                msg = (
                    f"Journal segment {path} has a record of unexpected kind {bytes([kind])!r} "
                    f"at byte {offset}; was it written by a newer yard?"
                )
                raise JournalError(msg)
            offset = end
        if offset > limit:
            break
        if intact:
            yield part
    if offset < size:
        _end_at_damage(path, data, offset, _frame_problem(data, view, offset) or "")
    yield part


def _read_segment(path: Path, size: int | None) -> bytes:
    try:
        if size is None:
            return path.read_bytes()
        with path.open("rb") as file:
            return file.read(size)
    except OSError as exc:
        msg = f"Cannot read the journal segment {path}: {exc}."
        raise JournalError(msg) from exc


def _length(data: bytes, offset: int) -> int:
    length: int = _FRAME.unpack_from(data, offset)[0]
    return length


def _frame_problem(data: bytes, view: memoryview, offset: int) -> str | None:
    """Say what is wrong with the frame at ``offset``, or None if it is whole and intact."""
    if len(data) - offset < _FRAME.size:
        return f"a frame header cut short at {len(data) - offset} bytes"
    length, crc = _FRAME.unpack_from(data, offset)
    start = offset + _FRAME.size
    if length == 0:
        return "a frame of length 0"
    if start + length > len(data):
        return f"a {length}-byte record cut short at {len(data) - start} bytes"
    if zlib.crc32(view[start : start + length]) != crc:
        return "a crc mismatch"
    return None


def _end_at_damage(path: Path, data: bytes, offset: int, problem: str) -> None:
    """Warn about a torn tail at ``offset``, or raise if valid frames follow the damage."""
    view = memoryview(data)
    for later in range(offset + 1, len(data) - _FRAME.size):
        if data[later + _FRAME.size] in _KINDS and _frame_problem(data, view, later) is None:
            msg = (
                f"Journal segment {path} is damaged at byte {offset} ({problem}), and valid "
                f"records follow at byte {later}, so this is not the torn tail of a crash. "
                f"Truncate the file to {offset} bytes to keep what precedes the damage, or "
                "restore it from a copy."
            )
            raise JournalError(msg)
    logger.warning(
        "journal segment %s ends with a torn record at byte %d (%s); skipping its last %d "
        "bytes, as a crash mid-write leaves them",
        path,
        offset,
        problem,
        len(data) - offset,
    )


def _check_header(path: Path, data: bytes) -> int:
    """Check the segment's header frame; return its format version (1 or 2)."""
    if _length(data, 0) != _HEADER.size or data[_FRAME.size] != _K_HEADER:
        msg = f"{path} is not a yard journal segment: it does not start with a header record."
        raise JournalError(msg)
    _, magic, version = _HEADER.unpack_from(data, _FRAME.size)
    if magic != _MAGIC or version not in _READABLE_VERSIONS:
        readable = " and ".join(str(v) for v in _READABLE_VERSIONS)
        msg = (
            f"Journal segment {path} has format version {version} (magic {magic!r}); this yard "
            f"reads versions {readable}. Read it with the yard that wrote it."
        )
        raise JournalError(msg)
    return int(version)


def _check_order(segment: _Segment, start: int, earlier: int, later: int) -> None:
    if earlier >= later:
        msg = (
            f"Journal segment {segment.path} has event seqs out of order near byte "
            f"{start - _FRAME.size} ({earlier} then {later}); were two hosts writing to "
            "one journal directory?"
        )
        raise JournalError(msg)
