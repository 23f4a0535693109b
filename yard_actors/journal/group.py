"""A fan-out group: the robots that events of one topic go to, named once per segment.

The data intake sends a quote to every robot routed to its symbol; the journal
records it once, with the :class:`Group` it went to (a ``G`` record declares the
group's robots the first time a segment uses it, an ``F`` record names it per
event; see :mod:`yard_actors.journal`). Whoever fans events out makes a new Group
whenever the set of robots changes (:mod:`yard_actors.host.routing`) and passes
it with each event to :meth:`Journal.record_fanned
<yard_actors.journal.writer.Journal.record_fanned>`.
"""

from __future__ import annotations

import attrs

__all__ = ["Group"]


@attrs.frozen(eq=False)
class Group:
    """The robots that events of one topic fan out to, from one route change to the next.

    A group is compared by identity, not by value: the journal declares it once per
    segment, the first time it is used there, and looks it up per event by identity.
    Raises ValueError if the topic or a robot name is not encodable as UTF-8, here
    rather than in the journal's write, which must not fail half-way through.
    """

    topic: str
    robots: tuple[str, ...]

    def __attrs_post_init__(self) -> None:
        try:
            "".join((self.topic, *self.robots)).encode()  # one call: groups of 1,000 robots
        except UnicodeEncodeError:
            bad = next(t for t in (self.topic, *self.robots) if not _encodable(t))
            what = "topic" if bad == self.topic else "robot name"
            msg = f"A journal group cannot hold {what} {bad!r}: it is not encodable as UTF-8."
            raise ValueError(msg) from None


def _encodable(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True
