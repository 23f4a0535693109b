"""A slice of one robot's journal, small enough to keep beside a test: an incident made a test.

``yard replay JOURNAL ROBOT --export-test FILE --start N --end M`` writes one of these beside
the test it writes, and :meth:`RobotHarness.from_journal
<yard_actors.testing.harness.RobotHarness.from_journal>` reads it (or a whole journal) back.
The slice holds only that robot's events, only up to ``end``: those before ``start`` rebuild
its state (a snapshot may not restore a robot, its events always do), those from ``start`` to
``end`` are the incident, each with the commands the live robot journaled for it.

The format is JSON lines: a header ``{"yard_slice": 1, "robot", "spec", "journal", "start",
"end"}``, then one line per event the robot was fed, ``{"seq", "event", "journaled"}``, the
event and commands as the codec's bytes in base64 (the journal's own payloads).

A robot's events are in its handling order, which is seq order except that a timer it journals
itself may precede fanned events of lower seq; so "``start`` to ``end``" is: from its first
event at or past ``start``, up to (not including) its first event after that past ``end``.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs

from yard_actors.errors import JournalError
from yard_actors.journal.replay_steps import open_replay
from yard_actors.robot.robot import Robot
from yard_actors.wire.codec import decode, encode
from yard_actors.wire.events import Event
from yard_actors.wire.instruments import InstrumentTable

__all__ = ["JournaledStep", "SliceSource", "export_slice", "journaled_steps"]

_FORMAT = 1


@attrs.frozen(kw_only=True)
class JournaledStep:
    """One event the robot was fed, with the encoded commands the live robot journaled for it.

    ``part``: before the slice (``"prefix"``, rebuilds the state) or in it (``"slice"``).
    """

    seq: int
    event: Event
    journaled: tuple[bytes, ...]
    part: str


@attrs.frozen(kw_only=True)
class SliceSource:
    """The robot's spec and its steps up to ``end``, from a journal or a slice file."""

    spec: Mapping[str, Any] | None
    steps: Iterator[JournaledStep]


def journaled_steps(
    path: str | os.PathLike[str],
    robot: str,
    *,
    start: int,
    end: int,
    robot_class: type[Robot] | None = None,
    instruments: InstrumentTable | None = None,
) -> SliceSource:
    """Read ``robot``'s steps up to ``end`` from a journal directory or a slice file.

    From a journal the steps come from a streamed replay (with a robot of its own, so the
    journaled commands are split by event as :mod:`~yard_actors.journal.replay_steps` says).
    Raises :class:`JournalError` for a slice file of another robot or format.
    """
    if start > end:
        msg = f"a slice from seq {start} to seq {end} is empty; start must not exceed end"
        raise JournalError(msg)
    if Path(path).is_file():
        return _from_slice(Path(path), robot, start, end)
    session = open_replay(path, robot, robot_class=robot_class, instruments=instruments)

    def steps() -> Iterator[JournaledStep]:
        part = "prefix"
        for step in session.steps():
            if part == "prefix" and step.seq >= start:
                part = "slice"
            if part == "slice" and step.seq > end:
                return
            yield JournaledStep(seq=step.seq, event=step.event, journaled=step.journaled, part=part)

    return SliceSource(spec=session.spec, steps=steps())


def export_slice(
    journal: str | os.PathLike[str],
    robot: str,
    out: str | os.PathLike[str],
    *,
    start: int,
    end: int,
    robot_class: type[Robot] | None = None,
) -> tuple[int, int]:
    """Write ``robot``'s slice of ``journal`` to ``out``; return (events before, events in it)."""
    source = journaled_steps(journal, robot, start=start, end=end, robot_class=robot_class)
    header = {
        "yard_slice": _FORMAT,
        "robot": robot,
        "spec": dict(source.spec or {}),
        "journal": os.path.abspath(journal),
        "start": start,
        "end": end,
    }
    counts = {"prefix": 0, "slice": 0}
    with open(out, "w", encoding="utf-8") as file:
        file.write(json.dumps(header, separators=(",", ":")) + "\n")
        for step in source.steps:
            line = {
                "seq": step.seq,
                "event": _b64(encode(step.event)),
                "journaled": [_b64(payload) for payload in step.journaled],
            }
            file.write(json.dumps(line, separators=(",", ":")) + "\n")
            counts[step.part] += 1
    return counts["prefix"], counts["slice"]


def _from_slice(path: Path, robot: str, start: int, end: int) -> SliceSource:
    lines = _lines(path)
    header = next(lines, None)
    if not isinstance(header, dict) or header.get("yard_slice") != _FORMAT:
        msg = f"{path} is not a yard journal slice (format {_FORMAT}); export it again"
        raise JournalError(msg)
    if header.get("robot") != robot:
        msg = f"the slice {path} is of robot {header.get('robot')!r}, not {robot!r}"
        raise JournalError(msg)

    def steps() -> Iterator[JournaledStep]:
        part = "prefix"
        for line in lines:
            seq = int(line["seq"])
            if part == "prefix" and seq >= start:
                part = "slice"
            if part == "slice" and seq > end:
                return
            event = decode(base64.b64decode(line["event"]))
            journaled = tuple(base64.b64decode(p) for p in line["journaled"])
            yield JournaledStep(seq=seq, event=event, journaled=journaled, part=part)

    return SliceSource(spec=header.get("spec"), steps=steps())


def _lines(path: Path) -> Iterator[Any]:
    with path.open(encoding="utf-8") as file:
        for number, text in enumerate(file, 1):
            try:
                yield json.loads(text)
            except ValueError as exc:
                msg = f"the slice {path} has a line that is not JSON at line {number}: {exc}"
                raise JournalError(msg) from exc


def _b64(payload: bytes) -> str:
    return base64.b64encode(payload).decode("ascii")
