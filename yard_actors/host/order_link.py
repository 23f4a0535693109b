"""The host's one link to the order gateway.

All robots of a host send through one ZeroMQ PUSH socket, so a host of 1,000
robots holds one connection, not 1,000. ZeroMQ sockets may move between
threads only across a full memory barrier; the lock here is that barrier, and
it also keeps each two-frame message whole.

The link notes every order and cancel it sends in its
:class:`~yard_actors.host.in_flight.InFlight` (until a report about it arrives), and
reports its connection to the gateway dropping and coming back on
:attr:`OrderLink.events_url` (a ZeroMQ socket monitor; ``tcp://`` and ``ipc://`` only):
whatever was sent before a drop may have died in that connection's buffers, and the
trades intake asks the gateway about the orders and sends the cancels again
(:meth:`OrderLink.resend`) as soon as the link is back.
"""

from __future__ import annotations

import itertools
import logging
import threading

import zmq

from yard_actors import net
from yard_actors.errors import GatewayError
from yard_actors.host.in_flight import InFlight
from yard_actors.net import GATEWAY, LOCAL_ONLY, Security
from yard_actors.wire.frames import send

__all__ = ["OrderLink"]

logger = logging.getLogger(__name__)

LINK_EVENTS = zmq.EVENT_CONNECTED | zmq.EVENT_DISCONNECTED
"""The socket-monitor events published on :attr:`OrderLink.events_url`."""
_ids = itertools.count(1)


class OrderLink:
    """A PUSH socket connected to the gateway's orders endpoint, safe to call from any thread.

    ``send`` blocks while the socket's queue is full, at most ``send_timeout_ms``,
    then raises :class:`GatewayError`: a gateway that stopped reading must be
    noticed, not papered over. ``in_flight`` is where sent orders are noted (a new,
    default one if not given). ``security``: the host's keys for ``tcp://``
    (:mod:`yard_actors.net`); a missing key raises ConfigError.
    """

    def __init__(
        self,
        context: zmq.Context[zmq.Socket[bytes]],
        url: str,
        *,
        send_timeout_ms: int = 5000,
        high_water_mark: int = 100_000,
        in_flight: InFlight | None = None,
        security: Security = LOCAL_ONLY,
    ) -> None:
        self._lock = threading.Lock()
        self._url = url
        self.in_flight = in_flight if in_flight is not None else InFlight()
        self.events_url = f"inproc://yard-order-link-events-{next(_ids)}"
        self._socket = context.socket(zmq.PUSH)
        try:
            self._socket.setsockopt(zmq.LINGER, 1000)
            self._socket.setsockopt(zmq.SNDHWM, high_water_mark)
            self._socket.setsockopt(zmq.SNDTIMEO, send_timeout_ms)
            self._socket.monitor(self.events_url, LINK_EVENTS)
            net.connect(self._socket, url, security, server=GATEWAY)
        except zmq.ZMQError as exc:
            self._socket.close()
            msg = f"cannot connect the order link to {url}: {exc}"
            raise GatewayError(msg) from exc
        except BaseException:  # keys missing or unreadable: ConfigError says which
            self._socket.close()
            raise
        self.sent = 0
        self.resent = 0  # of those, commands sent again (resend)

    @property
    def url(self) -> str:
        return self._url

    def send(self, robot: str, payload: bytes, client_order_id: str | None = None) -> None:
        """Send one encoded command, topic = the robot's name.

        ``client_order_id``: the command is that order (a ``NewOrder``); it is noted in
        :attr:`in_flight` first, and stays there if the send fails, so the gateway is asked
        about it like any order that went missing.
        """
        if client_order_id is not None:
            self.in_flight.sent(robot, client_order_id)
        self._send(robot, payload)

    def send_cancel(
        self, robot: str, payload: bytes, client_order_id: str, remaining: int | None = None
    ) -> None:
        """Send one encoded ``CancelOrder`` of order ``client_order_id``, noted in flight first.

        It stays in :attr:`in_flight` until answered (``remaining``: what is left of the
        order, see :meth:`InFlight.cancel_sent`), and is sent again while it is not, so a
        failed send is only logged by the caller, like a lost one.
        """
        self.in_flight.cancel_sent(robot, client_order_id, payload, remaining)
        self._send(robot, payload)

    def resend(self, robot: str, payload: bytes) -> bool:
        """Send a command again as it was, without waiting; False if it could not go now.

        For the trades intake's thread, which must not block on a gateway that is away:
        the command stays in flight and is sent again at the next ``reply_timeout``.
        """
        with self._lock:
            try:
                self._socket.send(robot.encode(), zmq.SNDMORE | zmq.NOBLOCK)
                self._socket.send(payload)  # the rest of a message whose first frame went
            except zmq.ZMQError as exc:
                if exc.errno != zmq.EAGAIN:
                    logger.warning("order link to %s: could not send again: %s", self._url, exc)
                return False
            self.sent += 1
            self.resent += 1
            return True

    def _send(self, robot: str, payload: bytes) -> None:
        with self._lock:
            try:
                send(self._socket, robot.encode(), payload)
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
