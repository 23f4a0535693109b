"""The order gateway's thread: its loop over the sockets, reading each in turn.

Apart from :mod:`.order_gateway`, which builds the gateway (store, sockets,
recovery thread) and is what its caller holds (health, stop, wait): this module
is the work of the one thread that owns the sockets, the store writes and the
exchange adapter. :class:`GatewayLoop` decides when to read what (a batch of
each ready socket at a time; in market time, what the pacer releases), beats
the heartbeat and ends the recovery thread as it ends. What a message does is
:mod:`.order_path`'s (the store first, then the exchange, in batches, through
store outages); what goes out on ``trades``, and when, :mod:`.outbox`'s. Input
checks are in :mod:`.incoming` and :mod:`.recovery`, store writes in
:mod:`.recording`, the outage's retries in :mod:`.outage`. The rules it follows
are in :mod:`.order_gateway`'s docstring.

Per message, the loop reads the frames (:meth:`GatewayLoop._take`) and calls
the order path's handler; a batch of up to 500 shares one store transaction
and one send of what it wrote.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any, Final, cast

import zmq

from gateways.drops import Drops
from gateways.endpoints import GatewaySockets
from gateways.exchange import ExchangeAdapter
from gateways.exchange_calls import described
from gateways.order_path import OrderPath
from gateways.outage import StoreOutage
from gateways.outbox import COMPONENT, Outbox
from gateways.owner_checks import TradesSubscriptions
from gateways.owners import Owners
from gateways.paced import FLUSH, PacedInput
from gateways.recording import Recorder
from gateways.recovery_limits import RecoveryLimits
from gateways.recovery_server import RecoveryServer
from gateways.store.base import OrderStore
from yard_actors.errors import GatewayError
from yard_actors.wire.frames import receive

__all__ = ["COMPONENT", "GatewayLoop"]  # COMPONENT is outbox.py's, imported from here too

# The gateway's own name, not this module's: its log lines keep the logger that
# operators (and tests) filter on from before the thread's work moved here.
logger = logging.getLogger("gateways.order_gateway")

_BATCH = 500
_RESOLVES = 4  # resolves' writes (each up to 1,000 orders) taken between two looks at orders
_EVENTS: Final = int(zmq.EVENTS)  # plain ints: pyzmq converts its enums on every call
_POLLIN: Final = int(zmq.POLLIN)
# How long the gateway's thread, ending, waits for the recovery thread: well inside
# OrderGateway.stop's own wait, so a stop that returns finds both threads ended.
RECOVERY_STOP_S: Final = 2.0


class GatewayLoop:
    """The order gateway thread's work; every method but :meth:`restore` runs on that thread.

    :meth:`restore` runs on the constructing thread before the gateway's thread
    starts; :meth:`run` is that thread's target. :attr:`outage` (None while the
    store answers), :attr:`failure`, :attr:`published`, :attr:`pending_reports` and
    :attr:`last_seqs` may be read from any thread.
    """

    def __init__(
        self,
        *,
        exchange: ExchangeAdapter,
        sockets: GatewaySockets,
        recorder: Recorder,
        owners: Owners,
        last_seqs: dict[str, int],
        stats: Counter[str],
        drops: Drops,
        read_command: Callable[[zmq.Socket[bytes]], list[bytes] | None],
        subscriptions: TradesSubscriptions | None,
        limits: RecoveryLimits,
        heartbeat_ms: int,
        reopen_store: Callable[[], OrderStore] | None,
        store_retry_max_s: float,
        paced: PacedInput | None = None,
        pace: zmq.Socket[bytes] | None = None,
    ) -> None:
        self._exchange = exchange
        self._sockets = sockets
        self._last_seqs = last_seqs
        self._read_command = read_command
        self._subscriptions = subscriptions
        self._heartbeat_ms = heartbeat_ms
        self._recovery: RecoveryServer | None = None  # given to run()
        self._outbox = Outbox(
            sockets.trades,
            last_seqs=last_seqs,
            stats=stats,
            owners=owners,
            keyed=subscriptions is not None,
            holding=paced is not None,  # market time: reports wait for a release
        )
        self._path = OrderPath(
            exchange=exchange,
            recorder=recorder,
            outbox=self._outbox,
            last_seqs=last_seqs,
            stats=stats,
            drops=drops,
            limits=limits,
            reopen_store=reopen_store,
            store_retry_max_s=store_retry_max_s,
            paced=paced,
        )
        self.failure: BaseException | None = None  # what ended the thread, if unexpected
        self.paced = paced  # market time: what is taken waits for the pacer (paced.py)
        self._pace = pace  # where the pacer's releases come, with ``paced``

    @property
    def outage(self) -> StoreOutage | None:
        """While the store is down: what the gateway holds for it; None otherwise; any thread."""
        return self._path.outage

    @property
    def published(self) -> int:
        """Reports sent on trades, for a pacer to see that some were; any thread."""
        return self._outbox.published

    @property
    def pending_reports(self) -> int:
        """Reports held for the pacer's release (market time); any thread."""
        return self._outbox.pending

    @property
    def last_seqs(self) -> dict[str, int]:
        """Each robot's last report seq published: a copy, taken in one step under the GIL."""
        return dict(self._last_seqs)

    def restore(self, store: OrderStore) -> None:
        """Have the adapter take up the store's open orders; publish what it answers."""
        self._path.restore(store)

    # --- the gateway's thread --------------------------------------------------------------

    def run(self, recovery: RecoveryServer | None) -> None:
        """Serve until asked to stop or an unexpected error; the thread's target.

        ``recovery``: the recovery thread, already started, that this one ends as it ends.
        """
        self._recovery = recovery
        try:
            self._serve()
        except BaseException as exc:
            self.failure = exc
            logger.exception("order gateway stopped on an unexpected error")
        finally:
            if self._recovery is not None and not self._recovery.stop(RECOVERY_STOP_S):
                logger.error("order gateway: its recovery thread did not stop (a store read hangs)")
            self._path.close()
            self._sockets.close()
            if self._pace is not None:
                self._pace.close()

    def _serve(self) -> None:
        sockets = self._sockets
        orders, data, stop_in = sockets.orders, sockets.data, sockets.stop_in
        recovery = None if self._recovery is None else self._recovery.inbox
        subscriptions = None if self._subscriptions is None else sockets.trades  # keyed: XPUB
        poller = zmq.Poller()
        paced, path, poll_exchange = self.paced, self._path, self._exchange.poll
        for socket in (orders, data, recovery, subscriptions, stop_in, self._pace):
            if socket is not None:
                poller.register(socket, zmq.POLLIN)
        beat = self._heartbeat_ms / 1000
        next_beat = time.monotonic() + beat
        while True:
            wait_ms = max(0, int((next_beat - time.monotonic()) * 1000))
            ready = dict(poller.poll(wait_ms))
            if stop_in in ready:
                return
            if paced is None:
                self._take_input(ready)
            else:  # market time: held until the pacer releases them
                self._paced_turn(ready, paced)
            if subscriptions is not None and subscriptions in ready:
                cast(TradesSubscriptions, self._subscriptions).take(subscriptions)
                self._outbox.repeat_status()  # a subscriber to $system among them hears it now
            if recovery is not None and recovery in ready:
                path.in_batch(self._take, recovery, path.on_recovery, _RESOLVES)
            reports = poll_exchange(path.market_ts)
            if reports:
                path.in_batch(path.publish_all, reports)
            if path.outage is not None and path.outage.ready is not None:
                path.recover()
            if time.monotonic() >= next_beat:  # the gateway's own pacing, not robot time
                self._heartbeat()
                next_beat = time.monotonic() + beat

    def _take(
        self,
        socket: zmq.Socket[bytes],
        handle: Callable[[list[bytes]], None],
        most: int = _BATCH,
        read: Callable[[zmq.Socket[bytes]], list[bytes] | None] = receive,
    ) -> None:
        for _ in range(most):
            # Asking costs a fifth of the zmq.Again that receiving from an empty
            # socket raises, and that raise came between a fill and its commit.
            if not cast(int, socket.getsockopt(_EVENTS)) & _POLLIN:
                break
            frames = read(socket)  # None: refused by the reader (a command of another's robot)
            if frames is not None:
                handle(frames)

    def _take_input(self, ready: Mapping[Any, int]) -> None:
        data, orders, path = self._sockets.data, self._sockets.orders, self._path
        if data is not None and data in ready:
            path.in_batch(self._take, data, path.on_market)
        if orders in ready:
            path.in_batch(self._take, orders, path.on_command, _BATCH, self._read_command)

    # --- market time (paced.py): held, then applied when the pacer releases them ------------

    def _paced_turn(self, ready: Mapping[Any, int], paced: PacedInput) -> None:
        data, orders, pace = self._sockets.data, self._sockets.orders, self._pace
        path = self._path
        if data is not None and data in ready:
            path.in_batch(self._take_market, data, paced)
            paced.applied()  # once what it caused is stored
        if orders in ready:
            self._take(orders, paced.take_command, _BATCH, self._read_command)
        if pace is not None and pace in ready:
            self._outbox.holding = False
            try:
                path.in_batch(path.release, pace.recv() == FLUSH)
            finally:
                self._outbox.holding = True
            paced.releases += 1  # after what it applied is published
        paced.notify()

    def _take_market(self, data: zmq.Socket[bytes], paced: PacedInput) -> None:
        """Apply the market data at once: commands wait, and the reports it causes too."""
        self._take(data, paced.take_market)
        self._path.apply_taken_market(paced)

    def _heartbeat(self) -> None:
        if self._recovery is not None and self._recovery.failure is not None:
            failure = self._recovery.failure
            msg = f"the recovery thread stopped on an unexpected error: {described(failure)}"
            raise GatewayError(msg) from failure
        self._outbox.heartbeat()
