"""Orders and cancels a host sent and has heard nothing of: the ones to ask about or send again.

A gateway killed with a host's commands in a socket buffer or an uncommitted batch never
hears of them, and a host killed between handling an event and sending what it caused
never sends them; either way the robot waits for a reply that cannot come.

* **Orders.** The host keeps every ``NewOrder`` it sends here, by ``client_order_id``,
  until the first report about it (acceptance, rejection, fill, cancel reply; live,
  replayed or a duplicate) reaches the trades intake. An order still here
  ``reply_timeout`` seconds after it was sent, or after it was last asked about, is asked
  about again with ``resolve`` on the gateway's recovery endpoint (``docs/wire.md`` 4a);
  the gateway answers with a report through its store, which clears it like any other.
* **Cancels.** ``resolve`` cannot end a lost cancel's wait: a gateway that never got the
  cancel holds the order as working, and sending its reports again leaves it working. The
  cancel itself must arrive. So the host keeps each ``CancelOrder``'s encoded payload here
  until a *fresh* report (not one the robot already has) ends the wait for it: a
  ``CancelReply``, an ``OrderRejected`` (the order is final), or the fills that leave
  nothing of the order (``remaining``, the robot's own count when it cancelled; unknown:
  only a reply ends it). One still here after ``reply_timeout``, or sent before the order
  link's connection dropped, is sent again as it was, not journaled again (and a robot
  restored awaiting an answer to a cancel sends it again at once: ``host.py``). A cancel is
  idempotent at the exchange: a second copy of a cancel that arrived gets
  ``cancelled=False`` ("already cancelled", or "not known" for an order the gateway never
  got), which a robot's book takes as a no-op for an order it no longer holds, so at worst
  the robot hears one reply more than it asked for, the reply it would have heard had its
  cancel crossed a fill.

Only fresh reports count for a cancel because a ``resolve`` and a ``replay`` send earlier
reports again: an old ``CancelReply`` must not end the wait for a newer cancel of the same
order (a robot cancels again after a refusal), nor a fill be counted twice.

Entries are kept in dicts in the order they were last (re)armed, so finding the overdue
ones stops at the first that is not: a check costs what it finds, not what is waiting.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from yard_actors.errors import ConfigError
from yard_actors.wire.events import Fill, OrderAccepted, OrderReply

__all__ = ["DEFAULT_REPLY_TIMEOUT_S", "InFlight", "UnansweredCancel", "by_robot"]

DEFAULT_REPLY_TIMEOUT_S = 5.0


class UnansweredCancel(NamedTuple):
    """A cancel to send again: its robot, its order and the payload first sent."""

    robot: str
    client_order_id: str
    payload: bytes


class _Cancel(NamedTuple):
    robot: str
    armed: float  # time.monotonic() when sent, or last sent again
    payload: bytes
    remaining: int | None  # the order's qty the fills have yet to take; None: unknown


class InFlight:
    """The orders awaiting a first report and the cancels awaiting an answer; thread-safe.

    :meth:`sent` and :meth:`cancel_sent` are on the command path (a robot's thread),
    :meth:`reported` on the trades intake's receive thread for each report; all are O(1)
    under one lock. Raises :class:`ConfigError` for a ``reply_timeout`` that is not a
    positive number.
    """

    def __init__(self, reply_timeout: float = DEFAULT_REPLY_TIMEOUT_S) -> None:
        if not reply_timeout > 0:
            msg = f"reply_timeout must be a positive number of seconds, was {reply_timeout!r}"
            raise ConfigError(msg)
        self.reply_timeout = reply_timeout
        self._lock = threading.Lock()
        # client_order_id -> (robot, when last armed: time.monotonic()), oldest first
        self._orders: dict[str, tuple[str, float]] = {}
        self._cancels: dict[str, _Cancel] = {}  # client_order_id -> its cancel, oldest first

    def sent(self, robot: str, client_order_id: str) -> None:
        """Note that ``robot``'s order ``client_order_id`` is being sent now."""
        with self._lock:
            orders = self._orders
            orders.pop(client_order_id, None)  # a repeat goes to the end, keeping the order
            orders[client_order_id] = (robot, time.monotonic())

    def cancel_sent(
        self, robot: str, client_order_id: str, payload: bytes, remaining: int | None = None
    ) -> None:
        """Note that ``robot``'s cancel of ``client_order_id``, encoded as ``payload``, goes now.

        ``remaining``: what the robot knows is left of the order, so fills that take it
        all end the wait; None if it does not know (then only a reply ends it).
        """
        with self._lock:
            cancels = self._cancels
            cancels.pop(client_order_id, None)
            cancels[client_order_id] = _Cancel(robot, time.monotonic(), payload, remaining)

    def reported(self, report: OrderReply | Fill, *, fresh: bool = True) -> None:
        """A report about an order reached the host; ``fresh``: the robot did not have it.

        Any report ends the order's wait for a first report; a fresh one may end its
        cancel's (see the module's docstring). Never raises.
        """
        client_order_id = report.client_order_id
        with self._lock:
            self._orders.pop(client_order_id, None)
            cancels = self._cancels
            if not fresh or client_order_id not in cancels:
                return
            if type(report) is Fill:
                cancel = cancels[client_order_id]
                if cancel.remaining is None:
                    return
                left = cancel.remaining - report.qty
                if left > 0:  # the entry keeps its place: assigning a key does not move it
                    cancels[client_order_id] = cancel._replace(remaining=left)
                    return
            elif type(report) is OrderAccepted:
                return
            del cancels[client_order_id]  # answered, rejected or filled: nothing to cancel

    def overdue(self, now: float | None = None) -> list[tuple[str, str]]:
        """Take the orders unanswered for ``reply_timeout``; they are armed again from ``now``.

        Returns ``(robot, client_order_id)`` pairs, oldest first.
        """
        now = time.monotonic() if now is None else now
        return self._rearm_orders(now - self.reply_timeout, now)

    def overdue_cancels(self, now: float | None = None) -> list[UnansweredCancel]:
        """Take the cancels unanswered for ``reply_timeout``, to send again; armed from ``now``."""
        now = time.monotonic() if now is None else now
        return self._rearm_cancels(now - self.reply_timeout, now)

    def sent_before(self, moment: float) -> list[tuple[str, str]]:
        """Take the orders last armed at or before ``moment`` (monotonic), arming them again.

        For a connection to the gateway that dropped at ``moment``: whatever was sent
        before it may have died in that connection's buffers.
        """
        return self._rearm_orders(moment, time.monotonic())

    def cancels_sent_before(self, moment: float) -> list[UnansweredCancel]:
        """Take the cancels last armed at or before ``moment``, to send again; armed from now."""
        return self._rearm_cancels(moment, time.monotonic())

    def forget(self, robot: str) -> None:
        """Drop ``robot``'s orders and cancels: it left the host; nobody is left to hear."""
        with self._lock:
            for table in (self._orders, self._cancels):
                for client_order_id in [c for c, entry in table.items() if entry[0] == robot]:
                    del table[client_order_id]

    def waiting(self) -> Counter[str]:
        """How many orders each robot awaits a first report for (robots with none: absent)."""
        with self._lock:
            return Counter(robot for robot, _ in self._orders.values())

    def cancelling(self) -> Counter[str]:
        """How many cancels each robot awaits an answer to (robots with none: absent)."""
        with self._lock:
            return Counter(cancel.robot for cancel in self._cancels.values())

    def __len__(self) -> int:
        return len(self._orders) + len(self._cancels)

    def _rearm_orders(self, limit: float, now: float) -> list[tuple[str, str]]:
        with self._lock:
            orders = self._orders
            due = _armed_by(orders, limit)
            for client_order_id in due:
                robot, _ = orders.pop(client_order_id)
                orders[client_order_id] = (robot, now)  # to the end: armed again
            return [(orders[c][0], c) for c in due]

    def _rearm_cancels(self, limit: float, now: float) -> list[UnansweredCancel]:
        with self._lock:
            cancels = self._cancels
            due = _armed_by(cancels, limit)
            for client_order_id in due:
                cancels[client_order_id] = cancels.pop(client_order_id)._replace(armed=now)
            return [UnansweredCancel(cancels[c].robot, c, cancels[c].payload) for c in due]


def _armed_by(table: Mapping[str, tuple[Any, ...]], limit: float) -> list[str]:
    """The keys of ``table`` (oldest first; the armed time second) armed at or before ``limit``."""
    due: list[str] = []
    for client_order_id, entry in table.items():
        if entry[1] > limit:
            break  # every later entry was armed later still
        due.append(client_order_id)
    return due


def by_robot(orders: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """Group ``(robot, client_order_id)`` pairs by robot, keeping their order."""
    grouped: dict[str, list[str]] = {}
    for robot, client_order_id in orders:
        grouped.setdefault(robot, []).append(client_order_id)
    return grouped
