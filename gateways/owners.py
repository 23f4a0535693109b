"""Which key may act for which robot: the order gateway's copy of the store's owner table.

A host registers its robots under its key (``[register, robot...]`` on ``recovery``,
docs/wire.md 1b); from then on only that key may send the robot's commands, ask for its
reports and subscribe to them. The order store holds the table (one source of truth, so
a restarted gateway keeps it); this class is its copy in memory, read on every command.

Two rules decide a registration (:meth:`Owners.refusal`):

* a robot has one owner: a name another key holds is refused, one the same key holds
  is granted again (a host restarting);
* no name may begin with another key's robot name, nor be the beginning of one: ZeroMQ
  matches a subscription by prefix, so a host subscribed to ``mm-si`` would also hear
  ``mm-si2``. Robots of one key may share prefixes: they go to the same host.

Names that begin with ``$`` are the wire's own topics and are refused too.

Threads: the recovery thread registers (:meth:`Owners.register`, which writes the
store); the gateway's order thread only reads, by :meth:`owner_of_topic` and
:meth:`owner` (a dict lookup, atomic under the GIL) and never iterates the table.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Mapping, Sequence

from gateways.store.base import OrderStore
from yard_actors.wire.names import RESERVED_PREFIX, owner_seqs_topic

__all__ = ["Owners"]


class Owners:
    """The robots' owners (key names), loaded from the store; see the module docstring."""

    def __init__(self, owners: Mapping[str, str]) -> None:
        self._by_topic: dict[bytes, str] = {robot.encode(): key for robot, key in owners.items()}
        self._names = sorted(owners)  # for the prefix rule: names beginning with a name
        self._owner_of = dict(owners)

    def __len__(self) -> int:
        return len(self._owner_of)

    def owner(self, robot: str) -> str | None:
        """The key that owns ``robot``, or None if no key does."""
        return self._owner_of.get(robot)

    def owner_of_topic(self, topic: bytes) -> str | None:
        """The key that owns the robot whose name is ``topic`` (UTF-8), or None."""
        return self._by_topic.get(topic)

    def may_act(self, key: str | None, robot: str) -> bool:
        """Whether a peer with ``key`` may act for ``robot``; a peer without keys always may
        (``inproc``, an owner-only ``ipc`` file, ``allow_insecure_tcp``: nothing to tell)."""
        return key is None or self._owner_of.get(robot) == key

    def refusal(self, key: str, robot: str) -> str | None:
        """Why ``key`` may not register ``robot`` (a sentence), or None if it may."""
        if robot.startswith(RESERVED_PREFIX):
            return f"robot name {robot} begins with {RESERVED_PREFIX}, kept for the wire's topics"
        owner = self._owner_of.get(robot)
        if owner == key:
            return None
        if owner is not None:
            return (
                f"robot {robot} is registered to key {owner}; a robot runs under one host's "
                "key: run it on that host, or give this one another name"
            )
        clash = self._prefix_clash(key, robot)
        if clash is None:
            return None
        other, other_key = clash
        return (
            f"robot name {robot} and robot {other} of key {other_key} begin alike: one is the "
            "beginning of the other, and ZeroMQ matches subscriptions by prefix, so one "
            "host would hear the other's reports; rename one of them"
        )

    def _prefix_clash(self, key: str, robot: str) -> tuple[str, str] | None:
        """Another key's robot whose name begins ``robot``, or that ``robot`` begins."""
        for end in range(1, len(robot)):
            owner = self._owner_of.get(robot[:end])
            if owner is not None and owner != key:
                return robot[:end], owner
        names = self._names
        for index in range(bisect.bisect_left(names, robot), len(names)):
            name = names[index]
            if not name.startswith(robot):
                break
            if self._owner_of[name] != key:
                return name, self._owner_of[name]
        return None

    def register(
        self, store: OrderStore, key: str, robots: Sequence[str], ts: int
    ) -> list[tuple[str, str]]:
        """Register ``robots`` under ``key``: each with ``""`` if it is now ``key``'s, or why not.

        What the rules grant is written to the store in one write, then taken here, so a
        command that follows the answer finds its owner. Raises StoreError if the store
        fails (nothing is taken: the host asks again). Called by the recovery thread only.
        """
        verdicts = {robot: self.refusal(key, robot) for robot in robots}
        granted = [robot for robot, refused in verdicts.items() if refused is None]
        if granted:
            stored = store.claim_robots(key, granted, ts=ts)
            for robot in granted:
                owner = stored.get(robot)
                if owner == key:
                    self._take(robot, key)
                else:  # another writer took it: the store is the truth
                    verdicts[robot] = f"robot {robot} is registered to key {owner} in the store"
        return [(robot, verdicts[robot] or "") for robot in robots]

    def _take(self, robot: str, key: str) -> None:
        if robot in self._owner_of:
            return
        bisect.insort(self._names, robot)
        self._owner_of[robot] = key
        self._by_topic[robot.encode()] = key  # last: the order thread reads this one

    def heartbeats(self, last_seqs: Mapping[str, int]) -> Iterator[tuple[bytes, dict[str, int]]]:
        """``last_seqs`` split by owner, each part with its owner's heartbeat topic; robots
        no key owns are left out (on a keyed ``trades`` no peer may hear them)."""
        by_owner: dict[str, dict[str, int]] = {}
        for robot, seq in last_seqs.items():
            owner = self._owner_of.get(robot)
            if owner is not None:
                by_owner.setdefault(owner, {})[robot] = seq
        for owner, seqs in by_owner.items():
            yield owner_seqs_topic(owner).encode(), seqs
