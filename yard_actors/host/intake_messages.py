"""The messages an intake actor takes from the host: routes, and the asks of its edge.

Apart from :mod:`.intake` so the host and the trades intake name routes and stats without
the receive loop; each is immutable, made on the host's thread and read on the intake
actor's. ``ask`` is for the edges only (the host's controlling thread), with a timeout.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

import attrs
import pykka

__all__ = [
    "Announce",
    "IntakeStats",
    "Route",
    "SettleAsk",
    "StatsAsk",
    "Unroute",
    "ask_stats",
    "settle",
]


@attrs.frozen(kw_only=True)
class IntakeStats:
    kind: str
    url: str
    received: int
    delivered: int
    unrouted: int
    dropped: Mapping[str, int]


@attrs.frozen
class Route:
    """Deliver events of ``topic`` to ``robot`` (an ActorRef)."""

    topic: str
    robot: pykka.ActorRef[Any]


@attrs.frozen
class Unroute:
    topic: str
    robot: pykka.ActorRef[Any]


@attrs.frozen
class Announce:
    """Subscribe to ``topic``, which no robot takes: a signal to the publisher, such as
    ``$ready/host`` (wire.md 1). After the routes already sent, on the same socket."""

    topic: str


class StatsAsk:
    """Ask for :class:`IntakeStats`."""


@attrs.frozen
class SettleAsk:
    """Ask the intake to hand on everything its socket holds now; answers True when done."""

    timeout_ms: int


def settle(ref: pykka.ActorRef[Any], timeout: float) -> bool:
    """Have the intake journal and tell everything its socket holds now; False on timeout."""
    return cast(bool, ref.ask(SettleAsk(max(1, int(timeout * 1000))), timeout=timeout + 1))


def ask_stats(ref: pykka.ActorRef[Any], timeout: float) -> IntakeStats:
    return cast(IntakeStats, ref.ask(StatsAsk(), timeout=timeout))
