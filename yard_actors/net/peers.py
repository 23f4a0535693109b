"""Who sent a message: the name of the key its peer proved it holds, read off the frame.

On a socket bound with CURVE (:func:`~yard_actors.net.sockets.bind`), the ZAP handler
(:mod:`.authenticator`) names every peer it admits by its key's name, and ZeroMQ stamps
each frame that peer sends with it as the ``User-Id`` property. The order gateway reads
it to check that a command, a recovery request or a subscription comes from the key that
owns the robot. A socket without CURVE (``inproc://``, ``ipc://``, or ``tcp://`` with
``allow_insecure_tcp``) has no such property: its peers are not told apart, and whoever
reaches it is trusted as before. So a reader asks :func:`is_keyed` once per socket, not
per message, and reads the name only there: a missing property costs a raised ZMQError.
"""

from __future__ import annotations

from typing import Final, cast

import zmq

__all__ = ["USER_ID", "is_keyed", "key_name", "receive_keyed"]

USER_ID: Final = "User-Id"
"""The ZeroMQ message property the ZAP handler fills with the peer's key name."""

_NOBLOCK: Final = int(zmq.NOBLOCK)
_CURVE_SERVER: Final = int(zmq.CURVE_SERVER)


def is_keyed(socket: zmq.Socket[bytes]) -> bool:
    """Whether ``socket`` is a CURVE server: every message on it names its sender's key."""
    return bool(socket.getsockopt(_CURVE_SERVER))


def key_name(frame: zmq.Frame) -> str | None:
    """The key name ``frame`` came with; None for one that has none (an ``inproc`` peer's,
    or a message ZeroMQ made itself, as the unsubscriptions of a peer that left)."""
    try:
        return cast(str, frame.get(USER_ID))  # a string property: int only for flags
    except zmq.ZMQError:
        return None


def receive_keyed(socket: zmq.Socket[bytes]) -> tuple[list[bytes], str]:
    """Take one whole message off a keyed socket without blocking, with its sender's key name.

    Raises ``zmq.Again`` if none waits. Only for a socket :func:`is_keyed` says is one:
    elsewhere the first frame has no name, and this raises ``zmq.ZMQError``.
    """
    frame = socket.recv(_NOBLOCK, copy=False)
    sender = cast(str, frame.get(USER_ID))
    frames = [frame.bytes]
    while frame.more:
        frame = socket.recv(_NOBLOCK, copy=False)
        frames.append(frame.bytes)
    return frames, sender
