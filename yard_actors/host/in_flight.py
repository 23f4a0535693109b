"""Orders a host sent and has heard nothing of: the ones to ask the gateway about.

A gateway killed with a host's orders in a socket buffer or an uncommitted batch never
hears of them, and a host killed between handling an event and sending what it caused
never sends them; either way the robot waits for a reply that cannot come. The host
keeps every order it sends here, by ``client_order_id``, until the first report about it
(acceptance, rejection, fill, cancel reply) reaches the trades intake. An order still here
``reply_timeout`` seconds after it was sent, or after it was last asked about, is asked
about again with ``resolve`` on the gateway's recovery endpoint (``docs/wire.md`` 4a); the
gateway answers with a report through its store, which clears it like any other.

Entries are kept in a dict in the order they were last (re)armed, so finding the overdue
ones stops at the first that is not: a check costs what it finds, not what is waiting.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterable

from yard_actors.errors import ConfigError

__all__ = ["DEFAULT_REPLY_TIMEOUT_S", "InFlight", "by_robot"]

DEFAULT_REPLY_TIMEOUT_S = 5.0


class InFlight:
    """The orders awaiting their first report; every method is safe from any thread.

    :meth:`sent` is on the command path (a robot's thread), :meth:`answered` on the
    trades intake's receive thread for each report; both are O(1) under one lock.
    Raises :class:`ConfigError` for a ``reply_timeout`` that is not a positive number.
    """

    def __init__(self, reply_timeout: float = DEFAULT_REPLY_TIMEOUT_S) -> None:
        if not reply_timeout > 0:
            msg = f"reply_timeout must be a positive number of seconds, was {reply_timeout!r}"
            raise ConfigError(msg)
        self.reply_timeout = reply_timeout
        self._lock = threading.Lock()
        # client_order_id -> (robot, when last armed: time.monotonic()), oldest first
        self._orders: dict[str, tuple[str, float]] = {}

    def sent(self, robot: str, client_order_id: str) -> None:
        """Note that ``robot``'s order ``client_order_id`` is being sent now."""
        with self._lock:
            orders = self._orders
            orders.pop(client_order_id, None)  # a repeat goes to the end, keeping the order
            orders[client_order_id] = (robot, time.monotonic())

    def answered(self, client_order_id: str) -> None:
        """Forget an order: a report about it arrived (a no-op for one not waiting)."""
        with self._lock:
            self._orders.pop(client_order_id, None)

    def overdue(self, now: float | None = None) -> list[tuple[str, str]]:
        """Take the orders unanswered for ``reply_timeout``; they are armed again from ``now``.

        Returns ``(robot, client_order_id)`` pairs, oldest first.
        """
        now = time.monotonic() if now is None else now
        return self._rearm(now - self.reply_timeout, now)

    def sent_before(self, moment: float) -> list[tuple[str, str]]:
        """Take the orders last armed at or before ``moment`` (monotonic), arming them again.

        For a connection to the gateway that dropped at ``moment``: whatever was sent
        before it may have died in that connection's buffers.
        """
        return self._rearm(moment, time.monotonic())

    def forget(self, robot: str) -> None:
        """Drop ``robot``'s orders: it left the host, and nobody is left to hear the answer."""
        with self._lock:
            for client_order_id in [c for c, (r, _) in self._orders.items() if r == robot]:
                del self._orders[client_order_id]

    def waiting(self) -> Counter[str]:
        """How many orders each robot awaits a first report for (robots with none: absent)."""
        with self._lock:
            return Counter(robot for robot, _ in self._orders.values())

    def __len__(self) -> int:
        return len(self._orders)

    def _rearm(self, limit: float, now: float) -> list[tuple[str, str]]:
        with self._lock:
            orders = self._orders
            due: list[tuple[str, str]] = []
            for client_order_id, (robot, armed) in orders.items():
                if armed > limit:
                    break  # every later entry was armed later still
                due.append((robot, client_order_id))
            for robot, client_order_id in due:
                del orders[client_order_id]
                orders[client_order_id] = (robot, now)  # to the end: armed again
            return due


def by_robot(orders: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """Group ``(robot, client_order_id)`` pairs by robot, keeping their order."""
    grouped: dict[str, list[str]] = {}
    for robot, client_order_id in orders:
        grouped.setdefault(robot, []).append(client_order_id)
    return grouped
