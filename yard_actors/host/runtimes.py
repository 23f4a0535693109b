"""How a host runs its robot actors: a thread per robot, or a pool of worker threads.

``threads`` is Pykka's ``ThreadingActor``: every robot has an OS thread that
sleeps on its mailbox, so each delivery wakes a thread. ``pooled`` runs the same
:class:`~yard_actors.host.robot_actor.RobotActor` code on a few shared workers
(:mod:`yard_actors.runtime`): a burst of market data for 1,000 robots costs a
few thread switches, not 1,000, and an idle robot costs no thread. Both give
the same guarantees a robot relies on (one mailbox, serial handling, order per
sender), so the same robots and tests run on either.

The runtime is picked, in this order, by ``Host(runtime=...)`` (or the config's
``runtime`` key), by the ``YARD_RUNTIME`` environment variable, and by
:data:`DEFAULT_RUNTIME`.
"""

from __future__ import annotations

import logging
import os
from typing import Any, Final

import pykka

from yard_actors.errors import ConfigError
from yard_actors.host.robot_actor import RobotActor
from yard_actors.runtime import DEFAULT_BATCH, Pool, PooledActor

__all__ = [
    "DEFAULT_RUNTIME",
    "HOST_WORKERS",
    "RUNTIMES",
    "PooledRobotActor",
    "RobotRuntime",
    "runtime_name",
]

logger = logging.getLogger(__name__)

RUNTIMES: Final = ("pooled", "threads")
# One worker: robots never block, and under the GIL a second worker only adds lock and GIL
# hand-offs (1,000 robots over 50 symbols: 238k deliveries/s with one, 170k with two).
# A robot that does block or compute for long (it should not) cannot stall the rest: the
# pool's hand-off monitor adds a worker while it holds one (runtime/handoff.py).
HOST_WORKERS: Final = 1
DEFAULT_RUNTIME: Final = "pooled"
_ENVIRONMENT: Final = "YARD_RUNTIME"


class PooledRobotActor(PooledActor, RobotActor):
    """A :class:`RobotActor` whose messages are handled by a pool's workers."""


def runtime_name(runtime: str | None) -> str:
    """The runtime to use: ``runtime`` if given, else ``$YARD_RUNTIME``, else the default."""
    name = runtime if runtime is not None else os.environ.get(_ENVIRONMENT, DEFAULT_RUNTIME)
    if name not in RUNTIMES:
        where = "runtime" if runtime is not None else f"the environment variable {_ENVIRONMENT}"
        msg = f"{where}: {name!r} is not one of {', '.join(RUNTIMES)}"
        raise ConfigError(msg)
    return name


class RobotRuntime:
    """Starts a host's robot actors on the chosen runtime; :meth:`shutdown` after they stopped."""

    def __init__(
        self,
        runtime: str | None = None,
        *,
        workers: int = HOST_WORKERS,
        batch: int = DEFAULT_BATCH,
        max_workers: int | None = None,
        name: str = "yard-robots",
    ) -> None:
        self.name = runtime_name(runtime)
        pooled = self.name == "pooled"
        self._pool = (
            Pool(workers, batch=batch, max_workers=max_workers, name=name) if pooled else None
        )

    def start(self, *args: Any, **kwargs: Any) -> pykka.ActorRef[Any]:
        """Start a robot actor; the arguments go to :class:`RobotActor`."""
        if self._pool is None:
            return RobotActor.start(*args, **kwargs)
        return PooledRobotActor.start_in(self._pool, *args, **kwargs)

    def shutdown(self, timeout: float | None = None) -> None:
        """Join the pool's workers; call once every robot actor has stopped."""
        if self._pool is not None and not self._pool.shutdown(timeout):
            logger.error(
                "the robots' pool %s did not stop within %s s; its workers still run",
                self._pool.name,
                timeout,
            )
