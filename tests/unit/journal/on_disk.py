"""What a journal looks like on disk, for the journal's tests: segments, frame sizes and kinds."""

from __future__ import annotations

import struct
from pathlib import Path

from yard_actors.journal import JournalEntry

HEADER_BYTES = 15  # the frame that opens every segment
DELIVERY_BYTES = 21  # a framed delivery of a robot already named in the segment
WATERMARK_BYTES = 21  # a framed watermark, the same size


def segments(directory: Path) -> list[Path]:
    return sorted(directory.glob("journal-*.yj"))


def event(seq: int, payload: bytes) -> JournalEntry:
    return JournalEntry(kind="event", seq=seq, payload=payload)


def command(payload: bytes) -> JournalEntry:
    return JournalEntry(kind="command", seq=None, payload=payload)


def frame_kinds(path: Path) -> bytes:
    """The kind byte of every frame in a segment, in order (b"HNG..."), read raw."""
    data, kinds, offset = path.read_bytes(), bytearray(), 0
    while offset + 8 <= len(data):
        length = struct.unpack_from("<I", data, offset)[0]
        kinds.append(data[offset + 8])
        offset += 8 + length
    return bytes(kinds)
