"""Input the order gateway drops: counted by source and reason, logged without flooding the log.

Bad input (a malformed command, recovery request or market event) is a counted,
logged, dropped message, never a crash: the gateway keeps serving. A broken
sender can send thousands of bad frames a second, so each source and reason
logs its first :data:`LOG_FIRST` drops, then one line every :data:`LOG_EVERY`,
each with the count so far. The counts go into the gateway's ``stats`` as
``dropped_<source>_<reason>`` (``dropped_command_not_json``...).

The host has its own (``yard_actors.host.drops``); the gateway may not import
the host's layer, and the two count into different places.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Final

__all__ = ["LOG_EVERY", "LOG_FIRST", "Drops", "should_log"]

logger = logging.getLogger(__name__)

LOG_FIRST: Final = 10  # drops logged per source and reason before thinning out
LOG_EVERY: Final = 1000  # then one log line per this many


class Drops:
    """Count and log what ``where`` (the gateway, in logs) drops; written by one thread only."""

    __slots__ = ("_counts", "where")

    def __init__(self, where: str, counts: Counter[str]) -> None:
        self.where = where
        self._counts = counts

    def drop(self, source: str, reason: str, detail: str) -> None:
        """Count a message from ``source`` dropped for ``reason``; log ``detail`` (rate-limited)."""
        key = f"dropped_{source}_{reason}"
        self._counts[key] += 1
        count = self._counts[key]
        if should_log(count):
            logger.warning(
                "%s dropped a %s (%s, %d so far): %s", self.where, source, reason, count, detail
            )


def should_log(count: int) -> bool:
    """Whether the ``count``-th occurrence of something repeated gets a log line."""
    return count <= LOG_FIRST or count % LOG_EVERY == 0
