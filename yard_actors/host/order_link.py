"""The host's one link to the order gateway.

All robots of a host send through one ZeroMQ PUSH socket, so a host of 1,000
robots holds one connection, not 1,000. ZeroMQ sockets may move between
threads only across a full memory barrier; the lock here is that barrier, and
it also keeps each two-frame message whole.
"""

from __future__ import annotations

import logging
import threading

import zmq

from yard_actors.errors import GatewayError
from yard_actors.wire.frames import send

__all__ = ["OrderLink"]

logger = logging.getLogger(__name__)


class OrderLink:
    """A PUSH socket connected to the gateway's orders endpoint, safe to call from any thread.

    ``send`` blocks while the socket's queue is full, at most ``send_timeout_ms``,
    then raises :class:`GatewayError`: a gateway that stopped reading must be
    noticed, not papered over.
    """

    def __init__(
        self,
        context: zmq.Context[zmq.Socket[bytes]],
        url: str,
        *,
        send_timeout_ms: int = 5000,
        high_water_mark: int = 100_000,
    ) -> None:
        self._lock = threading.Lock()
        self._url = url
        try:
            self._socket = context.socket(zmq.PUSH)
            self._socket.setsockopt(zmq.LINGER, 1000)
            self._socket.setsockopt(zmq.SNDHWM, high_water_mark)
            self._socket.setsockopt(zmq.SNDTIMEO, send_timeout_ms)
            self._socket.connect(url)
        except zmq.ZMQError as exc:
            msg = f"cannot connect the order link to {url}: {exc}"
            raise GatewayError(msg) from exc
        self.sent = 0

    @property
    def url(self) -> str:
        return self._url

    def send(self, robot: str, payload: bytes) -> None:
        """Send one encoded command, topic = the robot's name."""
        topic = robot.encode()
        with self._lock:
            try:
                send(self._socket, topic, payload)
            except zmq.Again as exc:
                msg = f"order gateway at {self._url} did not take a command from {robot} in time"
                raise GatewayError(msg) from exc
            except zmq.ZMQError as exc:
                msg = f"order link to {self._url} failed sending for {robot}: {exc}"
                raise GatewayError(msg) from exc
            self.sent += 1

    def close(self) -> None:
        with self._lock:
            if not self._socket.closed:
                self._socket.close()
