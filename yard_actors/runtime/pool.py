"""Worker threads shared by many pooled actors, and the process-wide default pool.

A :class:`Pool` owns ``workers`` threads and one run queue (a ``queue.SimpleQueue``
of mailboxes). Each worker takes a mailbox and runs one turn of its actor (see
:mod:`yard_actors.runtime.mailbox`): at most ``batch`` messages, so one flooded
actor cannot starve the others. The threads are not daemons; they start with the
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
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import pykka

from yard_actors.errors import PoolDeadlockError, PoolError

if TYPE_CHECKING:
    from collections.abc import Iterator

    from yard_actors.runtime.actor import PooledActor
    from yard_actors.runtime.mailbox import Mailbox

__all__ = [
    "DEFAULT_BATCH",
    "DEFAULT_WORKERS",
    "Pool",
    "PoolDeadlockError",
    "PoolError",
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


class Pool:
    """``workers`` threads that run the turns of many pooled actors, ``batch`` messages a turn.

    Pick it for an actor class with ``actor_pool = pool`` or per start with
    ``MyActor.start_in(pool, ...)``. Threads start with the first actor; call
    :meth:`shutdown` (or use the pool as a context manager) to stop its actors and
    join its threads.
    """

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
        self._run_queue: queue.SimpleQueue[Mailbox | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._mailboxes: set[Mailbox] = set()
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
        return len(self._mailboxes)

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
            refs = [box.actor_ref for box in self._mailboxes if box.actor_ref is not None]
            # (every admitted mailbox has its ref: _admit opens it under this lock)
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

    def _admit(self, actor: PooledActor, mailbox: Mailbox) -> None:
        # On the thread calling start(): start the workers if needed, then queue the first turn.
        with self._lock:
            if self._closed:
                msg = f"pool {self.name} is shut down; start {actor} on another pool"
                raise PoolError(msg)
            if not self._threads:
                self._start_workers()
            self._mailboxes.add(mailbox)  # before its first turn, which may end in _forget
            mailbox.open(actor, self, self._run_queue.put)

    def _forget(self, mailbox: Mailbox) -> None:
        with self._lock:
            self._mailboxes.discard(mailbox)

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
        while (mailbox := get()) is not None:
            try:
                mailbox.run_turn(batch)
            except Exception:
                # run_turn handles every failure of the actor's own code; reaching this is a
                # bug here. Keep the worker for the other actors; this one stays claimed.
                logger.exception("pool %s: a turn of %s failed", self.name, mailbox.actor_ref)

    def _run_here(self, mailbox: Mailbox) -> None:
        # A turn on the sender's thread (Mailbox.put_here), which holds the actor's claim.
        try:
            mailbox.run_turn(self.batch)
        except Exception:
            logger.exception("pool %s: a turn of %s failed", self.name, mailbox.actor_ref)

    @contextmanager
    def _blocking(self, what: object) -> Iterator[None]:
        # Around a worker's wait for a pooled reply: refuse to block the last free worker.
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
