"""The order gateway: commands in from hosts, the store as the record, reports out to robots.

One gateway serves many hosts. For every command it receives (orders
endpoint, ZeroMQ PULL, ``[robot, NewOrder|CancelOrder]``) it first writes the
store, then asks the exchange adapter; every report the adapter returns is
written to the store under the robot's next report ``seq`` and only then
published (trades endpoint, PUB, topic = robot name). So whatever a robot has
seen is in the store, and whatever is in the store a robot can get again:

* on its recovery endpoint (ROUTER) the gateway answers ``[b"replay", robot,
  after_seq]`` with the robot's reports after ``after_seq``, a page per
  message, and settles ``[b"resolve", robot, client_order_id...]`` (orders a
  host heard nothing of): an id it never received is stored and published on
  ``trades`` as an ``OrderRejected`` lost in transit, a known one gets its
  reports again, to the asker. Its own thread answers (:mod:`.recovery_server`),
  paged, bounded per peer, dropping a peer that does not read; what a resolve
  writes it hands to the gateway's thread;
* every ``heartbeat_ms`` it publishes ``$seqs``: each robot's last report seq,
  so a host notices a report it missed (a restart, a slow subscription, a
  dropped message) and asks for it.

A repeated ``client_order_id`` (a retry, a replay after a crash) never makes a
second order: the store refuses it and the gateway drops the command.

What goes wrong, and what the gateway does (it keeps serving in every case but the last):

* **A keyed peer acting for a robot its key does not own** (:mod:`.owners`): a
  command, a recovery request or a trades subscription is refused, counted
  (``dropped_command_not_owner``, ``dropped_recovery_not_owner``,
  ``dropped_subscription_not_owner``) and logged rate-limited (:mod:`.owner_checks`);
  nothing is stored or sent. Hosts register their robots on ``recovery``
  (:mod:`.registration`); peers without keys are not told apart, nor checked.
* **Bad input** (:mod:`.incoming`, :mod:`.recovery`): counted as
  ``dropped_<source>_<reason>`` in :attr:`stats`, logged rate-limited
  (:mod:`.drops`); a repeated order too (``duplicate_orders``).
* **The adapter raises on a command**: the order is rejected (the cancel
  refused) with the error as the reason; on a market event, the event is
  dropped; either way counted as ``adapter_errors``.
* **The store fails** (:class:`StoreError`; :mod:`.outage`): new orders are
  refused at once, unnumbered and unstored (``OrderRejected(reason="order
  store unavailable")``), never reaching the exchange; cancels and market
  data still do. What must be written (the batch the failure undid, the
  exchange's reports since) is held in order, written when the store answers
  again (:mod:`.recording`), then published: late, exactly once. A
  ``SystemStatus`` on ``trades`` (topic ``$system``) tells the outage's start and end.
* **Anything else** (a socket error, the adapter's ``poll`` raising, the
  recovery thread failing): the thread ends; :attr:`~OrderGateway.failure`
  holds the error, :meth:`~OrderGateway.wait` returns.

Everything but recovery runs on the gateway's one thread, which owns the
sockets, the store writes and the exchange adapter; :meth:`OrderGateway.stop`
ends it, and it ends the recovery thread before closing the sockets.

The thread's loop is :mod:`.gateway_loop`, its handlers :mod:`.order_path`, what
it sends on ``trades`` :mod:`.outbox`; this module builds the gateway and is
what its caller holds. Its other parts: sockets in
:mod:`.endpoints`, input checks in :mod:`.incoming` and :mod:`.recovery`, store
writes in :mod:`.recording`, the outage's retries in :mod:`.outage`, recovery
answers in :mod:`.recovery_server`, market time (a pacer's releases) in :mod:`.paced`.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterable

import zmq

from gateways.drops import Drops
from gateways.endpoints import GatewaySockets
from gateways.exchange import ExchangeAdapter
from gateways.gateway_loop import COMPONENT, GatewayLoop
from gateways.outage import MAX_DELAY_S
from gateways.owner_checks import CommandGate, TradesSubscriptions
from gateways.owners import Owners
from gateways.paced import PacedInput, Pacer
from gateways.recording import Recorder
from gateways.recovery_limits import RecoveryLimits
from gateways.recovery_server import RecoveryServer
from gateways.store.base import OrderStore
from yard_actors.errors import ConfigError
from yard_actors.net import LOCAL_ONLY, Security
from yard_actors.wire.frames import receive
from yard_actors.wire.names import SESSION_TOPIC

__all__ = ["COMPONENT", "OrderGateway"]

logger = logging.getLogger(__name__)


class OrderGateway:
    """Binds ``orders`` (PULL), ``trades`` (PUB) and ``recovery`` (ROUTER); connects ``data``.

    ``data`` (a feed's PUB) feeds the exchange adapter with market data and
    session status; leave it None for an adapter with its own market view.
    ``reopen_store`` opens the store anew: after an outage the gateway tries a
    fresh one (closing the one that failed) instead of the same one again, for
    a store that cannot recover by itself. The store in use is :attr:`store`;
    the caller closes it after :meth:`stop`. The constructor repairs the store,
    has the adapter take up its open orders (``restore``) and raises
    StoreError if the store cannot be read. ``recovery_limits`` bounds what the
    recovery endpoint holds and sends for its peers (:class:`RecoveryLimits`).
    ``security``: its keys and message size limit (:class:`~yard_actors.net.Security`);
    binding ``tcp://`` without keys raises ConfigError. ``paced``: market time
    (:mod:`.paced`): the commands it takes wait until its :meth:`pacer` releases them,
    and the reports until a release publishes them. :attr:`data_topics`: what its data
    socket subscribes to (prefixes, as ZeroMQ's), for a pacer to know what reaches it.
    """

    def __init__(
        self,
        *,
        store: OrderStore,
        exchange: ExchangeAdapter,
        orders: str,
        trades: str,
        recovery: str | None = None,
        data: str | None = None,
        symbols: Iterable[str] = (),
        context: zmq.Context[zmq.Socket[bytes]] | None = None,
        heartbeat_ms: int = 500,
        reopen_store: Callable[[], OrderStore] | None = None,
        store_retry_max_s: float = MAX_DELAY_S,
        recovery_limits: RecoveryLimits | None = None,
        security: Security = LOCAL_ONLY,
        paced: bool = False,
    ) -> None:
        symbols = tuple(symbols)
        # what the data socket subscribes to (endpoints.py), for a pacer to count on
        self.data_topics = () if data is None else (SESSION_TOPIC, *symbols)
        self._own_context = context is None
        self._context = context if context is not None else zmq.Context()
        self.stats: Counter[str] = Counter()
        drops = Drops("order gateway", self.stats)
        repair = getattr(store, "repair", None)
        if repair is not None:  # complete fills a crash left half-written (MongoDB)
            repair()
        last_seqs = dict(store.last_seqs())
        owners = Owners(store.robot_owners())  # which key may act for which robot
        self._recorder = Recorder(
            store, working=len(store.open_orders()), stats=self.stats, log=logger
        )
        self._sockets = GatewaySockets(
            self._context,
            orders=orders,
            trades=trades,
            recovery=recovery,
            data=data,
            symbols=symbols,
            security=security,
        )
        keyed = self._sockets.keyed
        gate = CommandGate(owners, drops)
        self.endpoints = self._sockets.endpoints
        limits = recovery_limits or RecoveryLimits()
        self._paced = PacedInput(drops, self.stats) if paced else None
        self._pace_url = f"inproc://yard-gateway-pace-{id(self)}"
        pace = None
        if paced:
            pace = self._context.socket(zmq.PAIR)
            pace.setsockopt(zmq.LINGER, 0)
            pace.bind(self._pace_url)
        self._loop = GatewayLoop(
            exchange=exchange,
            sockets=self._sockets,
            recorder=self._recorder,
            owners=owners,
            last_seqs=last_seqs,
            stats=self.stats,
            drops=drops,
            read_command=gate.read if keyed.orders else receive,
            subscriptions=TradesSubscriptions(owners, drops) if keyed.trades else None,
            limits=limits,
            heartbeat_ms=heartbeat_ms,
            reopen_store=reopen_store,
            store_retry_max_s=store_retry_max_s,
            paced=self._paced,
            pace=pace,
        )
        try:
            self._loop.restore(store)
        except BaseException:
            self._sockets.close()
            if pace is not None:
                pace.close()
            raise
        self._recovery: RecoveryServer | None = None
        if self._sockets.recovery is not None:
            self._recovery = RecoveryServer(
                self._context,
                self._sockets.recovery,
                store=lambda: self._recorder.store,
                store_down=lambda: self._loop.outage is not None,
                stats=self.stats,
                limits=limits,
                owners=owners,
            )
            self._recovery.start()
        self._thread = threading.Thread(
            target=self._loop.run, args=(self._recovery,), name="yard-order-gateway", daemon=True
        )
        self._thread.start()

    @property
    def store(self) -> OrderStore:
        """The store in use: the one given, or the last one ``reopen_store`` opened."""
        return self._recorder.store

    @property
    def failure(self) -> BaseException | None:
        """What ended the gateway's thread, if an unexpected error did; None otherwise."""
        return self._loop.failure

    @property
    def paced(self) -> PacedInput | None:
        """Market time: what the gateway holds and its counts (read-only; any thread)."""
        return self._paced

    @property
    def reports_published(self) -> int:
        """Reports sent on ``trades`` so far (any thread; one update old at most)."""
        return self._loop.published

    @property
    def pending_reports(self) -> int:
        """Reports a paced gateway holds for its pacer's release (any thread)."""
        return self._loop.pending_reports

    @property
    def last_seqs(self) -> dict[str, int]:
        """Each robot's last report seq published (a copy; any thread, one update old)."""
        return self._loop.last_seqs

    def pacer(self) -> Pacer:
        """A paced gateway's pacer, for one thread; close it when done. ConfigError if not paced."""
        if self._paced is None:
            msg = "this order gateway is not paced: build it with paced=True to release by a pacer"
            raise ConfigError(msg)
        return Pacer(self._context, self._pace_url)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the gateway's thread has ended (or ``timeout`` s); True if it has."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def health(self) -> dict[str, int]:
        """The counters, the orders working, whether the store is down and the recovery
        endpoint's peers and requests waiting; from any thread."""
        counts = dict.fromkeys(("commands", "reports", "store_retries"), 0)
        counts.update(dict(self.stats))  # dict() of a Counter is one step under the GIL
        outage = self._loop.outage
        if outage is not None:
            counts["store_retries"] += outage.attempts
        counts["store_down"] = int(outage is not None)
        counts["held"] = 0 if outage is None else len(outage.held)
        counts["working_orders"] = self._recorder.working
        if self._recovery is not None:
            counts.update(self._recovery.gauges())
        return counts

    def stop(self, timeout: float = 5.0) -> None:
        """Finish the command being handled, close every socket; idempotent."""
        if self._thread.is_alive():
            self._sockets.ask_to_stop(lambda: self._thread.join(timeout))
            if self._thread.is_alive():
                logger.error("order gateway: its thread did not end within %.1f s of stop", timeout)
        if self._own_context:
            self._context.term()
