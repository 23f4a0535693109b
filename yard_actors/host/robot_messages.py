"""The messages a robot actor takes: events to deliver, and the asks of the host's edge.

Apart from :mod:`.robot_actor` so that what the intakes and the host send a robot can be
built and read without the actor itself; every message is a plain ``__slots__`` class,
made on the sender's thread and read on the actor's.
"""

from __future__ import annotations

import time
from typing import Any, cast

import pykka

from yard_actors.wire.events import Event

__all__ = [
    "Deliver",
    "DeliverBatch",
    "Ping",
    "SnapshotAsk",
    "TracebackAsk",
    "ask_snapshot",
    "ask_traceback",
]


class Deliver:
    """One event for one robot; ``seq`` is its journal number, or None if not yet journaled.

    ``fanned``: the event was journaled with :meth:`Journal.record_fanned` (the data
    intake's fan-out), so the robot journals a watermark for it, not a delivery.
    ``sent_ns`` (``time.monotonic_ns()`` when made, unless given) times its wait in the
    mailbox; one Deliver told to many robots times each one's wait from the start of the
    fan-out. In a :class:`DeliverBatch` the batch's own ``sent_ns`` counts. ``counted``:
    the data intake counted it in the robot's :class:`Backlog` (market data).
    """

    __slots__ = ("counted", "event", "fanned", "sent_ns", "seq")

    def __init__(
        self,
        event: Event,
        seq: int | None = None,
        *,
        fanned: bool = False,
        sent_ns: int | None = None,
        counted: bool = False,
    ) -> None:
        self.event = event
        self.seq = seq
        self.fanned = fanned
        self.sent_ns = time.monotonic_ns() if sent_ns is None else sent_ns
        self.counted = counted


class DeliverBatch:
    """Several events for one robot, in order: what an intake drained from one burst.

    Each event's wait is timed from the batch's ``sent_ns`` to the start of its own
    handling: the mailbox, then the events ahead of it in the batch.

    ``journaled``: the sender vouches that every message has its ``seq`` and the same
    ``fanned`` (an intake's burst), so the robot need not check. ``counted``: the data
    intake counted its events in the robot's :class:`Backlog`.
    """

    __slots__ = ("counted", "journaled", "messages", "sent_ns")

    def __init__(
        self, messages: list[Deliver], *, journaled: bool = False, counted: bool = False
    ) -> None:
        self.messages = messages
        self.journaled = journaled
        self.counted = counted
        self.sent_ns = time.monotonic_ns()


class SnapshotAsk:
    """Ask the actor for the robot's snapshot."""


class Ping:
    """A no-op message: its answer means everything sent before it was handled."""


class TracebackAsk:
    """Ask the actor for the traceback of the robot's failure."""


def ask_snapshot(ref: pykka.ActorRef[Any], timeout: float) -> dict[str, Any]:
    """Ask a robot actor for its snapshot; at the edges only (host, REPL, tests)."""
    return cast(dict[str, Any], ref.ask(SnapshotAsk(), timeout=timeout))


def ask_traceback(ref: pykka.ActorRef[Any], timeout: float) -> str | None:
    return cast(str | None, ref.ask(TracebackAsk(), timeout=timeout))
