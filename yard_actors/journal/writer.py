"""Writing a journal: one lock, one buffered write per record (or batch), flushed by policy.

:class:`Journal` frames every kind of record (the format is in the package docstring and
:mod:`._format`), declares robot names and fan-out groups (:mod:`.group`) once per segment,
flushes as its :class:`JournalConfig` says and rolls to a new segment past ``segment_bytes``
(made and closed by :mod:`.segment_files`). Those jobs share the lock, the open segment and
its name and group ids, so they stay in one class; every record a host writes comes through
here, and its methods are written for speed (locals for bound methods, one ``write`` a batch).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import zlib
from array import array
from collections.abc import Mapping, Sequence
from pathlib import Path
from time import monotonic
from typing import Any, BinaryIO, Self

from yard_actors.errors import JournalError
from yard_actors.journal._format import (
    _DELIVERY,
    _EVENT,
    _FANNED,
    _FRAME,
    _GROUP,
    _ID,
    _K_COMMAND,
    _K_DELIVERY,
    _K_EVENT,
    _K_FANNED,
    _K_GROUP,
    _K_NAME,
    _K_QUARANTINE,
    _K_RESTART,
    _K_ROBOT,
    _K_WATERMARK,
)
from yard_actors.journal.config import FlushPolicy, JournalConfig
from yard_actors.journal.group import Group
from yard_actors.journal.segment_files import close_segment, continue_in, create_segment

__all__ = ["Journal"]

logger = logging.getLogger("yard_actors.journal")


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
    _group_ids: dict[Group, int]

    def __init__(
        self, directory: str | os.PathLike[str], config: JournalConfig | None = None
    ) -> None:
        """Open a new segment in ``directory`` (created if needed) after the existing ones.

        Raises :class:`JournalError` if the directory cannot be used or its newest segment with
        events is damaged before its tail; a torn tail there is skipped with a warning.
        """
        self._directory = Path(directory)
        self._config = config if config is not None else JournalConfig()
        self._next_seq, self._segment_number = continue_in(self._directory)
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
        spec_bytes = _json(spec, f"robot {robot!r}: its spec is not JSON-serialisable")
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

    def record_events(self, payloads: Sequence[bytes]) -> int:
        """Journal several events in one write; return the seq of the first (the rest follow).

        An intake that drained a burst from its socket journals it this way: one
        write and, with ``EVERY_EVENT``, one flush for the burst, all before any
        robot sees any of its events.
        """
        with self._lock:
            self._check_writable("events")
            first = seq = self._next_seq
            frames = []
            pack_event, pack_frame, crc32 = _EVENT.pack, _FRAME.pack, zlib.crc32
            for payload in payloads:
                head = pack_event(_K_EVENT, seq)
                frames.append(pack_frame(len(head) + len(payload), crc32(payload, crc32(head))))
                frames.append(head)
                frames.append(payload)
                seq += 1
            self._write(b"".join(frames), len(payloads))
            self._next_seq = seq
            return first

    def record_fanned(self, burst: Sequence[tuple[bytes, Group]]) -> int:
        """Journal a burst of events, each once with the group it goes to; return the first seq.

        The fan-out twin of :meth:`record_events`: each event is one record however many
        robots its group holds, and each robot then records a watermark
        (:meth:`record_watermark`) per run it handles, not a delivery per event. A group
        new to the current segment is declared (with its robots' names) before its first
        use, in the same write.
        """
        with self._lock:
            self._check_writable("events")
            first = seq = self._next_seq
            frames: list[bytes] = []
            group_ids = self._group_ids
            pack_event, pack_frame, crc32 = _FANNED.pack, _FRAME.pack, zlib.crc32
            for payload, group in burst:
                group_id = group_ids.get(group)
                if group_id is None:
                    group_id = self._declare(group, frames)
                head = pack_event(_K_FANNED, seq, group_id)
                frames.append(pack_frame(len(head) + len(payload), crc32(payload, crc32(head))))
                frames.append(head)
                frames.append(payload)
                seq += 1
            self._write(b"".join(frames), len(burst))
            self._next_seq = seq
            return first

    def record_watermark(self, robot: str, seq: int) -> None:
        """Journal that ``robot`` is about to handle every fanned event for it up to ``seq``.

        A robot actor writes one before each run of fanned events it handles (write-ahead,
        like a delivery), in its handling order; a reader hands the robot every fanned event
        of its groups with a seq up to ``seq`` that no earlier watermark covered. So a crash
        mid-run leaves a watermark past what the robot handled (see the package docstring).
        """
        with self._lock:
            self._check_writable("a watermark")
            if not 0 < seq < self._next_seq:
                self._refuse_delivery(robot, seq)
            robot_id, name_frame = self._intern(robot)
            body = _DELIVERY.pack(_K_WATERMARK, robot_id, seq)
            self._write(name_frame + _FRAME.pack(len(body), zlib.crc32(body)) + body)

    def record_deliveries(self, robot: str, seqs: Sequence[int]) -> None:
        """Journal that ``robot`` is about to handle ``seqs``, in that order, in one write."""
        with self._lock:
            self._check_writable("deliveries")
            for seq in seqs:
                if not 0 < seq < self._next_seq:
                    self._refuse_delivery(robot, seq)
            robot_id, name_frame = self._intern(robot)
            frames = [name_frame]
            pack_body, pack_frame, crc32 = _DELIVERY.pack, _FRAME.pack, zlib.crc32
            for seq in seqs:
                body = pack_body(_K_DELIVERY, robot_id, seq)
                frames.append(pack_frame(len(body), crc32(body)))
                frames.append(body)
            self._write(b"".join(frames), len(seqs))

    def _refuse_delivery(self, robot: str, seq: int) -> None:
        msg = (
            f"Cannot journal the delivery of event {seq} to robot {robot!r}: no event "
            f"with that seq was journaled in {self._directory} (the last is "
            f"{self._next_seq - 1}); journal the event first."
        )
        raise JournalError(msg)

    def record_delivery(self, robot: str, seq: int) -> None:
        """Journal that ``robot`` is about to handle event ``seq``, in its handling order."""
        with self._lock:
            self._check_writable("a delivery")
            if not 0 < seq < self._next_seq:
                self._refuse_delivery(robot, seq)
            robot_id, name_frame = self._intern(robot)
            body = _DELIVERY.pack(_K_DELIVERY, robot_id, seq)
            self._write(name_frame + _FRAME.pack(len(body), zlib.crc32(body)) + body)

    def record_quarantine(self, robot: str, seq: int) -> None:
        """Journal that event ``seq`` failed ``robot`` twice: every replay of it skips the event."""
        with self._lock:
            self._check_writable("a quarantine")
            if not 0 < seq < self._next_seq:
                self._refuse_delivery(robot, seq)
            robot_id, name_frame = self._intern(robot)
            body = _DELIVERY.pack(_K_QUARANTINE, robot_id, seq)
            self._write(name_frame + _FRAME.pack(len(body), zlib.crc32(body)) + body)

    def record_restart(self, robot: str, note: Mapping[str, Any]) -> None:
        """Journal that ``robot`` was restarted; ``note`` (JSON-able) says why, who and when."""
        text = _json(note, f"the restart of robot {robot!r}: its note is not JSON")
        with self._lock:
            self._check_writable("a restart")
            robot_id, name_frame = self._intern(robot)
            body = _ID.pack(_K_RESTART, robot_id) + text
            self._write(name_frame + _FRAME.pack(len(body), zlib.crc32(body)) + body)

    def record_command(self, robot: str, payload: bytes) -> None:
        """Journal a command ``robot`` emitted; a host journals it once it has sent it."""
        with self._lock:
            self._check_writable("a command")
            robot_id, name_frame = self._intern(robot)
            head = _ID.pack(_K_COMMAND, robot_id)
            crc = zlib.crc32(payload, zlib.crc32(head))
            frame = _FRAME.pack(len(head) + len(payload), crc) + head + payload
            self._write(name_frame + frame)

    def end(self) -> tuple[Path, int]:
        """Flush, and return the current segment and its size: where every record so far ends.

        For a reader of a journal still being written (a robot's restart): read up to there
        (``read_robot(..., until=...)``), it sees every record written before the call,
        and no half-written frame of one written meanwhile.
        """
        with self._lock:
            self._check_writable("anything")
            self._flush()
            return self._segment, self._size

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
                close_segment(self._segment, self._file)
        if timer is not None:  # joined outside the lock, which its callback takes
            timer.cancel()
            timer.join()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
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

    def _declare(self, group: Group, frames: list[bytes]) -> int:
        """Give ``group`` an id in this segment; append its name and group frames to ``frames``."""
        robot_ids = array("I")
        for robot in group.robots:
            robot_id, name_frame = self._intern(robot)
            robot_ids.append(robot_id)
            if name_frame:
                frames.append(name_frame)
        if sys.byteorder != "little":
            robot_ids.byteswap()
        topic = group.topic.encode()
        group_id = len(self._group_ids)
        body = _GROUP.pack(_K_GROUP, group_id, len(topic)) + topic + robot_ids.tobytes()
        frames.append(_FRAME.pack(len(body), zlib.crc32(body)) + body)
        self._group_ids[group] = group_id
        return group_id

    def _write(self, frame: bytes, records: int = 1) -> None:
        try:
            self._file.write(frame)
        except OSError as exc:
            self._fail(exc)
        self._size += len(frame)
        self._unflushed += records
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
        directory, number, fsync = self._directory, self._segment_number, self._config.fsync
        try:
            self._segment, self._file, self._size = create_segment(directory, number, fsync=fsync)
        except JournalError as exc:
            self._failure = str(exc.__cause__)  # the OSError, as a failed write records it
            raise
        self._unflushed = 0
        self._last_flush = monotonic()
        self._robot_ids = {}
        self._group_ids = {}  # ids are per segment, as robot ids are: each segment stands alone

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


def _json(value: Mapping[str, Any], what: str) -> bytes:
    """``value`` as compact JSON; JournalError saying ``what`` is wrong if it is not JSON."""
    try:
        return json.dumps(dict(value), separators=(",", ":"), allow_nan=False).encode()
    except (TypeError, ValueError) as exc:
        msg = f"Cannot journal {what} ({exc})."
        raise JournalError(msg) from exc
