"""Every reserved topic and frame name of the wire format, defined once for both sides.

A feed, a gateway and a host import these rather than spell them, so the two
ends of a socket cannot drift apart. ``docs/wire.md`` says what each carries.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "LOST_IN_TRANSIT",
    "MAX_RESOLVE_IDS",
    "RECOVERY_REPLAY",
    "RECOVERY_REPORTS",
    "RECOVERY_RESOLVE",
    "RESERVED_PREFIX",
    "SEQS_TOPIC",
    "SESSION_TOPIC",
    "STORE_UNAVAILABLE",
    "SYSTEM_TOPIC",
]

RESERVED_PREFIX: Final = "$"
"""Topics that start with this are the framework's, never a symbol or a robot name."""

SESSION_TOPIC: Final = "$session"
"""On ``data``: a ``SessionStatus``, delivered to every robot."""

SYSTEM_TOPIC: Final = "$system"
"""On ``data``: a ``SystemStatus``, delivered to every robot. On ``trades``: the order
gateway's own ``SystemStatus`` (its order store down, or back)."""

SEQS_TOPIC: Final = "$seqs"
"""On ``trades``: the gateway's heartbeat of the last report seq per robot (wire.md 4a)."""

RECOVERY_REPLAY: Final = b"replay"
"""On ``recovery``, host → gateway: ``[replay, robot, after_seq]``."""

RECOVERY_REPORTS: Final = b"reports"
"""On ``recovery``, gateway → host: ``[reports, robot, payload...]``."""

RECOVERY_RESOLVE: Final = b"resolve"
"""On ``recovery``, host → gateway: ``[resolve, robot, client_order_id...]``: orders the
host sent and heard nothing of. The gateway answers through the store, on ``trades``: an
id it never received becomes an ``OrderRejected`` with reason ``lost in transit`` (and a
late copy of that order is then a duplicate); one it knows gets its reports sent again."""

LOST_IN_TRANSIT: Final = "lost in transit"
"""The ``OrderRejected.reason`` of an order the gateway never received (``resolve``)."""

STORE_UNAVAILABLE: Final = "order store unavailable"
"""The ``OrderRejected.reason`` of a new order the gateway refused because its order store
was down; sent unnumbered (``seq`` 0), and the order never reached the exchange."""

MAX_RESOLVE_IDS: Final = 1000
"""The most ids one ``resolve`` request may name; a host with more sends several."""
