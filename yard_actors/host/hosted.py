"""What a host keeps of each robot it runs, and the table of figures it shows of them.

Apart from :mod:`.host` so the Host holds the lifecycle of its robots and parts, and the
row of figures per robot (:meth:`Host.robots`, read by the CLI's table and by tests) is
built in one place: counts and state from the actor's :class:`RobotStats`, what awaits an
answer from :mod:`.in_flight`, and latency percentiles from :mod:`.latency`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import attrs
import pykka

from yard_actors.host.in_flight import InFlight
from yard_actors.host.latency import Histogram
from yard_actors.host.robot_actor import RobotStats
from yard_actors.host.table import RobotTable
from yard_actors.robot.risk import RiskLimits
from yard_actors.robot.robot import Robot

__all__ = ["Hosted", "robot_table"]


@attrs.define
class Hosted:
    """What the host keeps of a robot it runs.

    ``robot_class`` is the class's import path, ``robot_type`` the class itself and
    ``limits`` the risk limits it runs under: what a ``set_params`` is checked against
    before it is sent (:mod:`.supervision`). Its current params are in ``stats``.
    """

    name: str
    robot_class: str
    symbols: tuple[str, ...]
    ref: pykka.ActorRef[Any]
    stats: RobotStats
    robot_type: type[Robot]
    limits: RiskLimits


def robot_table(robots: Iterable[Hosted], in_flight: InFlight) -> RobotTable:
    """One row per robot, in the order given; see :meth:`Host.robots`."""
    rows = []
    awaiting, cancelling = in_flight.waiting(), in_flight.cancelling()
    for hosted in robots:
        stats = hosted.stats
        rows.append(
            {
                "name": hosted.name,
                "class": hosted.robot_class,
                "status": stats.status,
                "events_in": stats.events_in,
                "commands_out": stats.commands_out,
                "unsent": stats.unsent,
                "awaiting": awaiting[hosted.name],
                "cancelling": cancelling[hosted.name],
                "position": dict(stats.position),
                "pnl": stats.pnl,
                "upnl": stats.upnl,
                "open_orders": stats.open_orders,
                "held": stats.held,
                "mailbox": _mailbox_size(hosted.ref),
                **stats.backlog.figures(),
                "restarts": stats.restarts,
                "quarantined": stats.quarantined,
                "error": stats.error,
                **_latencies("wait", stats.wait),
                **_latencies("handle", stats.handling),
            }
        )
    return RobotTable(rows)


def _latencies(prefix: str, histogram: Histogram) -> dict[str, float | None]:
    """p50 and p99 in µs (a bucket's upper bound, see :mod:`latency`); None before any event."""
    figures: dict[str, float | None] = {}
    for name, fraction in (("p50", 0.5), ("p99", 0.99)):
        ns = histogram.percentile(fraction)
        figures[f"{prefix}_{name}_us"] = None if ns is None else ns / 1000
    return figures


def _mailbox_size(ref: pykka.ActorRef[Any]) -> int:
    """Messages waiting for the actor; -1 where the inbox cannot tell."""
    qsize = getattr(ref.actor_inbox, "qsize", None)
    return int(qsize()) if qsize is not None else -1
