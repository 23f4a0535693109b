"""The process-wide default pool: for pooled actors that name no pool of their own.

It is created on first use with the settings of :func:`configure_default_pool` (2
workers, batch 64, growing by up to :data:`~yard_actors.runtime.pool.SPARE_WORKERS`
unless configured) and shut down by :func:`shutdown_default_pool` or at interpreter
exit, like every pool.
"""

from __future__ import annotations

import threading
from typing import Any

from yard_actors.errors import PoolError
from yard_actors.runtime.pool import DEFAULT_BATCH, DEFAULT_WORKERS, Pool

__all__ = ["configure_default_pool", "default_pool", "shutdown_default_pool"]

_default_lock = threading.Lock()
_default: Pool | None = None
_default_settings: dict[str, Any] = {
    "workers": DEFAULT_WORKERS,
    "batch": DEFAULT_BATCH,
    "max_workers": None,
}


def configure_default_pool(
    *, workers: int = DEFAULT_WORKERS, batch: int = DEFAULT_BATCH, max_workers: int | None = None
) -> None:
    """Set the default pool's size, batch and growth limit, before it starts.

    Raises :class:`PoolError` if the default pool is already running with other
    settings: call :func:`shutdown_default_pool` first.
    """
    wanted = Pool(workers, batch=batch, max_workers=max_workers)  # checks with its messages
    with _default_lock:
        running = _default
        if running is not None and (running.workers, running.batch, running.max_workers) != (
            wanted.workers,
            wanted.batch,
            wanted.max_workers,
        ):
            msg = (
                f"the default pool is running with workers={running.workers} "
                f"batch={running.batch} max_workers={running.max_workers}; shut it down "
                f"before setting workers={workers} batch={batch} max_workers={wanted.max_workers}"
            )
            raise PoolError(msg)
        _default_settings.update(workers=workers, batch=batch, max_workers=max_workers)


def default_pool() -> Pool:
    """The process-wide pool for pooled actors that name none; created on first use."""
    global _default  # one process-wide pool is the point
    with _default_lock:
        if _default is None:
            _default = Pool(name="yard-pool", **_default_settings)
        return _default


def shutdown_default_pool(timeout: float | None = None) -> bool:
    """Shut the default pool down (see :meth:`Pool.shutdown`); the next use creates a new one."""
    global _default
    with _default_lock:
        pool, _default = _default, None
    return pool is None or pool.shutdown(timeout)
