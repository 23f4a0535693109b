"""Messages no robot routes: counted, and logged by topic without flooding the log.

An intake's socket subscribes by prefix (ZeroMQ's rule), while the host matches topics
exactly, so a topic a sender got slightly wrong (``"Si "`` with a trailing space, a report
for ``mm-si2`` where the robot is ``mm-si``) reaches the intake and goes to nobody. It is
not decoded, and it used to vanish without a word; now each topic is logged the 1st, 10th,
100th... time it comes, with the count so far, so a sender's mistake shows at once and a
feed that publishes ``SiZ4`` to a host trading ``Si`` costs a line per tenfold, not one a
second. Reserved topics (``$session``, ``$system``) are counted, not logged. The total
is the intake's ``unrouted`` stat (:class:`~.intake_messages.IntakeStats`).

Written by the intake's receive thread only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Final

from yard_actors.wire.names import RESERVED_PREFIX

__all__ = ["Unrouted"]

logger = logging.getLogger(__name__)

_TOPICS: Final = 1024  # distinct topics counted apart; more share one count, "other topics"
_OTHERS: Final = b"\x00others"
_SHOWN: Final = 60  # bytes of a topic quoted in the log
_RESERVED: Final = RESERVED_PREFIX.encode()


class Unrouted:
    """Counts what ``where`` (an intake, in logs) could route to no robot, and says so.

    ``routed``: whether the intake routes a topic now, to hint at a near miss (the topic
    with its whitespace stripped is routed).
    """

    __slots__ = ("_by_topic", "_routed", "count", "where")

    def __init__(self, where: str, routed: Callable[[bytes], bool]) -> None:
        self.where = where
        self.count = 0
        self._routed = routed
        self._by_topic: dict[bytes, int] = {}

    def note(self, topic: bytes) -> None:
        """Count a message of ``topic`` that no robot takes; log it when its count is 1, 10...

        A reserved topic (``$session``...) is only counted: the intake subscribes to it
        before any robot is added, so a host without robots yet hears it unrouted.
        """
        self.count += 1
        if topic[:1] == _RESERVED:
            return
        key = topic if topic in self._by_topic or len(self._by_topic) < _TOPICS else _OTHERS
        seen = self._by_topic.get(key, 0) + 1
        self._by_topic[key] = seen
        if _power_of_ten(seen):
            logger.warning(
                "%s: no robot on this host takes topic %s (%d of it so far, %d unrouted in all); "
                "topics must be exactly a robot's symbol or name%s",
                *(self.where, _shown(key), seen, self.count, self._hint(topic)),
            )

    def _hint(self, topic: bytes) -> str:
        stripped = topic.strip()
        if stripped != topic and self._routed(stripped):
            return f": without its whitespace it would be {_shown(stripped)}"
        return ""


def _power_of_ten(count: int) -> bool:
    while count % 10 == 0:
        count //= 10
    return count == 1


def _shown(topic: bytes) -> str:
    if topic == _OTHERS:
        return f"(one of more than {_TOPICS} topics)"
    shown = topic[:_SHOWN].decode("utf-8", "backslashreplace")
    return repr(shown) + ("..." if len(topic) > _SHOWN else "")
