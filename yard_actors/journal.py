"""The write-ahead journal of a host: one append-only log for all of its robots.

Every event a robot receives is journaled before the robot handles it, so replaying the
journal rebuilds the robot exactly. A host of 1,000 robots must run under ``ulimit -n 1024``,
so a host keeps ONE log (one open file while writing), split into segment files, and a
robot's history is a filtered view of it (:func:`read_robot`). Payloads are the codec's bytes;
the journal never decodes them.

A journal directory holds ``journal-000001.yj``, ``journal-000002.yj``, ... Each
:class:`Journal` starts a new segment, so no run appends to a file that a crash may have left
torn, and rolls to the next one past ``segment_bytes``. A segment is a run of frames,
``[u32 body length][u32 crc32 of body][body]`` little endian, each body led by a kind byte:

=====  ==================================  ==============================================
kind   body after the kind byte            meaning
=====  ==================================  ==============================================
``H``  ``yard`` + u16 format version       first frame of every segment
``N``  u32 robot id + UTF-8 name           names a robot id; ids are per segment
``R``  u32 robot id + JSON spec            a robot was added to the host
``E``  u64 seq + payload                   an event; seqs rise by one across segments
``D``  u32 robot id + u64 seq              the robot handled that event (21 bytes framed)
``C``  u32 robot id + payload              the robot emitted that command
=====  ==================================  ==============================================

A record cut short or failing its crc at the end of a segment is the torn tail of a crash: it
is skipped with a warning. Damage followed by valid records raises :class:`JournalError`.
"""

from __future__ import annotations

import enum
import json
import logging
import os
import re
import struct
import threading
import zlib
from array import array
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from time import monotonic
from types import TracebackType
from typing import Any, BinaryIO, Literal, Self

import attrs

from yard_actors.errors import JournalError

__all__ = [
    "FlushPolicy",
    "Journal",
    "JournalConfig",
    "JournalEntry",
    "Record",
    "RobotJournal",
    "iter_records",
    "read_robot",
    "read_robots",
    "robots_in",
]

logger = logging.getLogger(__name__)

_FRAME = struct.Struct("<II")  # body length, crc32 of body
_HEADER = struct.Struct("<B4sH")  # kind, magic, format version
_ID = struct.Struct("<BI")  # kind, robot id: name, robot and command bodies
_EVENT = struct.Struct("<BQ")  # kind, seq
_DELIVERY = struct.Struct("<BIQ")  # kind, robot id, seq
_K_HEADER, _K_NAME, _K_ROBOT, _K_EVENT, _K_DELIVERY, _K_COMMAND = b"HNREDC"
_KINDS = frozenset(b"HNREDC")
_RECORD_KINDS = frozenset(b"REDC")  # the kinds read back as records
_MAGIC = b"yard"
_VERSION = 1
_SEGMENT_NAME = re.compile(r"journal-(\d{6,})\.yj")
_BUFFER_BYTES = 1 << 16

_header_body = _HEADER.pack(_K_HEADER, _MAGIC, _VERSION)
_HEADER_FRAME = _FRAME.pack(len(_header_body), zlib.crc32(_header_body)) + _header_body


class FlushPolicy(enum.Enum):
    """When written records are handed to the operating system (a process crash loses none)."""

    EVERY_EVENT = "every_event"
    EVERY_N = "every_n"
    INTERVAL = "interval"


def _policy(instance: object, attribute: attrs.Attribute[FlushPolicy], value: object) -> None:
    if not isinstance(value, FlushPolicy):
        allowed = ", ".join(f"FlushPolicy.{policy.name}" for policy in FlushPolicy)
        msg = f"{attribute.name} must be one of {allowed}, was {value!r}"
        raise TypeError(msg)


def _positive(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if type(value) is not int or value <= 0:
        msg = f"{attribute.name} must be positive, was {value!r}"
        raise ValueError(msg)


@attrs.frozen(kw_only=True)
class JournalConfig:
    """How often a :class:`Journal` flushes, whether it fsyncs, and how big a segment grows.

    ``INTERVAL`` flushes when a record arrives at least ``interval_ms`` after the last flush,
    and a one-shot timer thread flushes records left behind when traffic stops; the timer ends
    after one interval, and :meth:`Journal.close` stops it.
    """

    flush: FlushPolicy = attrs.field(default=FlushPolicy.EVERY_EVENT, validator=_policy)
    every_n: int = attrs.field(default=100, validator=_positive)
    interval_ms: int = attrs.field(default=50, validator=_positive)
    fsync: bool = False
    segment_bytes: int = attrs.field(default=64 * 1024 * 1024, validator=_positive)


class Journal:
    """The writer of a journal directory; every ``record_*`` method is safe from any thread.

    A record is one write of one frame under one lock, flushed as ``config.flush`` says. The
    methods raise :class:`JournalError` when the journal is closed, failed earlier, or a write
    fails; after a failed write the journal refuses further records, because a half-written
    frame followed by good ones would read back as damage.
    """

    # the current segment, set by _open_segment
    _segment: Path
    _file: BinaryIO
    _size: int
    _unflushed: int
    _last_flush: float
    _robot_ids: dict[str, int]

    def __init__(
        self, directory: str | os.PathLike[str], config: JournalConfig | None = None
    ) -> None:
        """Open a new segment in ``directory`` (created if needed) after the existing ones.

        Raises :class:`JournalError` if the directory cannot be used or its newest segment with
        events is damaged before its tail; a torn tail there is skipped with a warning.
        """
        self._directory = Path(directory)
        self._config = config if config is not None else JournalConfig()
        try:
            self._directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            msg = f"Cannot create the journal directory {self._directory}: {exc}."
            raise JournalError(msg) from exc
        segments = _segment_files(self._directory)
        self._next_seq = _last_seq(segments) + 1
        self._segment_number = _number(segments[-1]) + 1 if segments else 1
        policy = self._config.flush
        self._flush_every = {FlushPolicy.EVERY_N: self._config.every_n}.get(policy, 1)
        interval = policy is FlushPolicy.INTERVAL
        self._interval = self._config.interval_ms / 1000 if interval else None
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()
        self._closed = False
        self._failure: str | None = None
        self._open_segment()

    @property
    def path(self) -> Path:
        """The journal directory."""
        return self._directory

    def record_robot(self, robot: str, spec: Mapping[str, Any]) -> None:
        """Journal that ``robot`` was added with ``spec`` (a JSON-able mapping)."""
        try:
            text = json.dumps(dict(spec), separators=(",", ":"), allow_nan=False)
        except (TypeError, ValueError) as exc:
            msg = f"Cannot journal robot {robot!r}: its spec is not JSON-serialisable ({exc})."
            raise JournalError(msg) from exc
        spec_bytes = text.encode()
        with self._lock:
            self._check_writable("a robot")
            robot_id, name_frame = self._intern(robot)
            body = _ID.pack(_K_ROBOT, robot_id) + spec_bytes
            self._write(name_frame + _FRAME.pack(len(body), zlib.crc32(body)) + body)

    def record_event(self, payload: bytes) -> int:
        """Journal one incoming event, however many robots it goes to; return its seq."""
        with self._lock:
            self._check_writable("an event")
            seq = self._next_seq
            head = _EVENT.pack(_K_EVENT, seq)
            crc = zlib.crc32(payload, zlib.crc32(head))
            self._write(_FRAME.pack(len(head) + len(payload), crc) + head + payload)
            self._next_seq = seq + 1
            return seq

    def record_delivery(self, robot: str, seq: int) -> None:
        """Journal that ``robot`` is about to handle event ``seq``, in its handling order."""
        with self._lock:
            self._check_writable("a delivery")
            if not 0 < seq < self._next_seq:
                msg = (
                    f"Cannot journal the delivery of event {seq} to robot {robot!r}: no event "
                    f"with that seq was journaled in {self._directory} (the last is "
                    f"{self._next_seq - 1}); journal the event first."
                )
                raise JournalError(msg)
            robot_id, name_frame = self._intern(robot)
            body = _DELIVERY.pack(_K_DELIVERY, robot_id, seq)
            self._write(name_frame + _FRAME.pack(len(body), zlib.crc32(body)) + body)

    def record_command(self, robot: str, payload: bytes) -> None:
        """Journal a command ``robot`` emitted."""
        with self._lock:
            self._check_writable("a command")
            robot_id, name_frame = self._intern(robot)
            head = _ID.pack(_K_COMMAND, robot_id)
            crc = zlib.crc32(payload, zlib.crc32(head))
            frame = _FRAME.pack(len(head) + len(payload), crc) + head + payload
            self._write(name_frame + frame)

    def flush(self) -> None:
        """Hand every record written so far to the operating system (and fsync if configured)."""
        with self._lock:
            if not self._closed:
                self._flush()

    def close(self) -> None:
        """Flush, close the segment and stop the flush timer; calling it again does nothing."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            timer, self._timer = self._timer, None
            try:
                if self._failure is None:
                    self._flush()
            finally:
                try:
                    self._file.close()
                except OSError as exc:
                    msg = f"Cannot close the journal segment {self._segment}: {exc}."
                    raise JournalError(msg) from exc
        if timer is not None:  # joined outside the lock, which its callback takes
            timer.cancel()
            timer.join()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # --- under self._lock -------------------------------------------------------------

    def _check_writable(self, what: str) -> None:
        if self._closed or self._failure is not None:
            why = "it is closed" if self._closed else f"an earlier write failed ({self._failure})"
            msg = f"Cannot journal {what} in {self._directory}: {why}."
            raise JournalError(msg)

    def _intern(self, robot: str) -> tuple[int, bytes]:
        """Return the robot's id in this segment, and the name frame to write first if new."""
        robot_id = self._robot_ids.get(robot)
        if robot_id is not None:
            return robot_id, b""
        try:
            name = robot.encode()
        except UnicodeEncodeError as exc:
            msg = f"Cannot journal robot name {robot!r}: it is not encodable as UTF-8."
            raise JournalError(msg) from exc
        robot_id = len(self._robot_ids)
        self._robot_ids[robot] = robot_id
        body = _ID.pack(_K_NAME, robot_id) + name
        return robot_id, _FRAME.pack(len(body), zlib.crc32(body)) + body

    def _write(self, frame: bytes) -> None:
        try:
            self._file.write(frame)
        except OSError as exc:
            self._fail(exc)
        self._size += len(frame)
        self._unflushed += 1
        if self._interval is None:
            if self._unflushed >= self._flush_every:
                self._flush()
        elif monotonic() - self._last_flush >= self._interval:
            self._flush()
        elif self._timer is None:
            self._start_timer()
        if self._size >= self._config.segment_bytes:
            self._roll()

    def _flush(self) -> None:
        if self._unflushed:
            try:
                self._file.flush()
                if self._config.fsync:
                    os.fsync(self._file.fileno())
            except OSError as exc:
                self._fail(exc)
            self._unflushed = 0
        self._last_flush = monotonic()

    def _fail(self, exc: OSError) -> None:
        self._failure = str(exc)
        msg = f"Cannot write the journal segment {self._segment}: {exc}."
        raise JournalError(msg) from exc

    def _open_segment(self) -> None:
        self._segment = self._directory / f"journal-{self._segment_number:06d}.yj"
        try:
            # "x": a segment is never reopened, so a torn tail can only ever end a file
            self._file = open(self._segment, "xb", buffering=_BUFFER_BYTES)  # noqa: SIM115
            self._file.write(_HEADER_FRAME)
            self._file.flush()
            if self._config.fsync:
                os.fsync(self._file.fileno())
                _fsync_directory(self._directory)
        except OSError as exc:
            self._failure = str(exc)
            msg = f"Cannot start the journal segment {self._segment}: {exc}."
            raise JournalError(msg) from exc
        self._size = len(_HEADER_FRAME)
        self._unflushed = 0
        self._last_flush = monotonic()
        self._robot_ids = {}

    def _roll(self) -> None:
        self._flush()
        try:
            self._file.close()
        except OSError as exc:
            self._fail(exc)
        self._segment_number += 1
        self._open_segment()

    def _start_timer(self) -> None:
        assert self._interval is not None
        delay = max(0.0, self._interval - (monotonic() - self._last_flush))
        self._timer = threading.Timer(delay, self._flush_on_timer)
        self._timer.name = "yard-journal-flush"
        self._timer.start()

    def _flush_on_timer(self) -> None:
        """Runs in the timer thread: flush what a quiet spell left in the buffer."""
        with self._lock:
            self._timer = None
            if self._closed or self._failure is not None:
                return
            try:
                self._flush()
            except JournalError:
                logger.exception("journal %s: the timed flush failed", self._directory)


def _fsync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


# --- reading ---------------------------------------------------------------------------


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


@attrs.frozen
class _Segment:
    path: Path
    data: bytes
    starts: array[int]  # offsets of the verified record bodies, header and name frames excluded
    names: dict[int, str]

    def end(self, start: int) -> int:
        return start + _length(self.data, start - _FRAME.size)

    def robot(self, start: int) -> str:
        robot_id = _ID.unpack_from(self.data, start)[1]
        try:
            return self.names[robot_id]
        except KeyError:
            msg = (
                f"Journal segment {self.path} has a record at byte {start - _FRAME.size} for "
                f"robot id {robot_id}, which no name record in the segment defines."
            )
            raise JournalError(msg) from None


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


def _check_order(segment: _Segment, start: int, earlier: int, later: int) -> None:
    if earlier >= later:
        msg = (
            f"Journal segment {segment.path} has event seqs out of order near byte "
            f"{start - _FRAME.size} ({earlier} then {later}); were two hosts writing to "
            "one journal directory?"
        )
        raise JournalError(msg)


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
            if segment.data[start] == _K_EVENT:
                return int(_EVENT.unpack_from(segment.data, start)[1])
    return 0


def _load(path: Path) -> _Segment:
    """Read a segment and verify its frames; warn about a torn tail, raise on other damage."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        msg = f"Cannot read the journal segment {path}: {exc}."
        raise JournalError(msg) from exc
    segment = _Segment(path, data, array("Q"), {})
    if not data:
        return segment  # a run that died before writing its header
    view, size, unpack, crc32 = memoryview(data), len(data), _FRAME.unpack_from, zlib.crc32
    append, records = segment.starts.append, _RECORD_KINDS
    offset = 0
    # the hot loop of every read: one unpack and one crc per frame, checks inlined
    while offset + _FRAME.size <= size:
        length, crc = unpack(data, offset)
        start = offset + _FRAME.size
        end = start + length
        if not 0 < length <= size - start or crc32(view[start:end]) != crc:
            break
        kind = data[start]
        if kind in records and offset:
            append(start)
        elif offset == 0:
            _check_header(path, data)
        elif kind == _K_NAME:
            segment.names[_ID.unpack_from(data, start)[1]] = str(
                view[start + _ID.size : end], "utf-8"
            )
        else:
            msg = (
                f"Journal segment {path} has a record of unexpected kind {bytes([kind])!r} at "
                f"byte {offset}; was it written by a newer yard?"
            )
            raise JournalError(msg)
        offset = end
    if offset < size:
        _end_at_damage(path, data, offset, _frame_problem(data, view, offset) or "")
    return segment


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


def _check_header(path: Path, data: bytes) -> None:
    if _length(data, 0) != _HEADER.size or data[_FRAME.size] != _K_HEADER:
        msg = f"{path} is not a yard journal segment: it does not start with a header record."
        raise JournalError(msg)
    _, magic, version = _HEADER.unpack_from(data, _FRAME.size)
    if magic != _MAGIC or version != _VERSION:
        msg = (
            f"Journal segment {path} has format version {version} (magic {magic!r}); this yard "
            f"reads version {_VERSION}. Read it with the yard that wrote it."
        )
        raise JournalError(msg)
