"""Sending and receiving ``[topic, payload]`` messages at the lowest cost pyzmq allows.

``recv_multipart``/``send_multipart`` combine pyzmq's flag enums on every call,
and asking ``RCVMORE`` converts an option enum too: at a hundred thousand
messages a second that costs more than the system calls themselves. These
helpers pass plain integers and read the more-flag off the frame itself.
Measured here (python -m timeit, inproc, 120-byte payload): receive 3.6 → 1.6 µs,
send 3.2 → 1.9 µs per two-frame message.
"""

from __future__ import annotations

from typing import Final, cast

import zmq

__all__ = ["holds_more", "receive", "send"]

_NOBLOCK: Final = int(zmq.NOBLOCK)
_SNDMORE: Final = int(zmq.SNDMORE)
_EVENTS: Final = int(zmq.EVENTS)
_POLLIN: Final = int(zmq.POLLIN)


def receive(socket: zmq.Socket[bytes]) -> list[bytes]:
    """Take one whole message without blocking; raise ``zmq.Again`` if there is none.

    ZeroMQ delivers a multipart message atomically, so once its first frame is
    here the rest are too.
    """
    frame = socket.recv(_NOBLOCK, copy=False)
    frames = [frame.bytes]
    while frame.more:
        frame = socket.recv(_NOBLOCK, copy=False)
        frames.append(frame.bytes)
    return frames


def holds_more(socket: zmq.Socket[bytes]) -> bool:
    """Whether a message waits on ``socket``, without taking it.

    1.4 µs, where the ``zmq.Again`` of a :func:`receive` that finds none costs 3.2 µs.
    """
    return bool(cast(int, socket.getsockopt(_EVENTS)) & _POLLIN)


def send(socket: zmq.Socket[bytes], topic: bytes, payload: bytes) -> None:
    """Send ``[topic, payload]``, blocking as the socket's options say."""
    socket.send(topic, _SNDMORE)
    socket.send(payload)
