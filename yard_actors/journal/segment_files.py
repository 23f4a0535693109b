"""A journal writer's segment files: where a new journal continues, and each new segment made.

Separate from :mod:`.writer` because none of it is on the path of a record: it runs when a
:class:`~.writer.Journal` opens, when it rolls to a new segment past ``segment_bytes``, and
when it closes. The writer keeps the open file and writes to it directly, so a record costs
no call into here.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import BinaryIO

from yard_actors.errors import JournalError
from yard_actors.journal._format import (
    _BUFFER_BYTES,
    _HEADER_FRAME,
    _last_seq,
    _number,
    _segment_files,
)

__all__ = ["close_segment", "continue_in", "create_segment"]


def continue_in(directory: Path) -> tuple[int, int]:
    """Make ``directory`` if needed; return the seq of the next event and the number of
    the next segment, after those already there.

    Raises :class:`JournalError` if the directory cannot be used or its newest segment
    with events is damaged before its tail; a torn tail there is skipped with a warning.
    """
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        msg = f"Cannot create the journal directory {directory}: {exc}."
        raise JournalError(msg) from exc
    segments = _segment_files(directory)
    return _last_seq(segments) + 1, _number(segments[-1]) + 1 if segments else 1


def create_segment(directory: Path, number: int, *, fsync: bool) -> tuple[Path, BinaryIO, int]:
    """Create segment ``number`` in ``directory`` with its header written (and, with
    ``fsync``, on disk, its directory entry too); return its path, open file and size.

    Raises :class:`JournalError` naming the segment if it cannot be made.
    """
    segment = directory / f"journal-{number:06d}.yj"
    try:
        # "x": a segment is never reopened, so a torn tail can only ever end a file
        file = open(segment, "xb", buffering=_BUFFER_BYTES)  # noqa: SIM115
    except OSError as exc:
        msg = f"Cannot start the journal segment {segment}: {exc}."
        raise JournalError(msg) from exc
    try:
        file.write(_HEADER_FRAME)
        file.flush()
        if fsync:
            os.fsync(file.fileno())
            _fsync_directory(directory)
    except OSError as exc:
        with contextlib.suppress(OSError):  # the header's failure is the one to report
            file.close()
        msg = f"Cannot start the journal segment {segment}: {exc}."
        raise JournalError(msg) from exc
    return segment, file, len(_HEADER_FRAME)


def close_segment(segment: Path, file: BinaryIO) -> None:
    """Close the segment's file (its buffer flushed). Raises :class:`JournalError`."""
    try:
        file.close()
    except OSError as exc:
        msg = f"Cannot close the journal segment {segment}: {exc}."
        raise JournalError(msg) from exc


def _fsync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
