"""What the analyzer writes: one row per robot and event, one summary per robot, and the sink.

A row holds the robot's state after the event and the commands it sent for it. A whole
:meth:`~yard_actors.robot.robot.Robot.snapshot` per event would make the database grow with
events times state size (a market maker's open orders, its params, its risk counters, a
trend follower's window of prices), so :class:`StateDeltas` stores the whole snapshot
(``full``) at the robot's first row and every ``full_every`` rows after it, and in the rows
between only the top-level snapshot keys whose value changed since the robot's previous row,
each with the operation that changes it (:mod:`.delta`: a new value, a patch of a dict's
keys, or a window that dropped its oldest items and appended new ones), e.g.
``{"now": ["=", 1700000000500000000], "state": ["{", {"mids": ["[", 1, ["88571.5"]]}, []]}``.
The state after any event is the last full row at or before it with the rows after it
applied in seq order (:func:`state_at`), at most ``full_every`` rows read. A row whose
snapshot lost a top-level key is stored full.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

import attrs

from yard_actors.analysis.delta import applied, patch

__all__ = [
    "DEFAULT_FULL_EVERY",
    "EventRow",
    "RobotSummary",
    "Sink",
    "StateDeltas",
    "state_at",
]

DEFAULT_FULL_EVERY = 1000
"""Rows between two whole snapshots of a robot: reading a state reads at most this many."""


@attrs.frozen(kw_only=True)
class EventRow:
    """One event a robot handled: the state after it (whole or changed keys), its commands.

    ``event`` and each of ``actions`` are the codec's JSON bytes (the journal's payload and
    the encoded commands): a sink stores them as JSON without decoding them again.
    """

    robot: str
    seq: int
    ts: int
    kind: str
    event: bytes
    state: Mapping[str, Any]
    full: bool
    actions: tuple[bytes, ...]


@attrs.frozen(kw_only=True)
class RobotSummary:
    """What the analysis found for one robot, for the ``robots`` and ``metrics`` tables.

    ``divergence``: where the replayed commands first differed from the journaled ones (None:
    a faithful replay, so the rows are what the robot did live). ``store_check``: the
    cross-check against the run's order store, as a sentence (None: no store was given).
    ``metrics``: :meth:`~yard_actors.analysis.metrics.RobotMetrics.to_json`.
    """

    robot: str
    class_path: str
    spec: Mapping[str, Any] | None
    events: int
    commands: int
    first_ts: int | None
    last_ts: int | None
    full_every: int
    divergence: str | None
    store_check: str | None
    metrics: Mapping[str, Any]


class Sink(Protocol):
    """Where the rows go: the SQLite file by default, or a MongoDB database.

    Called from one thread. A sink batches nothing itself: the analyzer hands it batches
    (one transaction, one ``insert_many`` each). Raises :class:`~yard_actors.errors.StoreError`
    when the database fails.
    """

    @property
    def where(self) -> str:
        """The database, for messages: a file's path, or a URL without its password."""

    def begin_robot(self, robot: str) -> None:
        """Forget what an earlier analysis wrote for ``robot``: its rows are written anew."""

    def add_events(self, rows: Sequence[EventRow]) -> None:
        """Write a batch of rows in one transaction."""

    def end_robot(self, summary: RobotSummary) -> None:
        """Write the robot's summary and metrics, after its last batch."""

    def state_at(self, robot: str, seq: int) -> dict[str, Any] | None:
        """The robot's state after the event at ``seq`` (None if it has no row there)."""

    def close(self) -> None:
        """Release the database; idempotent."""


class StateDeltas:
    """Turns a robot's successive snapshots into rows: the changed keys, whole every K rows."""

    def __init__(self, full_every: int = DEFAULT_FULL_EVERY) -> None:
        if type(full_every) is not int or full_every < 1:
            msg = f"full_every must be a positive whole number of rows, was {full_every!r}"
            raise ValueError(msg)
        self.full_every = full_every
        self._previous: dict[str, Any] | None = None
        self._since_full = 0

    def next(self, snapshot: dict[str, Any]) -> tuple[Mapping[str, Any], bool]:
        """The state to store for ``snapshot`` and whether it is whole; keeps it for the next."""
        previous, self._previous = self._previous, snapshot
        self._since_full += 1
        if previous is None or self._since_full >= self.full_every:
            self._since_full = 0
            return snapshot, True
        changes, removed = patch(previous, snapshot)
        if removed:
            self._since_full = 0
            return snapshot, True
        return changes, False


def state_at(rows: Iterable[tuple[Mapping[str, Any], bool]]) -> dict[str, Any] | None:
    """Fold ``(state, full)`` rows in seq order into the state after the last of them.

    The rows must start at a full one (the sinks read from the last full row at or before
    the seq asked for); None if there are none.
    """
    state: dict[str, Any] | None = None
    for stored, full in rows:
        if full or state is None:
            state = dict(stored)
        else:
            for key, operation in stored.items():
                state[key] = applied(state.get(key), operation)
    return state
