"""Which of a robot's reports a host already has: exactly-once delivery over two paths.

A gateway numbers each robot's reports 1, 2, 3... They may reach a host twice
(the fast path and the change stream both bring fills; a replay overlaps what
arrived live) or not at all (a restart, a slow subscription). A window per
robot remembers what was delivered, compactly: every seq up to a watermark,
plus the few seen above a gap (a journal written before reports were kept in
order). What it says is new is delivered once, and only in seq order: a report
with a gap before it is left for the replay that fills the gap (:meth:`SeqWindow.ahead`);
what it says is missing is asked for again.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["SeqWindow"]


class SeqWindow:
    """Seqs delivered so far; not thread-safe (the trades intake's receive thread owns it)."""

    __slots__ = ("_above", "watermark")

    def __init__(self, seen: Iterable[int] = ()) -> None:
        self.watermark = 0  # every seq in 1..watermark was delivered
        self._above: set[int] = set()
        for seq in seen:
            self.add(seq)

    def add(self, seq: int) -> bool:
        """Note ``seq`` as delivered; False if it already was (a duplicate to drop)."""
        if seq <= self.watermark or seq in self._above:
            return False
        if seq == self.watermark + 1:
            self.watermark = seq
            above = self._above
            while self.watermark + 1 in above:
                self.watermark += 1
                above.discard(self.watermark)
        else:
            self._above.add(seq)
        return True

    def ahead(self, seq: int) -> bool:
        """True if ``seq`` is new but an earlier seq is not delivered yet (a gap before it).

        Such a report is not delivered, nor held: delivered, it would reach the robot
        before the reports of the gap; the replay that fills the gap brings it in its turn.
        """
        return seq > self.watermark + 1 and seq not in self._above

    def missing(self, last: int) -> bool:
        """True if some seq up to ``last`` (the gateway's latest) has not been delivered."""
        return last > self.watermark and (last - self.watermark) > len(
            [s for s in self._above if s <= last]
        )
