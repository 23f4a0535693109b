"""Every robot of a journal replayed in one pass over it: what ``yard replay`` and the analyzer run.

:mod:`~yard_actors.journal.replay_steps` replays one robot from a stream of its runs; here the
journal is read once for all the robots wanted (by :func:`~yard_actors.journal.stream.
stream_runs`, or for a large journal on a machine with a core to spare by
:func:`~yard_actors.journal.stream_ahead.stream_runs_ahead`, the same runs read in a child
process), each run handed to its robot's :class:`~yard_actors.journal.replay_steps.RobotReplay`.
An event fanned out to several of them is decoded once for all (events are immutable).
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Generator, Iterator, Mapping

from yard_actors.journal.index import JournalIndex, index_journal
from yard_actors.journal.replay_steps import ReplayStep, RobotReplay, decode_event
from yard_actors.journal.stream import DEFAULT_WINDOW, RobotRun, stream_runs
from yard_actors.journal.stream_ahead import ReadAhead, reads_ahead, stream_runs_ahead
from yard_actors.robot.robot import Robot
from yard_actors.wire.codec import decode
from yard_actors.wire.events import Event

__all__ = ["JournalReplay", "replay_journal"]


class JournalReplay:
    """Several robots replayed in one pass over a journal (:func:`replay_journal`)."""

    def __init__(
        self,
        directory: str | os.PathLike[str],
        replays: dict[str, RobotReplay],
        index: JournalIndex,
        window: int,
        *,
        ahead: bool | None = None,
        reader: ReadAhead | None = None,
    ) -> None:
        self.directory = directory
        self.replays = replays
        self.index = index
        self._window = window
        self._ahead = ahead
        self._reader = reader  # the first read's, started already (replay_journal)

    def _runs(self) -> Generator[RobotRun, None, None]:
        """The journal's runs of the robots replayed, from the reader started, if any."""
        reader, self._reader = self._reader, None
        runs: Iterator[RobotRun]
        if reader is not None:
            runs = reader.runs()
        elif reads_ahead(self.directory, self._ahead):
            runs = stream_runs_ahead(self.directory, list(self.replays), window=self._window)
        else:
            runs = stream_runs(self.directory, list(self.replays), window=self._window)
        try:
            for run in runs:
                if run.robot in self.replays:  # a reader of every robot: the ones built
                    yield run
        finally:
            close = getattr(runs, "close", None)
            if close is not None:  # a robot that raised through feed() stops the child now
                close()

    def steps(self) -> Iterator[tuple[RobotReplay, ReplayStep]]:
        """Read the journal forward once; yield each robot's steps with its replay."""
        replays = self.replays
        event_of = _SharedDecoder() if len(replays) > 1 else decode_event
        for run in self._runs():
            replay = replays[run.robot]
            for step in replay.steps(run, event_of):
                yield replay, step

    def run(self) -> dict[str, RobotReplay]:
        """Replay to the journal's end, keeping no step; return each robot's replay."""
        replays = self.replays
        event_of = _SharedDecoder() if len(replays) > 1 else decode_event
        runs = self._runs()
        try:
            for run in runs:
                replays[run.robot].feed(run, event_of)
        finally:
            runs.close()
        return replays


def replay_journal(
    directory: str | os.PathLike[str],
    robots: Mapping[str, Robot],
    *,
    index: JournalIndex | None = None,
    window: int = DEFAULT_WINDOW,
    ahead: bool | None = None,
    reader: ReadAhead | None = None,
) -> JournalReplay:
    """Prepare to replay ``robots`` (by name, each a fresh robot) in one pass over the journal.

    ``index``: the journal's :func:`~yard_actors.journal.index.index_journal`, if the caller
    already read it (to build the robots from their specs). ``ahead``: read the journal in a
    child process (:mod:`~yard_actors.journal.stream_ahead`); None chooses by its size.
    ``reader``: that read, started already by the caller (of every robot, or of these);
    without one, a read ahead starts here, before the index pass, which it then overlaps.
    """
    if reader is None and index is None and reads_ahead(directory, ahead):
        reader = ReadAhead(directory, list(robots), window=window)
    index = index if index is not None else index_journal(directory, robots)
    replays = {
        name: RobotReplay(name, robot, index.quarantined_of(name)) for name, robot in robots.items()
    }
    return JournalReplay(directory, replays, index, window, ahead=ahead, reader=reader)


class _SharedDecoder:
    """Decodes a fanned event once for all the robots it went to: events are immutable.

    Keeps the last ``keep`` events decoded: the robots of a group close their runs of an
    event close together, and one far behind only decodes its events again.
    """

    def __init__(self, keep: int = 8192) -> None:
        self._events: dict[int, Event] = {}
        self._order: deque[int] = deque()
        self._window = keep

    def __call__(self, seq: int, payload: bytes) -> Event:
        event = self._events.get(seq)
        if event is None:
            event = self._events[seq] = decode(payload)
            self._order.append(seq)
            if len(self._order) > self._window:
                del self._events[self._order.popleft()]
        return event
