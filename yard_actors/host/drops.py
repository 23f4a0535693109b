"""Messages an intake drops: counted by reason, logged without flooding the log.

Bad input at an intake is a counted, logged, dropped message, never a crash: the
intake and its robots keep running. A broken sender can send thousands of bad
messages a second, so each reason logs its first :data:`LOG_FIRST` drops, then
one line every :data:`LOG_EVERY`, each with the count so far (the rule the
gateway follows too: :mod:`yard_actors.wire.log_limit`). The counts are
what :class:`~yard_actors.host.intake.IntakeStats` reports as ``dropped``.

Written by the intake's receive thread only; the actor's thread reads a copy
(:meth:`Drops.by_reason`) for stats.
"""

from __future__ import annotations

import logging
from collections import Counter

from yard_actors.wire.log_limit import LOG_EVERY, LOG_FIRST, should_log

__all__ = ["LOG_EVERY", "LOG_FIRST", "Drops"]

logger = logging.getLogger(__name__)


class Drops:
    """The drops of one intake; ``where`` names it in logs ("data intake on tcp://...")."""

    __slots__ = ("_counts", "where")

    def __init__(self, where: str) -> None:
        self.where = where
        self._counts: Counter[str] = Counter()

    def drop(self, reason: str, detail: str) -> None:
        """Count a dropped message under ``reason`` and log ``detail`` (rate-limited)."""
        self._counts[reason] += 1
        count = self._counts[reason]
        if should_log(count):
            logger.warning(
                "%s dropped a message (%s, %d so far): %s", self.where, reason, count, detail
            )

    def count(self, reason: str) -> None:
        """Count an expected drop (a duplicate, say) without logging it."""
        self._counts[reason] += 1

    def by_reason(self) -> dict[str, int]:
        """A copy of the counts, for stats."""
        return dict(self._counts)
