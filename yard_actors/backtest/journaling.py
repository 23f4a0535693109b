"""A backtest's journal: the records a host writes for the same run, in batches.

The backtest writes through the real :class:`~yard_actors.journal.Journal`, so
``yard replay`` and ``yard analyze`` read it as a live run's: each market event once,
fanned to the group of robots its topic routes to (``F``), each robot's watermark
(``W``) before the commands that event made it send (``C``); each report and timer an
event of its own (``E``) with the robot's delivery (``D``). What a host writes as it
goes, this writes in runs: market events wait in :class:`RunJournal` until something
must follow them (a command, a report, a timer) or a run is long enough, then go in
one write with one watermark per robot that routes them, as the host's data intake
journals a burst. The order each robot's records come in is the order it handled
them, which is all a replay reads (see :mod:`yard_actors.journal`).

One thread writes; nothing here is locked beyond the journal's own lock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from yard_actors.journal import Group, Journal

__all__ = ["RUN_EVENTS", "RunJournal"]

RUN_EVENTS: Final = 4096
"""Market events held at most before they are written (with their watermarks) in one go."""


class RunJournal:
    """Batches a backtest's market events into runs; writes everything else as it comes.

    Write-ahead per robot, as a host: a robot's watermark goes before the commands the
    events under it caused, and before its next report or timer. A caller hands each
    robot its due timers before adding the market event they precede (:meth:`fanned`),
    so no watermark covers an event the robot handles after a timer.
    """

    def __init__(self, journal: Journal, *, run_events: int = RUN_EVENTS) -> None:
        self.journal = journal
        self._run_events = run_events
        self._pending: list[tuple[bytes, Group]] = []
        self._groups: dict[int, Group] = {}  # the groups of the pending events, by identity
        self._last: Group | None = None  # the group of the last event held

    def robot(self, name: str, spec: Mapping[str, Any]) -> None:
        """The robot was added with ``spec`` (the host's ``R`` record)."""
        self.journal.record_robot(name, spec)

    def fanned(self, payload: bytes, group: Group) -> None:
        """A market event the robots of ``group`` are about to handle."""
        pending = self._pending
        pending.append((payload, group))
        if group is not self._last:
            self._groups[id(group)] = self._last = group
        if len(pending) >= self._run_events:
            self.flush()

    def flush(self) -> None:
        """Write the market events held, then each robot's watermark up to the last of them."""
        pending = self._pending
        if not pending:
            return
        last = self.journal.record_fanned(pending) + len(pending) - 1
        robots = sorted({robot for group in self._groups.values() for robot in group.robots})
        for robot in robots:
            self.journal.record_watermark(robot, last)
        self._pending = []
        self._groups.clear()
        self._last = None

    def reports(self, payloads: Sequence[bytes]) -> int:
        """Reports as the trades intake journals a burst; return the seq of the first."""
        self.flush()
        return self.journal.record_events(payloads)

    def delivery(self, robot: str, seq: int) -> None:
        """``robot`` is about to handle event ``seq`` (a report)."""
        self.journal.record_delivery(robot, seq)

    def timer(self, robot: str, payload: bytes) -> None:
        """A timer of ``robot``'s, journaled and delivered as its actor does."""
        self.flush()
        self.journal.record_delivery(robot, self.journal.record_event(payload))

    def command(self, robot: str, payload: bytes) -> None:
        """A command ``robot`` sent; after the watermark of the event that caused it."""
        if self._pending:
            self.flush()
        self.journal.record_command(robot, payload)

    def close(self) -> None:
        """Write what is held and close the journal."""
        try:
            self.flush()
        finally:
            self.journal.close()
