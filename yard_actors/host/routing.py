"""An intake's routing table: which robots each topic goes to, and the journal group naming them.

The intake's actor thread changes the table (routes come and go); its receive thread reads
it for every message, without a lock. So a change never edits what the receive thread may
be reading: it builds a new dict of new :class:`Fanout` entries and swaps it in, and the
receive thread sees the old table or the new one, never half a change.

Each :class:`Fanout` carries the :class:`~yard_actors.journal.Group` of its robots' names,
made when its robots change, so the data intake journals every event with exactly the
robots it tells (:meth:`~yard_actors.journal.Journal.record_fanned`), and a changed set of
robots is a new group in the journal. :func:`by_robot` splits a burst into each robot's
share, in order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import attrs
import pykka

from yard_actors.host.robot_actor import robot_name
from yard_actors.journal import Group
from yard_actors.wire.names import SESSION_TOPIC, SYSTEM_TOPIC

__all__ = ["Fanout", "RoutingTable", "by_robot"]

T = TypeVar("T")

_BROADCAST = tuple((topic, topic.encode()) for topic in (SESSION_TOPIC, SYSTEM_TOPIC))
_BROADCAST_KEYS = tuple(key for _, key in _BROADCAST)


@attrs.frozen(eq=False)
class Fanout:
    """The robots events of one topic go to, and the journal group that names them."""

    robots: tuple[pykka.ActorRef[Any], ...]
    group: Group  # the robots' names, in the same order

    @classmethod
    def nobody(cls, topic: str) -> Fanout:
        return cls((), Group(topic, ()))

    def adding(self, robot: pykka.ActorRef[Any]) -> Fanout:
        """The same robots and ``robot`` last, in a new group."""
        names = (*self.group.robots, robot_name(robot))
        return Fanout((*self.robots, robot), Group(self.group.topic, names))

    def without(self, robot: pykka.ActorRef[Any]) -> Fanout | None:
        """The robots but ``robot``, in a new group; None if none is left."""
        kept = [n for n, ref in enumerate(self.robots) if ref != robot]
        if not kept:
            return None
        names = tuple(self.group.robots[n] for n in kept)
        return Fanout(tuple(self.robots[n] for n in kept), Group(self.group.topic, names))


class RoutingTable:
    """Topics and the robots they go to; change it on one thread, read it on another.

    A robot routed to :data:`SESSION_TOPIC` or :data:`SYSTEM_TOPIC` gets both, and an
    unroute of any topic takes a robot off both: the host routes and unroutes them together.
    """

    def __init__(self) -> None:
        self._routes: dict[bytes, Fanout] = {}
        self._broadcast: dict[bytes, Fanout] = {}  # both topics, the same robots under each
        self._broadcast_robots: tuple[pykka.ActorRef[Any], ...] = ()

    def fanout(self, topic: bytes) -> Fanout | None:
        """Where events of ``topic`` go now, or None if no robot routes it (any thread)."""
        if topic in _BROADCAST_KEYS:
            return self._broadcast.get(topic)
        return self._routes.get(topic)

    def add(self, topic: str, robot: pykka.ActorRef[Any]) -> bytes | None:
        """Route ``topic`` to ``robot``; return the topic's key if no robot routed it before."""
        if topic in (SESSION_TOPIC, SYSTEM_TOPIC):
            if robot not in self._broadcast_robots:
                self._change_broadcast(lambda fanout: fanout.adding(robot))
            return None
        key = topic.encode()
        current = self._routes.get(key) or Fanout.nobody(topic)
        if robot in current.robots:
            return None
        self._routes = {**self._routes, key: current.adding(robot)}
        return None if current.robots else key

    def remove(self, topic: str, robot: pykka.ActorRef[Any]) -> bytes | None:
        """Unroute ``topic`` from ``robot``; return the topic's key if no robot routes it now."""
        if robot in self._broadcast_robots:
            self._change_broadcast(lambda fanout: fanout.without(robot))
        key = topic.encode()
        current = self._routes.get(key)
        if current is None or robot not in current.robots:
            return None
        routes = dict(self._routes)
        remaining = current.without(robot)
        if remaining is None:
            del routes[key]
        else:
            routes[key] = remaining
        self._routes = routes
        return key if remaining is None else None

    def _change_broadcast(self, change: Callable[[Fanout], Fanout | None]) -> None:
        broadcast = {}
        for topic, key in _BROADCAST:
            fanout = change(self._broadcast.get(key) or Fanout.nobody(topic))
            if fanout is not None:
                broadcast[key] = fanout
        self._broadcast = broadcast
        self._broadcast_robots = broadcast[_BROADCAST_KEYS[0]].robots if broadcast else ()


def by_robot(burst: list[tuple[T, Fanout]]) -> dict[pykka.ActorRef[Any], list[T]]:
    """Each robot's messages of a burst (each with the fanout it goes to), in order.

    Every robot of a fanout gets the same events, so the burst is split by fanout and
    each robot handed its fanout's list (shared between them: nobody changes it), at a
    dict entry per robot rather than an append per delivery. Only a robot in several
    of the burst's fanouts (on several symbols) has its list built event by event.
    """
    runs: dict[Fanout, list[T]] = {}
    for message, fanout in burst:
        run = runs.get(fanout)
        if run is None:
            runs[fanout] = [message]
        else:
            run.append(message)
    batches: dict[pykka.ActorRef[Any], list[T]] = {}
    several: set[pykka.ActorRef[Any]] = set()
    for fanout, run in runs.items():
        for robot in fanout.robots:
            if robot in batches:
                several.add(robot)
            batches[robot] = run
    if several:
        for robot in several:
            batches[robot] = []
        for message, fanout in burst:
            for robot in fanout.robots:
                if robot in several:
                    batches[robot].append(message)
    return batches
