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

Past the house's ~400 lines on purpose: what stands alone is apart (sockets
in :mod:`.endpoints`, input checks in :mod:`.incoming` and :mod:`.recovery`,
store writes in :mod:`.recording`, the outage's retries in :mod:`.outage`,
recovery answers in :mod:`.recovery_server`).
What is left is the thread's loop and the handlers that share its lists of
reports to publish, the batch in progress and the outage's state.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final, cast

import orjson
import zmq

from gateways.drops import Drops, should_log
from gateways.endpoints import GatewaySockets
from gateways.exchange import ExchangeAdapter
from gateways.incoming import read_command, read_market
from gateways.outage import MAX_DELAY_S, Ready, StoreOutage
from gateways.owner_checks import CommandGate, TradesSubscriptions
from gateways.owners import Owners
from gateways.recording import Held, Recorder, Refusal, Rewritten, rewrite
from gateways.recovery import settle_refused, store_lost
from gateways.recovery_jobs import LOST, SETTLE
from gateways.recovery_limits import RecoveryLimits
from gateways.recovery_server import RecoveryServer
from gateways.store.base import OrderStore, Report, ReportRecord, TradeClashError
from yard_actors.errors import DecodeError, GatewayError, StoreError, TransitionError
from yard_actors.net import LOCAL_ONLY, Security
from yard_actors.wire.codec import encode
from yard_actors.wire.events import CancelOrder, CancelReply, NewOrder, OrderRejected, SystemStatus
from yard_actors.wire.frames import receive, send
from yard_actors.wire.names import (
    SEQS_TOPIC,
    STORE_UNAVAILABLE,
    SYSTEM_TOPIC,
)

__all__ = ["COMPONENT", "OrderGateway"]

logger = logging.getLogger(__name__)

COMPONENT: Final = "order-gateway"
"""``SystemStatus.component`` of the gateway's own status messages."""

_BATCH = 500
_RESOLVES = 4  # resolves' writes (each up to 1,000 orders) taken between two looks at orders
_EVENTS: Final = int(zmq.EVENTS)  # plain ints: pyzmq converts its enums on every call
_POLLIN: Final = int(zmq.POLLIN)
_DETAIL: Final = 300  # characters of an error quoted in a status or a reason


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
    binding ``tcp://`` without keys raises ConfigError.
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
    ) -> None:
        self._exchange = exchange
        self._own_context = context is None
        self._context = context if context is not None else zmq.Context()
        self._heartbeat_ms = heartbeat_ms
        self._reopen = reopen_store
        self._retry_max_s = store_retry_max_s
        self.stats: Counter[str] = Counter()
        self._drops = Drops("order gateway", self.stats)
        repair = getattr(store, "repair", None)
        if repair is not None:  # complete fills a crash left half-written (MongoDB)
            repair()
        self._last_seqs = dict(store.last_seqs())
        self._owners = Owners(store.robot_owners())  # which key may act for which robot
        self._recorder = Recorder(store, working=len(store.open_orders()), stats=self.stats)
        self._market_ts = 0
        self._outgoing: list[ReportRecord] = []  # written to the store, not yet published
        self._unnumbered: list[Report] = []  # refusals the store could not take
        self._batch_ops: list[Held] = []  # written in the batch in progress
        self._outage: StoreOutage | None = None  # while the store is down: what it holds
        self._failure: BaseException | None = None
        self._sockets = GatewaySockets(
            self._context,
            orders=orders,
            trades=trades,
            recovery=recovery,
            data=data,
            symbols=symbols,
            security=security,
        )
        self._trades = self._sockets.trades
        keyed = self._sockets.keyed
        gate = CommandGate(self._owners, self._drops)
        self._read_command = gate.read if keyed.orders else receive
        self._subscriptions = (
            TradesSubscriptions(self._owners, self._drops) if keyed.trades else None
        )
        self.endpoints = self._sockets.endpoints
        self._limits = recovery_limits or RecoveryLimits()
        try:
            self._restore(store)
        except BaseException:
            self._sockets.close()
            raise
        self._recovery: RecoveryServer | None = None
        if self._sockets.recovery is not None:
            self._recovery = RecoveryServer(
                self._context,
                self._sockets.recovery,
                store=lambda: self._recorder.store,
                store_down=lambda: self._outage is not None,
                stats=self.stats,
                limits=self._limits,
                owners=self._owners,
            )
            self._recovery.start()
        self._thread = threading.Thread(target=self._run, name="yard-order-gateway", daemon=True)
        self._thread.start()

    def _restore(self, store: OrderStore) -> None:
        # ExchangeAdapter.restore is new: an adapter written before it has none.
        restore = getattr(self._exchange, "restore", None)
        if restore is None:
            return
        with store.batch():
            self._publish_all(restore(store))
        self._batch_ops.clear()
        self._send_written()

    @property
    def store(self) -> OrderStore:
        """The store in use: the one given, or the last one ``reopen_store`` opened."""
        return self._recorder.store

    @property
    def failure(self) -> BaseException | None:
        """What ended the gateway's thread, if an unexpected error did; None otherwise."""
        return self._failure

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the gateway's thread has ended (or ``timeout`` s); True if it has."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def health(self) -> dict[str, int]:
        """The counters, the orders working, whether the store is down and the recovery
        endpoint's peers and requests waiting; from any thread."""
        counts = dict.fromkeys(("commands", "reports", "store_retries"), 0)
        counts.update(dict(self.stats))  # dict() of a Counter is one step under the GIL
        outage = self._outage
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
        if self._own_context:
            self._context.term()

    # --- the gateway's thread --------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._serve()
        except BaseException as exc:
            self._failure = exc
            logger.exception("order gateway stopped on an unexpected error")
        finally:
            if self._recovery is not None and not self._recovery.stop():
                logger.error("order gateway: its recovery thread did not stop (a store read hangs)")
            if self._outage is not None:
                self._outage.close()
                if self._outage.held:
                    logger.error(
                        "order gateway stopped with its order store down: %d writes it held "
                        "(reports of the exchange among them) were never stored or published",
                        len(self._outage.held),
                    )
            self._sockets.close()

    def _serve(self) -> None:
        sockets = self._sockets
        orders, data, stop_in = sockets.orders, sockets.data, sockets.stop_in
        recovery = None if self._recovery is None else self._recovery.inbox
        subscriptions = None if self._subscriptions is None else self._trades  # keyed: XPUB
        poller = zmq.Poller()
        for socket in (orders, data, recovery, subscriptions, stop_in):
            if socket is not None:
                poller.register(socket, zmq.POLLIN)
        beat = self._heartbeat_ms / 1000
        next_beat = time.monotonic() + beat
        while True:
            wait_ms = max(0, int((next_beat - time.monotonic()) * 1000))
            ready = dict(poller.poll(wait_ms))
            if stop_in in ready:
                return
            if data is not None and data in ready:
                self._in_batch(self._take, data, self._on_market)
            if orders in ready:
                self._in_batch(self._take, orders, self._on_command, _BATCH, self._read_command)
            if subscriptions is not None and subscriptions in ready:
                cast(TradesSubscriptions, self._subscriptions).take(subscriptions)
            if recovery is not None and recovery in ready:
                self._in_batch(self._take, recovery, self._on_recovery, _RESOLVES)
            reports = self._exchange.poll(self._market_ts)
            if reports:
                self._in_batch(self._publish_all, reports)
            if self._outage is not None and self._outage.ready is not None:
                self._recover()
            if time.monotonic() >= next_beat:  # the gateway's own pacing, not robot time
                self._heartbeat()
                next_beat = time.monotonic() + beat

    def _in_batch(self, work: Callable[..., None], *args: Any) -> None:
        """Do ``work`` in one store transaction, then publish what it wrote.

        Nothing is published before the transaction that wrote it commits, so a
        robot never sees a report the store could lose. The store begins the
        transaction at its first write: work that wrote nothing commits nothing.
        A store failure ends the work where it was and begins (or continues) an
        outage; the store is not asked while one lasts.
        """
        if self._outage is not None:
            work(*args)
        else:
            try:
                with self._recorder.store.batch():
                    work(*args)
            except TransitionError:
                raise  # refused writes are caught where they happen: this one is a bug
            except StoreError as exc:
                self._store_failed(exc)
            else:
                self._batch_ops.clear()
        self._send_written()

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

    def _send_written(self) -> None:
        outgoing, self._outgoing = self._outgoing, []
        for record in outgoing:
            self._last_seqs[record.robot] = record.seq
            send(self._trades, record.robot.encode(), record.payload or encode(record.report))
        self.stats["reports"] += len(outgoing)
        if self._unnumbered:
            self._send_unnumbered()

    def _send_unnumbered(self) -> None:
        unnumbered, self._unnumbered = self._unnumbered, []
        for report in unnumbered:
            send(self._trades, report.robot.encode(), encode(report))

    # --- market data and commands ------------------------------------------------------------

    def _on_market(self, frames: list[bytes]) -> None:
        try:
            event = read_market(frames)
        except DecodeError as exc:
            self._drops.drop("market", exc.reason, str(exc))
            return
        self._market_ts = max(self._market_ts, event.ts)
        try:
            reports = self._exchange.on_market(event)
        except Exception as exc:
            self._adapter_failed("on_market", repr(event), exc)
            return
        self._publish_all(reports)

    def _on_command(self, frames: list[bytes]) -> None:
        try:
            command = read_command(frames)
        except DecodeError as exc:
            self._drops.drop("command", exc.reason, str(exc))
            return
        self.stats["commands"] += 1
        if isinstance(command, NewOrder):
            self._on_new_order(command)
        else:
            self._on_cancel(command)

    def _on_new_order(self, order: NewOrder) -> None:
        if self._outage is not None:
            self._refuse(order, maybe_recorded=False)
            return
        try:
            added = self._recorder.add_order(order)
        except StoreError:
            self._refuse(order, maybe_recorded=True)
            raise
        if not added:
            self.stats["duplicate_orders"] += 1
            count = self.stats["duplicate_orders"]
            if should_log(count):  # a retry is no fault, but a flood of them must not flood
                logger.info(
                    "order gateway ignored a repeated order %s (%d so far)",
                    *(order.client_order_id, count),
                )
            return
        self._batch_ops.append(order)
        try:
            reports = self._exchange.submit(order)
        except Exception as exc:
            self._adapter_failed("submit", order.client_order_id, exc)
            reason = f"the exchange adapter failed on this order: {_described(exc)}"
            reports = [_rejected(order, reason)]
        self._publish_all(reports)

    def _on_cancel(self, cancel: CancelOrder) -> None:
        try:
            reports = self._exchange.cancel(cancel)
        except Exception as exc:
            self._adapter_failed("cancel", cancel.client_order_id, exc)
            reason = f"the exchange adapter failed on this cancel: {_described(exc)}"
            reports = [
                CancelReply(
                    ts=cancel.ts,
                    client_order_id=cancel.client_order_id,
                    robot=cancel.robot,
                    cancelled=False,
                    reason=reason,
                )
            ]
        self._publish_all(reports)

    def _adapter_failed(self, call: str, what: str, exc: Exception) -> None:
        self.stats["adapter_errors"] += 1
        count = self.stats["adapter_errors"]
        if should_log(count):
            logger.error(
                "order gateway: the exchange adapter's %s failed on %s (%d so far)",
                *(call, what, count),
                exc_info=exc,
            )

    def _publish_all(self, reports: Sequence[Report]) -> None:
        if self._outage is not None:
            self._outage.hold(reports)
            return
        self._batch_ops.extend(reports)
        for report in reports:
            try:
                stored = self._recorder.record(report)
            except (TransitionError, TradeClashError) as exc:
                self.stats["store_refused"] += 1
                if should_log(self.stats["store_refused"]):
                    logger.error("order gateway: the store refused %r: %s", report, exc)
                continue
            if stored is not None:
                self._outgoing.append(stored)

    # --- what a resolve writes (from the recovery thread) -------------------------------------

    def _on_recovery(self, frames: list[bytes]) -> None:
        """Store what a resolve found missing: orders lost in transit, refusals never heard of.

        The recovery thread read the store and sends only what must be written
        (:mod:`.recovery_jobs`); written here, by the store's one writer, in one batch
        with everything else, and published on ``trades`` after it.
        """
        kind, robot = frames[0], frames[1].decode()
        if self._outage is not None:
            detail = f"a resolve's writes for robot {robot}: the order store is down; ask again"
            self._drops.drop("resolve", "store_down", detail)
        elif kind == LOST:
            # the gateway's clock: market time once it has one
            ts = self._market_ts or time.time_ns()
            lost = store_lost(self._recorder.store, robot, (f.decode() for f in frames[2:]), ts)
            self._outgoing.extend(lost)
            self.stats["lost_in_transit"] += len(lost)
        elif kind == SETTLE:
            coids = [frame.decode() for frame in frames[3:]]
            page = self._limits.page_reports
            settled = settle_refused(self._recorder.store, robot, int(frames[2]), coids, page)
            self._outgoing.extend(settled)
            self.stats["refusals_settled"] += len(settled)

    def _heartbeat(self) -> None:
        if self._recovery is not None and self._recovery.failure is not None:
            failure = self._recovery.failure
            msg = f"the recovery thread stopped on an unexpected error: {_described(failure)}"
            raise GatewayError(msg) from failure
        if self._subscriptions is not None:  # keyed: each key hears its own robots' seqs
            for topic, seqs in self._owners.heartbeats(self._last_seqs):
                send(self._trades, topic, orjson.dumps(seqs))
        elif self._last_seqs:
            send(self._trades, SEQS_TOPIC.encode(), orjson.dumps(self._last_seqs))

    # --- store outages -----------------------------------------------------------------------

    def _refuse(self, order: NewOrder, *, maybe_recorded: bool) -> None:
        """Tell the robot its order is refused, the store being down; remember to store that."""
        outage = self._outage
        if outage is not None and order.client_order_id in outage.held_ids:
            self.stats["duplicate_orders"] += 1  # a repeat of an order held: as the store would
            return
        refusal = Refusal(order=order, reason=STORE_UNAVAILABLE, maybe_recorded=maybe_recorded)
        if outage is None:
            self._batch_ops.append(refusal)  # held by _store_failed, which comes next
        else:
            outage.hold([refusal])
            outage.refused += 1
        self._unnumbered.append(_rejected(order, STORE_UNAVAILABLE))
        self.stats["refused_store_down"] += 1

    def _store_failed(self, error: StoreError) -> None:
        """The batch in progress failed: begin the outage, holding what the batch wrote."""
        self._outgoing.clear()  # never committed (MongoDB: perhaps written; redo finds those)
        batch, self._batch_ops = self._batch_ops, []
        self.stats["store_outages"] += 1
        self._outage = StoreOutage(
            error,
            self._recorder.store,
            reopen=self._reopen,
            rewrite=self._rewrite,
            published=self._last_seqs,
            max_delay_s=self._retry_max_s,
        )
        self._outage.hold(batch)
        detail = f"{STORE_UNAVAILABLE}: new orders are refused; {error}"
        self._announce("degraded", detail[:_DETAIL])

    def _rewrite(
        self, store: OrderStore, held: Sequence[Held], published: Mapping[str, int]
    ) -> Rewritten:
        return rewrite(store, held, published, self.stats)

    def _recover(self) -> None:
        """Publish what a try wrote, write what came since, end the outage."""
        outage = cast(StoreOutage, self._outage)
        ready = cast(Ready, outage.ready)
        store, rest = outage.swap(self._recorder.store)
        self._recorder.store = store
        self._take_up(ready.rewritten)
        if rest:
            try:
                self._take_up(rewrite(store, rest, dict(self._last_seqs), self.stats))
            except TransitionError:
                raise  # refused writes are caught in rewrite: this one is a bug
            except StoreError as exc:
                outage.retry(exc, rest, self._last_seqs)
                return
        self._outage = None
        outage.end(len(rest))
        self.stats["store_retries"] += outage.attempts
        self._announce("ok", "order store available again")

    def _take_up(self, rewritten: Rewritten) -> None:
        """Publish what an outage's writes stored; take the store's counts."""
        self._outgoing.extend(rewritten.records)
        self._send_written()
        for robot, seq in rewritten.last_seqs.items():  # what hosts lack they will ask for
            self._last_seqs[robot] = max(seq, self._last_seqs.get(robot, 0))
        self._recorder.working = rewritten.working

    def _announce(self, status: str, detail: str) -> None:
        # Market time, as a resolve's: robots take an event's ts as their clock, and the
        # wall clock would move theirs ahead of the market's (past every risk window).
        ts = self._market_ts or time.time_ns()
        event = SystemStatus(ts=ts, component=COMPONENT, status=status, detail=detail)
        send(self._trades, SYSTEM_TOPIC.encode(), encode(event))


def _rejected(order: NewOrder, reason: str) -> OrderRejected:
    return OrderRejected(
        ts=order.ts, client_order_id=order.client_order_id, robot=order.robot, reason=reason
    )


def _described(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:_DETAIL]
