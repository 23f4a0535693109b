"""How a host stops its actors within a stated time, and says what it dropped to do so.

A robot that is behind has thousands of market data events waiting; handling them
all before stopping (Pykka's ``stop`` queues behind them) would take as long as the
robot is behind, minutes for a slow one. So :func:`stop_robots` first has every robot
*shed* its market data (:attr:`~yard_actors.host.backlog.Backlog.shedding`): what is
left in its mailbox is dropped unhandled, and not journaled as received, so a replay
and a restart agree with what it did; a slow robot's run is cut every few events
(``robot_actor._SLOW_RUN``) so it sheds soon. Fills, replies and controls in its
mailbox are still handled. Then it stops every actor at once and waits until the
deadline; one still running then (a handler that never returns) is named in the
log, and the host carries on closing rather than hang.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

import pykka

from yard_actors.host.backlog import Backlog

__all__ = ["shed_market_data", "stop_actors", "stop_robots"]

logger = logging.getLogger(__name__)


def stop_actors(refs: Sequence[pykka.ActorRef[Any]], deadline: float) -> list[pykka.ActorRef[Any]]:
    """Stop ``refs`` all at once; return those still running at ``deadline`` (monotonic)."""
    futures = []
    for ref in refs:
        try:
            futures.append((ref, ref.stop(block=False)))
        except pykka.ActorDeadError:
            continue
    late = []
    for ref, future in futures:
        try:
            future.get(timeout=max(0.0, deadline - time.monotonic()))
        except pykka.Timeout:
            late.append(ref)
    return late


def shed_market_data(backlogs: Sequence[Backlog]) -> None:
    """From now on, the robots drop the market data waiting for them (any thread)."""
    for backlog in backlogs:
        backlog.shedding = True


def stop_robots(
    robots: Sequence[tuple[str, pykka.ActorRef[Any], Backlog]], deadline: float
) -> None:
    """Stop the robots (name, ref, backlog), shedding their market data; log what was dropped."""
    shed_market_data([backlog for _, _, backlog in robots])
    late = stop_actors([ref for _, ref, _ in robots], deadline)
    for name, _, backlog in robots:
        if backlog.shed:
            logger.warning(
                "robot %s: stopped with %d market data events not yet handled; they were "
                "dropped, not journaled as received (a restart carries on from what it handled)",
                name,
                backlog.shed,
            )
    if late:
        names = ", ".join(name for name, ref, _ in robots if ref in late)
        logger.error(
            "robots %s did not stop in time: a handler is still running; the host closes "
            "without them",
            names,
        )
