"""Worker threads shared by many pooled actors, and the process-wide default pool.

A :class:`Pool` owns ``workers`` threads and one run queue (a ``queue.SimpleQueue``
of :class:`Runnable` items, in practice pooled actors' mailboxes). Each worker takes
one and runs one turn of its actor (see :mod:`yard_actors.runtime.mailbox`): at most
``batch`` messages, so one flooded actor cannot starve the others. When every worker
has been held in one turn for a few milliseconds while actors wait, the pool's
hand-off monitor (:mod:`yard_actors.runtime.handoff`) adds a worker, up to
``max_workers``, so a slow or blocking actor cannot stall the quick ones; an added
worker ends after :data:`RETIRE_S` without work. The pool knows nothing of mailboxes
or actors beyond the :class:`Runnable` protocol: the layers run handoff <- pool <-
mailbox <- actor. The threads are not daemons; they start with the pool's first
actor and end in :meth:`Pool.shutdown`, which first stops the pool's actors. Every
pool still running when the main thread finishes is shut down then, before Python
joins non-daemon threads, so a forgotten pooled actor (unlike a forgotten
``ThreadingActor``) does not keep the process alive.

The process-wide default pool is in :mod:`yard_actors.runtime.default_pool`.
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Final, Protocol

import pykka

from yard_actors.errors import PoolDeadlockError, PoolError
from yard_actors.runtime.handoff import Handoff, Turns

__all__ = [
    "DEFAULT_BATCH",
    "DEFAULT_WORKERS",
    "RETIRE_S",
    "SPARE_WORKERS",
    "Pool",
    "PoolDeadlockError",
    "PoolError",
    "Runnable",
    "current_pool",
]

logger = logging.getLogger(__name__)

DEFAULT_WORKERS = 2
DEFAULT_BATCH = 64
#: Workers the hand-off monitor may add above ``workers`` unless ``max_workers`` says: as
#: many actors as may be slow at one moment without holding up the others.
SPARE_WORKERS: Final = 8
#: An added worker that finds nothing to run for this long ends.
RETIRE_S: Final = 2.0


_worker = threading.local()  # .pool: the Pool whose worker this thread is, if any


def current_pool() -> Pool | None:
    """The pool whose worker thread calls this, or None on any other thread."""
    pool: Pool | None = getattr(_worker, "pool", None)
    return pool


class Runnable(Protocol):
    """What a pool runs: the turns of one actor (a pooled actor's mailbox is one).

    The pool relies on a *claim* its owner keeps: whoever hands a runnable to
    :meth:`Pool.admit`, :attr:`Pool.schedule` or :meth:`Pool.run_here` holds it, and
    it is held until the turn ends, so a runnable is on the run queue at most once and
    is run by one thread at a time.
    """

    @property
    def actor_ref(self) -> pykka.ActorRef[Any] | None:
        """The actor whose turns these are: stopped by :meth:`Pool.shutdown`, named in logs."""

    def run_turn(self, batch: int) -> None:
        """Handle up to ``batch`` messages, then release the claim (or re-schedule itself)."""


class Pool:
    """``workers`` threads that run the turns of many pooled actors, ``batch`` messages a turn.

    Pick it for an actor class with ``actor_pool = pool`` or per start with
    ``MyActor.start_in(pool, ...)``. Threads start with the first actor; call
    :meth:`shutdown` (or use the pool as a context manager) to stop its actors and
    join its threads.

    Its :class:`Runnable` items (mailboxes) use :meth:`admit`, :attr:`schedule`,
    :attr:`queue_is_empty`, :meth:`run_here` and :meth:`forget`; a worker waiting for a
    pooled reply uses :meth:`blocking`.
    """

    #: Put a claimed runnable on the run queue; any thread. The run queue's own ``put``,
    #: so a mailbox that keeps it at hand pays no Python call per message.
    schedule: Callable[[Runnable], None]
    #: True if no runnable waits for a worker; any thread. The run queue's own ``empty``.
    queue_is_empty: Callable[[], bool]

    def __init__(
        self,
        workers: int = DEFAULT_WORKERS,
        *,
        batch: int = DEFAULT_BATCH,
        max_workers: int | None = None,
        name: str = "yard-pool",
    ) -> None:
        if workers < 1:
            msg = f"a pool needs at least one worker, was given workers={workers}"
            raise ValueError(msg)
        if batch < 1:
            msg = f"batch is the messages an actor handles per turn and must be >= 1, was {batch}"
            raise ValueError(msg)
        most = workers + SPARE_WORKERS if max_workers is None else max_workers
        if most < workers:
            msg = (
                f"max_workers is the most workers the pool may grow to and must be >= "
                f"workers={workers}, was {max_workers}"
            )
            raise ValueError(msg)
        self.workers = workers
        self.max_workers = most
        self.batch = batch
        self.name = name
        self._run_queue: queue.SimpleQueue[Runnable | None] = queue.SimpleQueue()
        self.schedule = self._run_queue.put
        self.queue_is_empty = self._run_queue.empty
        self._lock = threading.Lock()
        self._started = False
        # The live workers, replaced whole under the lock: the monitor reads it without one.
        self._live: tuple[tuple[threading.Thread, Turns], ...] = ()
        self._numbers = itertools.count()
        self._grown = 0
        self._handoff: Handoff | None = None
        self._admitted: set[Runnable] = set()
        self._blocked = 0  # workers waiting in a PooledFuture.get
        self._closed = False

    def __repr__(self) -> str:
        return f"<Pool {self.name} workers={self.workers} batch={self.batch} actors={self.actors}>"

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.shutdown()

    @property
    def actors(self) -> int:
        """Actors started on this pool and not yet stopped."""
        return len(self._admitted)

    @property
    def runnable(self) -> int:
        """Actors waiting on the run queue for a worker: a backlog here means busy workers."""
        return self._run_queue.qsize()

    @property
    def running(self) -> bool:
        """True from the first actor's start until :meth:`shutdown` has joined the workers."""
        return any(thread.is_alive() for thread, _ in self._live)

    @property
    def live_workers(self) -> int:
        """Worker threads now: ``workers``, plus those the hand-off monitor added and kept."""
        return len(self._live)

    @property
    def grown(self) -> int:
        """Workers the hand-off monitor has added since the pool started (a counter)."""
        return self._grown

    def shutdown(self, timeout: float | None = None) -> bool:
        """Stop this pool's actors, then its workers; True if all are gone within ``timeout``.

        Each live actor gets a stop request behind the messages already in its mailbox
        (``on_stop`` runs on a worker). If they have not all stopped in time, the workers
        are left running so they can finish, and False is returned: call again. New
        actors are refused from the first call on. Call from any thread but the pool's
        own workers (raises :class:`PoolError` there: a worker cannot join itself).
        """
        if current_pool() is self:
            msg = f"pool {self.name} cannot be shut down from its own worker thread"
            raise PoolError(msg)
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            self._closed = True
            refs = [item.actor_ref for item in self._admitted if item.actor_ref is not None]
        if not _stopped(refs, deadline):
            logger.warning("pool %s: actors still running after %s s", self.name, timeout)
            return False
        if self._handoff is not None:
            self._handoff.stop(_remaining(deadline))
        with self._lock:  # closed: no worker is added from here on
            live = self._live
        for _ in live:  # an added worker that ends meanwhile leaves its sentinel unread
            self._run_queue.put(None)
        for thread, _ in live:
            thread.join(_remaining(deadline))
        alive = [thread.name for thread, _ in live if thread.is_alive()]
        if alive:
            logger.warning("pool %s: workers %s did not end within %s s", self.name, alive, timeout)
            return False
        _live_pools.discard(self)
        logger.debug("pool %s shut down", self.name)
        return True

    def admit(self, runnable: Runnable) -> None:
        """Count ``runnable`` among this pool's actors and queue its first turn.

        On the thread that starts the actor, which holds the claim and has bound the
        actor (its ``actor_ref`` is set). Starts the workers with the first actor.
        Raises :class:`PoolError` once :meth:`shutdown` has been called.
        """
        with self._lock:
            if self._closed:
                msg = f"pool {self.name} is shut down; start {runnable.actor_ref} on another pool"
                raise PoolError(msg)
            if not self._started:
                self._start_workers()
            self._admitted.add(runnable)  # before its first turn, which may end in forget()
            self._run_queue.put(runnable)

    def forget(self, runnable: Runnable) -> None:
        """Stop counting ``runnable``, whose actor has stopped; a no-op if not admitted."""
        with self._lock:
            self._admitted.discard(runnable)

    def run_here(self, runnable: Runnable) -> None:
        """Run one turn of ``runnable`` on the calling thread, which holds its claim.

        For a sender that runs a turn itself (``tell_here``); a failure of the turn
        machinery is logged, as on a worker.
        """
        try:
            runnable.run_turn(self.batch)
        except Exception:
            logger.exception("pool %s: a turn of %s failed", self.name, runnable.actor_ref)

    @contextmanager
    def blocking(self, what: object) -> Iterator[None]:
        """Around a worker's wait for ``what``, a pooled reply: count the worker as blocked.

        Raises :class:`PoolDeadlockError` instead of entering if every other worker of
        this pool is blocked already: nobody would be left to produce the reply.
        """
        with self._lock:
            if self._blocked + 1 >= self.workers:
                thread = threading.current_thread().name
                msg = (
                    f"worker {thread} of pool {self.name} would block waiting for {what}, "
                    f"and the pool's other {self.workers - 1} workers are blocked already: no "
                    "worker would be left to produce the reply. Inside an actor, reply with a "
                    "tell instead of a blocking ask, or give the pool more workers."
                )
                raise PoolDeadlockError(msg)
            self._blocked += 1
        try:
            yield
        finally:
            with self._lock:
                self._blocked -= 1

    def _start_workers(self) -> None:
        # Under the lock, with the first actor.
        self._started = True
        _watch_exit(self)
        for _ in range(self.workers):
            self._add_worker(spare=False)
        if self.max_workers > self.workers:
            self._handoff = Handoff(
                f"{self.name}-handoff",
                workers=lambda: [turns for _, turns in self._live],
                waiting=lambda: not self._run_queue.empty(),
                grow=self._grow,
            )
            self._handoff.start()

    def _add_worker(self, *, spare: bool) -> None:
        # Under the lock. daemon=False outright: a thread would otherwise inherit its creator's.
        turns = Turns()
        name = f"{self.name}-{next(self._numbers)}"
        thread = threading.Thread(target=self._work, args=(turns, spare), name=name, daemon=False)
        self._live = (*self._live, (thread, turns))
        thread.start()

    def _grow(self) -> bool:
        """Add a spare worker (the hand-off monitor's call); False at max_workers or shut down."""
        with self._lock:
            if self._closed or len(self._live) >= self.max_workers:
                return False
            self._grown += 1  # before the start: the new worker may serve (and be seen) at once
            self._add_worker(spare=True)
            return True

    def _retire(self, turns: Turns) -> bool:
        """Let a spare worker that found no work go, unless the pool is down to ``workers``."""
        with self._lock:
            if self._closed or len(self._live) <= self.workers:
                return False
            self._live = tuple(live for live in self._live if live[1] is not turns)
            return True

    def _work(self, turns: Turns, spare: bool) -> None:
        # Each worker thread's whole life: turns until the shutdown sentinel (a spare one:
        # or until RETIRE_S without work). The counter is odd while in a turn (handoff.py).
        _worker.pool = self
        get = self._run_queue.get
        batch = self.batch
        while True:
            if spare:
                try:
                    runnable = get(timeout=RETIRE_S)
                except queue.Empty:
                    if self._retire(turns):
                        return
                    continue
            else:
                runnable = get()
            if runnable is None:
                return
            turns.count += 1
            try:
                runnable.run_turn(batch)
            except Exception:
                # run_turn handles every failure of the actor's own code; reaching this is a
                # bug here. Keep the worker for the other actors; this one stays claimed.
                logger.exception("pool %s: a turn of %s failed", self.name, runnable.actor_ref)
            turns.count += 1


def _remaining(deadline: float | None) -> float | None:
    return None if deadline is None else max(0.0, deadline - time.monotonic())


def _stopped(refs: list[pykka.ActorRef[Any]], deadline: float | None) -> bool:
    futures = [ref.stop(block=False) for ref in refs]
    try:
        for future in futures:
            future.get(timeout=_remaining(deadline))
    except pykka.Timeout:
        return False
    return True


# --- interpreter exit -------------------------------------------------------------------------

_live_pools: set[Pool] = set()
_exit_hook_installed = False


def _watch_exit(pool: Pool) -> None:
    # threading's own exit hook runs before non-daemon threads are joined; atexit runs after,
    # too late for non-daemon workers (concurrent.futures uses the same hook for its pools).
    global _exit_hook_installed
    _live_pools.add(pool)
    if not _exit_hook_installed:
        register = getattr(threading, "_register_atexit", None)
        if register is not None:
            register(_shutdown_live_pools)
        _exit_hook_installed = True


def _shutdown_live_pools() -> None:
    for pool in list(_live_pools):
        pool.shutdown()
