"""Worker threads shared by many pooled actors, and the process-wide default pool.

A :class:`Pool` owns ``workers`` threads and one run queue (a ``queue.SimpleQueue``
of :class:`Runnable` items, in practice pooled actors' mailboxes). Each worker takes
one and runs one turn of its actor (see :mod:`yard_actors.runtime.mailbox`): at most
``batch`` messages, so one flooded actor cannot starve the others. The pool knows
nothing of mailboxes or actors beyond the :class:`Runnable` protocol: the layers
run pool <- mailbox <- actor. The threads are not daemons; they start with the
pool's first actor and end in :meth:`Pool.shutdown`, which first stops the pool's
actors. Every pool still running when the main thread finishes is shut down then,
before Python joins non-daemon threads, so a forgotten pooled actor (unlike a
forgotten ``ThreadingActor``) does not keep the process alive.

The default pool is created on first use with the settings of
:func:`configure_default_pool` (2 workers, batch 64 unless configured) and shut down
by :func:`shutdown_default_pool` or at interpreter exit.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

import pykka

from yard_actors.errors import PoolDeadlockError, PoolError

__all__ = [
    "DEFAULT_BATCH",
    "DEFAULT_WORKERS",
    "Pool",
    "PoolDeadlockError",
    "PoolError",
    "Runnable",
    "configure_default_pool",
    "current_pool",
    "default_pool",
    "shutdown_default_pool",
]

logger = logging.getLogger(__name__)

DEFAULT_WORKERS = 2
DEFAULT_BATCH = 64


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
        self, workers: int = DEFAULT_WORKERS, *, batch: int = DEFAULT_BATCH, name: str = "yard-pool"
    ) -> None:
        if workers < 1:
            msg = f"a pool needs at least one worker, was given workers={workers}"
            raise ValueError(msg)
        if batch < 1:
            msg = f"batch is the messages an actor handles per turn and must be >= 1, was {batch}"
            raise ValueError(msg)
        self.workers = workers
        self.batch = batch
        self.name = name
        self._run_queue: queue.SimpleQueue[Runnable | None] = queue.SimpleQueue()
        self.schedule = self._run_queue.put
        self.queue_is_empty = self._run_queue.empty
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
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
        return any(thread.is_alive() for thread in self._threads)

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
        threads = list(self._threads)
        for _ in threads:
            self._run_queue.put(None)
        for thread in threads:
            thread.join(_remaining(deadline))
        alive = [thread.name for thread in threads if thread.is_alive()]
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
            if not self._threads:
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
        _watch_exit(self)
        for number in range(self.workers):
            name = f"{self.name}-{number}"
            # daemon=False outright: a thread would otherwise inherit its creator's flag
            thread = threading.Thread(target=self._work, name=name, daemon=False)
            thread.start()
            self._threads.append(thread)

    def _work(self) -> None:
        # Each worker thread's whole life: turns until the shutdown sentinel.
        _worker.pool = self
        get = self._run_queue.get
        batch = self.batch
        while (runnable := get()) is not None:
            try:
                runnable.run_turn(batch)
            except Exception:
                # run_turn handles every failure of the actor's own code; reaching this is a
                # bug here. Keep the worker for the other actors; this one stays claimed.
                logger.exception("pool %s: a turn of %s failed", self.name, runnable.actor_ref)


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


# --- the default pool and interpreter exit -------------------------------------------------------

_default_lock = threading.Lock()
_default: Pool | None = None
_default_settings = {"workers": DEFAULT_WORKERS, "batch": DEFAULT_BATCH}
_live_pools: set[Pool] = set()
_exit_hook_installed = False


def configure_default_pool(*, workers: int = DEFAULT_WORKERS, batch: int = DEFAULT_BATCH) -> None:
    """Set the default pool's size and batch, before it starts (the host calls it from config).

    Raises :class:`PoolError` if the default pool is already running with other
    settings: call :func:`shutdown_default_pool` first.
    """
    Pool(workers, batch=batch)  # validates the values with the pool's own messages
    with _default_lock:
        running = _default
        if running is not None and (running.workers, running.batch) != (workers, batch):
            msg = (
                f"the default pool is running with workers={running.workers} "
                f"batch={running.batch}; shut it down before setting workers={workers} "
                f"batch={batch}"
            )
            raise PoolError(msg)
        _default_settings.update(workers=workers, batch=batch)


def default_pool() -> Pool:
    """The process-wide pool for pooled actors that name none; created on first use."""
    global _default  # one process-wide pool is the point
    with _default_lock:
        if _default is None:
            _default = Pool(
                _default_settings["workers"], batch=_default_settings["batch"], name="yard-pool"
            )
        return _default


def shutdown_default_pool(timeout: float | None = None) -> bool:
    """Shut the default pool down (see :meth:`Pool.shutdown`); the next use creates a new one."""
    global _default
    with _default_lock:
        pool, _default = _default, None
    return pool is None or pool.shutdown(timeout)


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
