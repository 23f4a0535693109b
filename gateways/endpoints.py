"""The order gateway's sockets: bound or connected together, closed together.

``orders`` (PULL, bound), ``trades`` (PUB, bound), ``recovery`` (ROUTER,
bound, optional), ``data`` (SUB, connected to a feed, optional) and an inproc
PAIR by which :meth:`GatewaySockets.ask_to_stop` wakes the gateway's thread.
Made on the caller's thread, then used by the gateway's thread only (starting
the thread is the memory barrier ZeroMQ asks for when a socket changes thread).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import zmq

from yard_actors.errors import GatewayError
from yard_actors.wire.names import SESSION_TOPIC

__all__ = ["GatewaySockets"]

_QUEUE = 1_000_000  # messages a socket queues before it blocks or drops


class GatewaySockets:
    """Open every socket or none (GatewayError names the endpoint that failed)."""

    def __init__(
        self,
        context: zmq.Context[zmq.Socket[bytes]],
        *,
        orders: str,
        trades: str,
        recovery: str | None,
        data: str | None,
        symbols: Iterable[str],
    ) -> None:
        self._context = context
        self._sockets: list[zmq.Socket[bytes]] = []
        try:
            self.orders = self._open(zmq.PULL, orders, bind=True)
            self.trades = self._open(zmq.PUB, trades, bind=True)
            self.recovery = (
                None if recovery is None else self._open(zmq.ROUTER, recovery, bind=True)
            )
            self.data = None if data is None else self._open(zmq.SUB, data, bind=False)
            self._stop_url = f"inproc://yard-gateway-stop-{id(self)}"
            self.stop_in = self._open(zmq.PAIR, self._stop_url, bind=True)
        except BaseException:
            self.close()
            raise
        if self.data is not None:
            self.data.subscribe(SESSION_TOPIC.encode())
            for symbol in symbols:
                self.data.subscribe(symbol.encode())
        self.endpoints = {
            "orders": self.orders.getsockopt_string(zmq.LAST_ENDPOINT),
            "trades": self.trades.getsockopt_string(zmq.LAST_ENDPOINT),
        }
        if self.recovery is not None:
            self.endpoints["recovery"] = self.recovery.getsockopt_string(zmq.LAST_ENDPOINT)

    def _open(self, kind: int, url: str, *, bind: bool) -> zmq.Socket[bytes]:
        socket = self._context.socket(kind)
        socket.setsockopt(zmq.LINGER, 0)
        if kind in (zmq.PULL, zmq.SUB):
            socket.setsockopt(zmq.RCVHWM, _QUEUE)
        if kind == zmq.PUB:
            socket.setsockopt(zmq.SNDHWM, _QUEUE)
        try:
            if bind:
                socket.bind(url)
            else:
                socket.connect(url)
        except zmq.ZMQError as exc:
            socket.close()
            msg = f"order gateway cannot {'bind' if bind else 'connect'} {url}: {exc}"
            raise GatewayError(msg) from exc
        self._sockets.append(socket)
        return socket

    def ask_to_stop(self, then: Callable[[], object]) -> None:
        """Wake the gateway's thread with a stop, from another thread; call ``then`` (a
        join) before closing the socket that asked, which could drop the stop with it."""
        stopper = self._context.socket(zmq.PAIR)
        stopper.setsockopt(zmq.LINGER, 0)
        stopper.connect(self._stop_url)
        stopper.send(b"stop")
        then()
        stopper.close()

    def close(self) -> None:
        """Close every socket; idempotent."""
        for socket in self._sockets:
            socket.close()
