"""What sets the two intakes apart: their socket, the events each takes, the topic of each.

One :class:`~yard_actors.host.intake.IntakeActor` class serves every kind; what
differs by kind is here, so a new kind of intake is a row in these tables (and a
subclass where it needs state of its own, like the trades intake). The data and
trades intakes subscribe (SUB) to a publisher that binds. (Controls are calls on the
host's control endpoint, not an intake: :mod:`.control_server`.) Each socket is bound or
connected by :mod:`yard_actors.net`: CURVE on ``tcp://``, a message size limit on all.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any, Final

import zmq

from yard_actors import net
from yard_actors.errors import GatewayError
from yard_actors.net import FEED, GATEWAY, LOCAL_ONLY, Security
from yard_actors.wire.events import (
    Bar,
    CancelReply,
    Fill,
    OrderAccepted,
    OrderRejected,
    Quote,
    SessionStatus,
    SystemStatus,
    Tick,
)
from yard_actors.wire.names import SESSION_TOPIC, SYSTEM_TOPIC

__all__ = ["ACCEPTS", "IntakeKind", "open_socket", "topic_of"]


class IntakeKind(enum.Enum):
    DATA = "data"
    TRADES = "trades"


ACCEPTS: Final[Mapping[IntakeKind, tuple[type[Any], ...]]] = {
    IntakeKind.DATA: (Quote, Tick, Bar, SessionStatus, SystemStatus),
    IntakeKind.TRADES: (OrderAccepted, OrderRejected, CancelReply, Fill, SystemStatus),
}

# Whose key the server of a connecting intake holds (yard_actors.net.Security.server_key).
_SERVER: Final[Mapping[IntakeKind, str]] = {
    IntakeKind.DATA: FEED,
    IntakeKind.TRADES: GATEWAY,
}

# Topics every data intake subscribes to whatever its routes: the session and system status.
_STANDING: Final[Mapping[IntakeKind, tuple[str, ...]]] = {
    IntakeKind.DATA: (SESSION_TOPIC, SYSTEM_TOPIC),
}


def topic_of(event: Any) -> str:
    """The topic ``event`` travels under: its symbol, its robot, or a status topic."""
    kind = type(event)
    if kind is Quote or kind is Tick or kind is Bar:
        return str(event.symbol)
    if kind is SessionStatus:
        return SESSION_TOPIC
    if kind is SystemStatus:
        return SYSTEM_TOPIC
    return str(event.robot)


def open_socket(
    context: zmq.Context[zmq.Socket[bytes]],
    kind: IntakeKind,
    url: str,
    *,
    bind: bool,
    security: Security = LOCAL_ONLY,
) -> tuple[zmq.Socket[bytes], str]:
    """Open the intake's socket on ``url``; return it and the URL it ended up on.

    A bound URL with a ``*`` port comes back with the port the system chose.
    Raises :class:`GatewayError` if the socket cannot bind or connect, ConfigError
    if ``security`` has no usable keys for a ``tcp://`` URL.
    """
    socket = context.socket(zmq.SUB)
    socket.setsockopt(zmq.LINGER, 0)
    socket.setsockopt(zmq.RCVHWM, 1_000_000)
    try:
        if bind:
            url = net.bind(socket, url, security)
        else:
            net.connect(socket, url, security, server=_SERVER[kind])
    except zmq.ZMQError as exc:
        socket.close()
        verb = "bind" if bind else "connect"
        msg = f"{kind.value} intake cannot {verb} {url}: {exc}"
        raise GatewayError(msg) from exc
    except BaseException:  # keys missing or unreadable: ConfigError says which
        socket.close()
        raise
    for topic in _STANDING.get(kind, ()):
        socket.subscribe(topic.encode())
    return socket, url
