"""The order gateway's sockets: bound or connected together, closed together.

``orders`` (PULL, bound), ``trades`` (PUB, bound; an XPUB under CURVE, see below),
``recovery`` (ROUTER, bound, optional), ``data`` (SUB, connected to a feed, optional) and an inproc
PAIR by which :meth:`GatewaySockets.ask_to_stop` wakes the gateway's thread.
Made on the caller's thread, then used by the gateway's thread only (starting
the thread is the memory barrier ZeroMQ asks for when a socket changes thread).
Each endpoint is bound or connected by :mod:`yard_actors.net` with the gateway's
:class:`~yard_actors.net.Security`: CURVE on ``tcp://``, a message size limit on all.

Under CURVE each peer is known by its key, and the gateway lets a key act only for the
robots it owns (:mod:`.owners`): ``trades`` is then an XPUB with ``XPUB_MANUAL``, whose
subscriptions the gateway honours one by one (:mod:`.owner_checks`), and ``orders``
needs a keyed ``recovery``, where hosts register their robots. :attr:`GatewaySockets.keyed`
says which endpoints are keyed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable

import attrs
import zmq

from gateways.recovery_limits import CLOSE_LINGER_MS as RECOVERY_LINGER_MS
from gateways.recovery_limits import SEND_QUEUE as RECOVERY_SEND_QUEUE
from yard_actors import net
from yard_actors.errors import ConfigError, GatewayError
from yard_actors.net import FEED, LOCAL_ONLY, Security, is_keyed, speaks_curve
from yard_actors.wire.names import GATEWAY_READY, SESSION_TOPIC

__all__ = ["TRADES_QUEUE", "GatewaySockets", "Keyed"]

_QUEUE = 1_000_000  # messages a socket queues before it blocks or drops
# Reports queued for one trades subscriber; past it the PUB drops that subscriber's
# reports (never blocks). A host that reads is far below it; one that fell this far
# behind gets what it lost back by the $seqs heartbeat and a replay (docs/wire.md 4a).
# A subscriber that never reads costs the gateway at most this many reports, ~10 MB,
# where a million cost hundreds of MB.
TRADES_QUEUE = 20_000


@attrs.frozen(kw_only=True)
class Keyed:
    """Which bound endpoints are CURVE servers: their peers are known by their keys."""

    orders: bool
    trades: bool
    recovery: bool


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
        security: Security = LOCAL_ONLY,
    ) -> None:
        self._context = context
        self._security = security
        self._sockets: list[zmq.Socket[bytes]] = []
        _check_registration(orders, recovery, security)
        try:
            self.orders = self._open(zmq.PULL, orders, bind=True)
            publisher = zmq.XPUB if speaks_curve(trades, security) else zmq.PUB
            self.trades = self._open(publisher, trades, bind=True)
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
            self.data.subscribe(GATEWAY_READY.encode())  # last: a waiting feed counts it
        self.endpoints = {
            "orders": self.orders.getsockopt_string(zmq.LAST_ENDPOINT),
            "trades": self.trades.getsockopt_string(zmq.LAST_ENDPOINT),
        }
        if self.recovery is not None:
            self.endpoints["recovery"] = self.recovery.getsockopt_string(zmq.LAST_ENDPOINT)
        self.keyed = Keyed(
            orders=is_keyed(self.orders),
            trades=is_keyed(self.trades),
            recovery=self.recovery is not None and is_keyed(self.recovery),
        )

    def _open(self, kind: int, url: str, *, bind: bool) -> zmq.Socket[bytes]:
        socket = self._context.socket(kind)
        socket.setsockopt(zmq.LINGER, 0)
        if kind in (zmq.PULL, zmq.SUB):
            socket.setsockopt(zmq.RCVHWM, _QUEUE)
        if kind in (zmq.PUB, zmq.XPUB):  # trades: before bind, as connections take it
            socket.setsockopt(zmq.SNDHWM, TRADES_QUEUE)
        if kind == zmq.XPUB:  # keyed trades: no subscription counts until owner_checks says so
            socket.setsockopt(zmq.XPUB_MANUAL, 1)
            socket.setsockopt(zmq.XPUB_VERBOSE, 1)
        if kind == zmq.ROUTER:  # recovery: a full peer refuses a page at once (recovery_server)
            socket.setsockopt(zmq.SNDHWM, RECOVERY_SEND_QUEUE)  # before bind: connections take it
            socket.setsockopt(zmq.ROUTER_MANDATORY, 1)
            socket.setsockopt(zmq.LINGER, RECOVERY_LINGER_MS)  # closing mid-page: see there
        try:
            if bind:
                net.bind(socket, url, self._security)
            else:
                net.connect(socket, url, self._security, server=FEED)
        except zmq.ZMQError as exc:
            socket.close()
            msg = f"order gateway cannot {'bind' if bind else 'connect'} {url}: {exc}"
            raise GatewayError(msg) from exc
        except BaseException:  # keys missing or unreadable: ConfigError says which
            socket.close()
            raise
        self._sockets.append(socket)
        return socket

    def ask_to_stop(self, then: Callable[[], object]) -> None:
        """Wake the gateway's thread with a stop, from another thread; call ``then`` (a
        join) before closing the socket that asked, which could drop the stop with it."""
        stopper = self._context.socket(zmq.PAIR)
        stopper.setsockopt(zmq.LINGER, 0)
        stopper.connect(self._stop_url)
        # Never blocking: a thread that ended by itself (on a failure) closed the other
        # end, and a blocking send to a closed PAIR would wait forever.
        with contextlib.suppress(zmq.Again):
            stopper.send(b"stop", zmq.NOBLOCK)
        then()
        stopper.close()

    def close(self) -> None:
        """Close every socket; idempotent."""
        for socket in self._sockets:
            socket.close()


def _check_registration(orders: str, recovery: str | None, security: Security) -> None:
    """A keyed ``orders`` takes commands only from the robots' owners, who register on a
    keyed ``recovery``: without one, every keyed host's orders would be refused."""
    if not speaks_curve(orders, security):
        return
    if recovery is None or not speaks_curve(recovery, security):
        msg = (
            f"the order gateway's orders endpoint {orders} takes keyed hosts, which register "
            "their robots on the recovery endpoint: give it a tcp:// recovery endpoint "
            f"(--recovery, endpoints.recovery), not {recovery}"
        )
        raise ConfigError(msg)
