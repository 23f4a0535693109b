"""The wire schema's version and the bounds of its values, defined once.

The codec's general path and its fast path (:mod:`yard_actors.wire.fast_decode`)
both import these, so the two cannot drift apart on what they accept; the
fast path must not import the codec, which imports it. ``docs/wire.md`` is
the specification they implement.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "DECIMAL_EXPONENT_LIMIT",
    "EARLIEST_WALL_TS",
    "MAX_INT",
    "MAX_NAME_CHARS",
    "MAX_PAYLOAD_BYTES",
    "SCHEMA_VERSION",
]

SCHEMA_VERSION: Final = 1
"""Written as ``v`` in every message; a reader refuses any other value."""

MAX_PAYLOAD_BYTES: Final = 65536
"""A payload longer than this is refused before it is parsed."""

MAX_INT: Final = 2**63 - 1
"""The largest integer (timestamp, size, seq) the wire carries; JSON readers past it use floats."""

EARLIEST_WALL_TS: Final = 946_684_800_000_000_000
"""2000-01-01T00:00:00Z in nanoseconds: the least wall-clock ``ts`` a host takes for a control.

A control's ``ts`` is the host's wall clock (nanoseconds since the epoch); one given
below this is a zero or a slip of units (a time in seconds, milliseconds or microseconds
since the epoch stays below it for 30,000 years and more), and is refused, saying so.
"""

MAX_NAME_CHARS: Final = 128
"""The longest symbol, robot name or order id, as the event classes check."""

DECIMAL_EXPONENT_LIMIT: Final = 28
"""A decimal's adjusted exponent (the power of ten of its leading digit) must lie within +-28.

Far beyond any price or fee, and it keeps ``"1e999999"`` from reaching
arithmetic that would overflow or a ``str()`` that would be a megabyte long.
"""
