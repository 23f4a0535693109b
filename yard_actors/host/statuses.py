"""The data intake's memory of the statuses it told: a feed's repeat reaches no robot twice.

A feed sends its last ``SessionStatus`` and ``SystemStatus`` again for late joiners
(``docs/wire.md`` section 1), and over PUB everyone subscribed gets the repeat. A robot
hears a status once: a repeat goes on only to the robots added since it was told
(in a journal group of their own), and is dropped when none is left. "A repeat" is
the identical message, its ``ts`` included: a feed that restarts and says "open"
again at a new time is heard, as it always was. Used on the receive thread only.
"""

from __future__ import annotations

from typing import Any

import pykka

from yard_actors.host.routing import Fanout
from yard_actors.journal import Group
from yard_actors.wire.events import SessionStatus, SystemStatus

__all__ = ["LastStatuses"]


class LastStatuses:
    """The last status of each session and component, and the robots told it."""

    def __init__(self) -> None:
        self._told: dict[tuple[type, str], tuple[Any, set[pykka.ActorRef[Any]]]] = {}

    def not_yet_told(self, event: Any, fanout: Fanout) -> Fanout | None:
        """Where ``event`` goes: all of ``fanout`` if it is news, else the robots that lack it.

        None if every robot of ``fanout`` was told this very status already. Any
        event but a status goes to all of ``fanout``.
        """
        kind = type(event)
        if kind is SessionStatus:
            key = (kind, event.session)
        elif kind is SystemStatus:
            key = (kind, event.component)
        else:
            return fanout
        last = self._told.get(key)
        if last is None or last[0] != event:
            self._told[key] = (event, set(fanout.robots))
            return fanout
        told = last[1]
        untold = [n for n, robot in enumerate(fanout.robots) if robot not in told]
        if not untold:
            return None
        robots = tuple(fanout.robots[n] for n in untold)
        told.update(robots)
        names = tuple(fanout.group.robots[n] for n in untold)
        return Fanout(robots, Group(fanout.group.topic, names))
