"""How often a receiver of the wire format logs the same kind of bad input again.

Bad input is counted, logged and dropped, never a crash; but a broken or hostile
sender can send thousands of bad messages a second, and a log line for each
would bury everything else (and fill the disk). So every receiver (a host's
intakes, the order gateway) logs the first :data:`LOG_FIRST` drops of each kind
in full, then one line every :data:`LOG_EVERY`, each with the count so far. The
counts themselves are kept whole, where the receiver reports its stats.

The rule lives here, at the bottom of the layers, because the host and the
gateways both apply it and may not import each other.
"""

from __future__ import annotations

from typing import Final

__all__ = ["LOG_EVERY", "LOG_FIRST", "should_log"]

LOG_FIRST: Final = 10
"""Occurrences of one kind logged in full before the log thins out."""

LOG_EVERY: Final = 1000
"""After the first few, one log line per this many occurrences."""


def should_log(count: int) -> bool:
    """Whether the ``count``-th occurrence of one kind of bad input gets a log line."""
    return count <= LOG_FIRST or count % LOG_EVERY == 0
