"""A latency histogram cheap enough to record every event a robot handles.

Each robot actor keeps two: how long each event waited in its mailbox and how
long the robot took to handle it. Recording costs one ``bit_length``, two
shifts and a list increment, with no allocation and no lock: the actor's
thread is the only writer; the host reads the counts from another thread and
may see a count or two mid-update, which a p50/p99 can bear.

Buckets are log-linear (four per power of two), so a percentile is exact to
within 25% at any scale from 1 ns to hours; :meth:`Histogram.percentile`
reports a bucket's upper bound, never an underestimate.
"""

from __future__ import annotations

__all__ = ["Histogram"]

_SUB_BITS = 2  # four sub-buckets per power of two (record() spells the 2 and 3 out)
_SUBS = 1 << _SUB_BITS
_BUCKETS = 64 * _SUBS


class Histogram:
    """Counts of nanosecond durations in log-linear buckets."""

    __slots__ = ("counts",)

    def __init__(self) -> None:
        self.counts = [0] * _BUCKETS

    @property
    def count(self) -> int:
        return sum(self.counts)

    def record(self, ns: int) -> None:
        if ns < _SUBS:
            self.counts[max(ns, 0)] += 1
            return
        bits = ns.bit_length()
        self.counts[((bits - 2) << 2) | ((ns >> (bits - 3)) & 3)] += 1

    def percentile(self, fraction: float) -> int | None:
        """The upper bound, in ns, of the bucket holding that fraction; None when empty."""
        counts = list(self.counts)  # a copy: the actor's thread may be recording
        total = sum(counts)
        if total == 0:
            return None
        rank = max(1, round(fraction * total))
        seen = 0
        for index, count in enumerate(counts):
            seen += count
            if seen >= rank:
                return _upper(index)
        return _upper(len(counts) - 1)


def _upper(index: int) -> int:
    if index < _SUBS:
        return index
    exponent, sub = divmod(index, _SUBS)
    bits = exponent + _SUB_BITS
    low = (1 << (bits - 1)) | (sub << (bits - _SUB_BITS - 1))
    return low + (1 << (bits - _SUB_BITS - 1)) - 1
