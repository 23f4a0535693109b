"""A pooled runtime for Pykka actors: thousands of actors on a few worker threads.

``PooledActor`` is a ``pykka.Actor`` like ``ThreadingActor`` (same hooks, refs,
proxies, registry, ``stop`` and ``ask`` semantics) whose messages are handled by
the workers of a :class:`Pool` instead of a thread per actor. Design, guarantees
and figures: ``docs/runtime.md``.

Import from here: ``from yard_actors.runtime import PooledActor, Pool``.
"""

from yard_actors.runtime.actor import PooledActor, PooledFuture, tell_here
from yard_actors.runtime.default_pool import (
    configure_default_pool,
    default_pool,
    shutdown_default_pool,
)
from yard_actors.runtime.pool import (
    DEFAULT_BATCH,
    DEFAULT_WORKERS,
    SPARE_WORKERS,
    Pool,
    PoolDeadlockError,
    PoolError,
    current_pool,
)

__all__ = [
    "DEFAULT_BATCH",
    "DEFAULT_WORKERS",
    "SPARE_WORKERS",
    "Pool",
    "PoolDeadlockError",
    "PoolError",
    "PooledActor",
    "PooledFuture",
    "configure_default_pool",
    "current_pool",
    "default_pool",
    "shutdown_default_pool",
    "tell_here",
]
