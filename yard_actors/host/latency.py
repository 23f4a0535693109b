"""A latency histogram cheap enough to record every event a robot handles.

Each robot actor keeps two: how long each event waited in its mailbox and how
long the robot took to handle it, recorded a run of events at a time
(:func:`record_run`): one ``bit_length``, two shifts and a list increment per
figure, with no call, no allocation and no lock: the actor's
thread is the only writer; the host reads the counts from another thread and
may see a count or two mid-update, which a p50/p99 can bear.

Buckets are log-linear (four per power of two), so a percentile is exact to
within 25% at any scale from 1 ns to hours; :meth:`Histogram.percentile`
reports a bucket's upper bound, never an underestimate.
"""

from __future__ import annotations

__all__ = ["Histogram", "record_run"]

_SUB_BITS = 2  # four sub-buckets per power of two (_bucket() spells the 2 and 3 out)
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
        self.counts[_bucket(ns)] += 1

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


def record_run(wait: Histogram, handling: Histogram, sent_ns: int, stamps: list[int]) -> None:
    """Record a run of events handled back to back: each one's wait and handling time.

    ``stamps[0]`` is when the first event's handling began and ``stamps[i + 1]`` when
    event ``i``'s ended (so the next one's began); ``sent_ns`` is when the run was sent.
    One call per run instead of two per event: the calls cost more than the bucket
    arithmetic (measured with ``benchmarks/bench_many.py``: 1,000 robots over 50
    symbols spend 8-9% of their time recording; two calls per event cost ~5% more).
    """
    waits, handlings = wait.counts, handling.counts
    began = stamps[0]
    for ended in stamps[1:]:
        # _bucket() twice, spelled out (tests/unit/test_latency.py holds them equal)
        ns = began - sent_ns
        if ns < _SUBS:
            waits[max(ns, 0)] += 1
        else:
            bits = ns.bit_length()
            waits[((bits - 2) << 2) | ((ns >> (bits - 3)) & 3)] += 1
        ns = ended - began
        if ns < _SUBS:
            handlings[max(ns, 0)] += 1
        else:
            bits = ns.bit_length()
            handlings[((bits - 2) << 2) | ((ns >> (bits - 3)) & 3)] += 1
        began = ended


def _bucket(ns: int) -> int:
    if ns < _SUBS:
        return max(ns, 0)
    bits = ns.bit_length()
    return ((bits - 2) << 2) | ((ns >> (bits - 3)) & 3)


def _upper(index: int) -> int:
    if index < _SUBS:
        return index
    exponent, sub = divmod(index, _SUBS)
    bits = exponent + _SUB_BITS
    low = (1 << (bits - 1)) | (sub << (bits - _SUB_BITS - 1))
    return low + (1 << (bits - _SUB_BITS - 1)) - 1
