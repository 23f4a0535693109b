"""Every reserved topic and frame name of the wire format, defined once for both sides.

A feed, a gateway and a host import these rather than spell them, so the two
ends of a socket cannot drift apart. ``docs/wire.md`` says what each carries.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "GATEWAY_READY",
    "HOST_READY",
    "LOST_IN_TRANSIT",
    "MAX_REGISTER_ROBOTS",
    "MAX_RESOLVE_IDS",
    "OWNER_SEQS_PREFIX",
    "RECOVERY_REGISTER",
    "RECOVERY_REGISTERED",
    "RECOVERY_REPLAY",
    "RECOVERY_REPORTS",
    "RECOVERY_RESOLVE",
    "RESERVED_PREFIX",
    "SEQS_TOPIC",
    "SESSION_TOPIC",
    "STORE_UNAVAILABLE",
    "SYSTEM_TOPIC",
    "owner_seqs_topic",
]

RESERVED_PREFIX: Final = "$"
"""Topics that start with this are the framework's, never a symbol or a robot name."""

SESSION_TOPIC: Final = "$session"
"""On ``data``: a ``SessionStatus``, delivered to every robot."""

SYSTEM_TOPIC: Final = "$system"
"""On ``data``: a ``SystemStatus``, delivered to every robot. On ``trades``: the order
gateway's own ``SystemStatus`` (its order store down, or back)."""

HOST_READY: Final = "$ready/host"
"""On ``data``, host → feed: a subscription, never a message. A host makes it once its
robots' symbols are subscribed, so a feed that waits for hosts (``yard feed --hosts N``)
counts each host once, whatever its robots trade (wire.md 1)."""

GATEWAY_READY: Final = "$ready/gateway"
"""On ``data``, gateway → feed: the gateway's subscription of :data:`HOST_READY`'s kind,
made after its symbols and ``$session``; a feed waiting for hosts waits for it too."""

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

RECOVERY_REGISTER: Final = b"register"
"""On ``recovery``, host → gateway: ``[register, robot...]``: run these robots under the
sender's key. Only the owning key may then send their commands, ask for their reports and
hear them (wire.md 1b)."""

RECOVERY_REGISTERED: Final = b"registered"
"""On ``recovery``, gateway → host: ``[registered, owner, robot, verdict, robot, verdict...]``,
the answer to one ``register``: the key name the gateway knows the sender by (empty where
peers have no keys), then per robot an empty verdict (registered to it) or the sentence
saying why not."""

MAX_REGISTER_ROBOTS: Final = 1000
"""The most robots one ``register`` request may name; a host with more sends several."""

OWNER_SEQS_PREFIX: Final = f"{SEQS_TOPIC}/"
"""On a keyed ``trades``: the start of each key's own heartbeat topic (:func:`owner_seqs_topic`)."""


def owner_seqs_topic(owner: str) -> str:
    """The ``$seqs`` heartbeat of the robots key ``owner`` owns: ``$seqs/host-a/``.

    A keyed subscriber's ``$seqs`` subscription is taken as one to this. The closing ``/``
    (never in a key's name, a file's stem) keeps one key's topic from being the prefix of
    another's, which ZeroMQ's prefix matching would deliver to both.
    """
    return f"{OWNER_SEQS_PREFIX}{owner}/"
