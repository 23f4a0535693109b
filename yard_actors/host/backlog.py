"""How far behind each robot is on market data, and the limits that bound it.

The data intake tells a robot events much faster than a slow robot handles them,
and what it told waits in the robot's mailbox, in memory. Each robot has one
:class:`Backlog`: the events the data intake told it and the events it has taken
off its mailbox since, so ``told - taken`` is what waits. The intake reads it to
decide, per robot, whether to conflate its quotes (:mod:`.conflation`), within the
:class:`MailboxLimits` of the host; the host's table shows its counters.

Each counter has one writer, so no lock is needed (an int store is atomic under the
GIL; a reader may see a figure one update old, which a limit and a table can bear):

========================  =============================================================
written by                counters
========================  =============================================================
data intake's receiver    ``told``, ``conflated``, ``withheld``, ``overruns``, ``overrun``
robot's actor             ``taken``, ``shed``
the host's stop           ``shedding``
========================  =============================================================
"""

from __future__ import annotations

from typing import Final

import attrs

__all__ = ["CONFLATE_AT", "OVERRUN_AT", "Backlog", "MailboxLimits"]

#: Events waiting for a robot from which its quotes are conflated: far above what a
#: robot that keeps up ever has waiting (a burst is at most 1,000 events), so only
#: a robot that is really behind sees a conflated quote; ~5 MB of events at most.
CONFLATE_AT: Final = 10_000
#: Events waiting at which a robot is halted and its ticks withheld until it catches up.
OVERRUN_AT: Final = 50_000


def _positive(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if value < 1:
        msg = f"mailbox limit {attribute.name} must be positive, was {value}"
        raise ValueError(msg)


@attrs.frozen(kw_only=True)
class MailboxLimits:
    """How many market data events may wait for one robot (see ``docs/runtime.md``).

    ``conflate_at``: from this many events waiting, the robot's quotes are conflated
    (the latest per symbol kept until it catches up); ``overrun_at``: with this many
    waiting, a tick for it (which is never conflated) would make memory grow without
    bound, so the robot is halted at that point of its stream and its ticks are
    withheld until it is back under ``conflate_at``.
    """

    conflate_at: int = attrs.field(default=CONFLATE_AT, validator=_positive)
    overrun_at: int = attrs.field(default=OVERRUN_AT, validator=_positive)

    def __attrs_post_init__(self) -> None:
        if self.overrun_at <= self.conflate_at:
            msg = (
                f"mailbox limit overrun_at must be above conflate_at={self.conflate_at}, "
                f"was {self.overrun_at}"
            )
            raise ValueError(msg)


class Backlog:
    """One robot's market data backlog: told by the data intake, taken by the robot."""

    __slots__ = (
        "conflated",
        "overrun",
        "overruns",
        "shed",
        "shedding",
        "taken",
        "told",
        "withheld",
    )

    def __init__(self) -> None:
        self.told = 0  # events the data intake told the robot
        self.taken = 0  # of those, events the robot has handled or shed
        self.conflated = 0  # quotes replaced by a later one of their symbol before delivery
        self.withheld = 0  # ticks not told while overrun
        self.overruns = 0  # times the robot was halted for being too far behind
        self.overrun = False  # between an overrun and catching up: its ticks are withheld
        self.shedding = False  # the host is stopping: drop market data not yet handled
        self.shed = 0  # market data events dropped at stop, unhandled

    @property
    def waiting(self) -> int:
        """Events told and not yet taken (any thread; may be one update old)."""
        return self.told - self.taken

    def figures(self) -> dict[str, int]:
        """The counters the host's table shows (see :class:`~yard_actors.host.table.RobotTable`)."""
        return {
            "backlog": self.waiting,
            "conflated": self.conflated,
            "overruns": self.overruns,
            "withheld": self.withheld,
            "shed": self.shed,
        }
