"""The hand-off monitor: a pool grows a worker when all of its workers are stuck in long turns.

A pool's workers run turns of many actors. One actor whose handler sleeps, blocks or
spins for milliseconds holds its worker for a whole turn (``batch`` messages, each
maybe a burst of hundreds of events); with every worker held that way, the quick
actors queued behind wait for it, however quick they are. Go's scheduler meets the
same problem (a thread blocked in a system call holds its processor) with a monitor
thread, ``sysmon``, that hands the processor to a fresh thread when the call has
lasted too long. :class:`Handoff` does the same for a pool: every :data:`HANDOFF_S`
it looks at each worker's turn counter, and when every worker has been inside the
same turn since the previous look while a runnable actor waits on the run queue, it
asks the pool for one more worker (up to the pool's ``max_workers``). The pool lets
an extra worker go once it has found nothing to run for a while.

Why a monitor and not a check on the sender's path: the check needs the time a turn
began, and taking it on every put or every turn would cost the hot path a clock read;
a worker pays two integer increments per turn (:class:`Turns`) and the monitor, off
that path, does the rest. Each look needs the GIL, which a busy worker then gives up
for it, so the monitor looks often only when a turn may be long: every
:data:`HANDOFF_S` while a worker is in a turn it began at most one turn ago (it may be
stuck), backing off to every :data:`IDLE_CHECK_S` while the workers are idle or run
many short turns between looks (a busy, healthy pool: the common case). A long turn
is then handed off within 4 ms of a look that sees it begin, 40 ms at worst.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Final

__all__ = ["HANDOFF_S", "IDLE_CHECK_S", "Handoff", "Turns"]

logger = logging.getLogger(__name__)

#: A turn seen at two looks this far apart, with every other worker's too and a runnable
#: waiting, makes the pool grow a worker: a waiting actor is held up by 2-4 ms at most.
HANDOFF_S: Final = 0.002
#: How often the monitor looks, at most, while no turn may be stuck (the workers are idle,
#: or have run many turns since the last look).
IDLE_CHECK_S: Final = 0.02


class Turns:
    """One worker's turn counter: even while it waits for work, odd while it runs a turn.

    Written only by its worker (``count += 1`` before and after each turn), read by the
    monitor; an int store is atomic under the GIL, so no lock is needed.
    """

    __slots__ = ("count",)

    def __init__(self) -> None:
        self.count = 0


class Handoff:
    """The monitor of one pool; :meth:`start` it with the pool's workers, :meth:`stop` it first.

    ``workers()`` returns the live workers' counters (any thread may change the list
    between looks), ``waiting()`` says whether a runnable waits on the run queue, and
    ``grow()`` adds a worker, returning False when the pool may not grow (at its
    ``max_workers``, or shut down).
    """

    def __init__(
        self,
        name: str,
        *,
        workers: Callable[[], Sequence[Turns]],
        waiting: Callable[[], bool],
        grow: Callable[[], bool],
    ) -> None:
        self.name = name
        self._workers = workers
        self._waiting = waiting
        self._grow = grow
        self._seen: dict[Turns, int] = {}
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._watch, name=name, daemon=True)
        self.interval = IDLE_CHECK_S  # until the next look

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        """Stop looking and join the monitor's thread (it wakes within one look)."""
        self._stopping.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def look(self) -> bool:
        """One look at the workers: grow the pool if all are stuck; True to look again soon.

        A worker is *stuck* when its counter is odd and the same as at the previous look:
        it has been in one turn at least since then. One whose counter moved by a turn or
        two and is odd has just begun a turn that may prove long: look again in
        :data:`HANDOFF_S`. Otherwise (idle, or many short turns since the last look) the
        monitor backs off, doubling :attr:`interval` up to :data:`IDLE_CHECK_S`. The
        monitor's thread calls this; tests call it directly, between turns they control.
        """
        workers = self._workers()
        seen, close, stuck = self._seen, False, bool(workers)
        now = {}
        for turns in workers:
            count = turns.count
            now[turns] = count
            if count & 1 and count - seen.get(turns, -4) <= 2:
                close = True  # in the same turn as at the last look, or in a new one
                if seen.get(turns) != count:
                    stuck = False
            else:
                stuck = False
        self._seen = now
        if stuck and self._waiting() and self._grow():
            logger.info(
                "%s: every worker has been in one turn for over %.0f ms with actors waiting; "
                "added a worker (now %d)",
                self.name,
                HANDOFF_S * 1000,
                len(workers) + 1,
            )
        self.interval = HANDOFF_S if close else min(self.interval * 2, IDLE_CHECK_S)
        return close

    def _watch(self) -> None:
        while not self._stopping.wait(self.interval):
            try:
                self.look()
            except Exception:  # a bug here must not end the monitor, nor the process
                logger.exception("%s: the hand-off monitor's look failed", self.name)
