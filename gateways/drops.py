"""Input the order gateway drops: counted by source and reason, logged without flooding the log.

Bad input (a malformed command, recovery request or market event; a repeated
order; a recovery peer that does not read) is a counted, logged, dropped
message, never a crash: the gateway keeps serving. A broken sender can send
thousands of bad frames a second, so each source and reason logs its first
:data:`LOG_FIRST` drops, then one line every :data:`LOG_EVERY`, each with the
count so far: the host's rule, :mod:`yard_actors.wire.log_limit`. The counts go
into the gateway's ``stats`` as ``dropped_<source>_<reason>``
(``dropped_command_not_json``...), which its health line shows.

The host has its own (``yard_actors.host.drops``); the gateway may not import
the host's layer, and the two count into different places.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Final

from yard_actors.wire.log_limit import LOG_EVERY, LOG_FIRST, should_log

__all__ = ["LOG_EVERY", "LOG_FIRST", "Drops", "should_log"]

logger = logging.getLogger(__name__)

# What a drop of each source is called in the log: "dropped market data (bad_field, ...)".
_WHAT: Final = {
    "command": "a command",
    "market": "market data",
    "recovery": "a recovery request",
    "resolve": "a resolve",
    "subscription": "a subscription",
}


class Drops:
    """Count and log what ``where`` (the gateway, in logs) drops.

    Each instance is written by one thread only. Two threads may count into
    the same ``counts`` as long as each uses sources of its own: the gateway's
    thread counts ``command``, ``market`` and ``resolve``, its recovery thread
    ``recovery`` (a Counter's update of one key is not atomic; of two keys it is
    safe under the GIL).
    """

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
            what = _WHAT.get(source, f"a {source}")
            logger.warning(
                "%s dropped %s (%s, %d so far): %s", self.where, what, reason, count, detail
            )
