"""The order gateway's thread: its loop over the sockets, and the handlers that share its state.

Apart from :mod:`.order_gateway`, which builds the gateway (store, sockets,
recovery thread) and is what its caller holds (health, stop, wait): this module
is the work of the one thread that owns the sockets, the store writes and the
exchange adapter. Its handlers share the lists of reports to publish, the batch
in progress and the store outage's state, so they are one class,
:class:`GatewayLoop`. What stands alone is apart: input checks in
:mod:`.incoming` and :mod:`.recovery`, store writes in :mod:`.recording`, the
outage's retries in :mod:`.outage`. The rules it follows are in
:mod:`.order_gateway`'s docstring.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, cast

import orjson
import zmq

from gateways.drops import Drops, should_log
from gateways.endpoints import GatewaySockets
from gateways.exchange import ExchangeAdapter, MarketUpdate
from gateways.exchange_calls import DETAIL, ExchangeCalls, described
from gateways.incoming import read_command, read_market
from gateways.outage import Ready, StoreOutage
from gateways.owner_checks import TradesSubscriptions
from gateways.owners import Owners
from gateways.paced import FLUSH, PacedInput
from gateways.recording import Held, Recorder, Refusal, Rewritten, rewrite
from gateways.recovery import settle_refused, store_lost
from gateways.recovery_jobs import LOST, SETTLE
from gateways.recovery_limits import RecoveryLimits
from gateways.recovery_server import RecoveryServer
from gateways.store.base import OrderStore, Report, ReportRecord, TradeClashError
from yard_actors.errors import DecodeError, GatewayError, StoreError, TransitionError
from yard_actors.wire.codec import encode
from yard_actors.wire.events import CancelOrder, NewOrder, OrderRejected, SystemStatus
from yard_actors.wire.frames import receive, send
from yard_actors.wire.names import (
    SEQS_TOPIC,
    STORE_UNAVAILABLE,
    SYSTEM_TOPIC,
)

__all__ = ["COMPONENT", "GatewayLoop"]

# The gateway's own name, not this module's: its log lines keep the logger that
# operators (and tests) filter on from before the thread's work moved here.
logger = logging.getLogger("gateways.order_gateway")

COMPONENT: Final = "order-gateway"
"""``SystemStatus.component`` of the gateway's own status messages."""

_BATCH = 500
_RESOLVES = 4  # resolves' writes (each up to 1,000 orders) taken between two looks at orders
_EVENTS: Final = int(zmq.EVENTS)  # plain ints: pyzmq converts its enums on every call
_POLLIN: Final = int(zmq.POLLIN)
_STATUS_EVERY_BEATS: Final = 10  # heartbeats between repeats of the gateway's status (5 s)
# How long the gateway's thread, ending, waits for the recovery thread: well inside
# OrderGateway.stop's own wait, so a stop that returns finds both threads ended.
RECOVERY_STOP_S: Final = 2.0


class GatewayLoop:
    """The order gateway thread's work; every method but :meth:`restore` runs on that thread.

    :meth:`restore` runs on the constructing thread before the gateway's thread
    starts; :meth:`run` is that thread's target. :attr:`outage` (None while the
    store answers) and :attr:`failure` may be read from any thread.
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
        self._trades = sockets.trades
        self._recorder = recorder
        self._owners = owners
        self._last_seqs = last_seqs
        self.stats = stats
        self._calls = ExchangeCalls(exchange, stats=stats, who="order gateway", log=logger)
        self._drops = drops
        self._read_command = read_command
        self._subscriptions = subscriptions
        self._limits = limits
        self._heartbeat_ms = heartbeat_ms
        self._reopen = reopen_store
        self._retry_max_s = store_retry_max_s
        self._recovery: RecoveryServer | None = None  # given to run()
        self._market_ts = 0
        self._outgoing: list[ReportRecord] = []  # written to the store, not yet published
        self._unnumbered: list[Report] = []  # refusals the store could not take
        self._batch_ops: list[Held] = []  # written in the batch in progress
        self.outage: StoreOutage | None = None  # while the store is down: what it holds
        self.failure: BaseException | None = None  # what ended the thread, if unexpected
        self._status: bytes | None = None  # the last SystemStatus announced, repeated
        self._beats = 0
        self.published = 0  # reports sent on trades, for a pacer to see that some were
        self.paced = paced  # market time: what is taken waits for the pacer (paced.py)
        self._pace = pace  # where the pacer's releases come, with ``paced``
        self._holding = paced is not None  # market time: reports wait for a release
        self._unsent: list[ReportRecord] = []  # stored, held for a release

    @property
    def pending_reports(self) -> int:
        """Reports held for the pacer's release (market time); any thread."""
        return len(self._unsent) + len(self._outgoing) + len(self._unnumbered)

    @property
    def last_seqs(self) -> dict[str, int]:
        """Each robot's last report seq published: a copy, taken in one step under the GIL."""
        return dict(self._last_seqs)

    def restore(self, store: OrderStore) -> None:
        """Have the adapter take up the store's open orders; publish what it answers."""
        # ExchangeAdapter.restore is new: an adapter written before it has none.
        restore = getattr(self._exchange, "restore", None)
        if restore is None:
            return
        with store.batch():
            self._publish_all(restore(store))
        self._batch_ops.clear()
        self._send_written()

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
            if self.outage is not None:
                self.outage.close()
                if self.outage.held:
                    logger.error(
                        "order gateway stopped with its order store down: %d writes it held "
                        "(reports of the exchange among them) were never stored or published",
                        len(self.outage.held),
                    )
            self._sockets.close()
            if self._pace is not None:
                self._pace.close()

    def _serve(self) -> None:
        sockets = self._sockets
        orders, data, stop_in = sockets.orders, sockets.data, sockets.stop_in
        recovery = None if self._recovery is None else self._recovery.inbox
        subscriptions = None if self._subscriptions is None else self._trades  # keyed: XPUB
        poller = zmq.Poller()
        paced = self.paced
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
                self._repeat_status()  # a subscriber to $system among them hears it at once
            if recovery is not None and recovery in ready:
                self._in_batch(self._take, recovery, self._on_recovery, _RESOLVES)
            reports = self._exchange.poll(self._market_ts)
            if reports:
                self._in_batch(self._publish_all, reports)
            if self.outage is not None and self.outage.ready is not None:
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
        if self.outage is not None:
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
        if self._holding:  # market time: what the store took waits for the pacer's release
            self._unsent += self._outgoing
            self._outgoing = []
            return
        outgoing, self._outgoing = self._outgoing, []
        if self._unsent:
            outgoing, self._unsent = self._unsent + outgoing, []
        for record in outgoing:
            self._last_seqs[record.robot] = record.seq
            send(self._trades, record.robot.encode(), record.payload or encode(record.report))
        self.stats["reports"] += len(outgoing)
        self.published += len(outgoing)
        if self._unnumbered:
            self._send_unnumbered()

    def _send_unnumbered(self) -> None:
        unnumbered, self._unnumbered = self._unnumbered, []
        for report in unnumbered:
            send(self._trades, report.robot.encode(), encode(report))
        self.published += len(unnumbered)

    # --- market data and commands ------------------------------------------------------------

    def _on_market(self, frames: list[bytes]) -> None:
        try:
            event = read_market(frames)
        except DecodeError as exc:
            self._drops.drop("market", exc.reason, str(exc))
            return
        self._apply_market(event)

    def _apply_market(self, event: MarketUpdate) -> None:
        self._market_ts = max(self._market_ts, event.ts)
        try:
            reports = self._exchange.on_market(event)
        except Exception as exc:
            self._calls.failed("on_market", repr(event), exc)
            return
        self._publish_all(reports)

    def _on_command(self, frames: list[bytes]) -> None:
        try:
            command = read_command(frames)
        except DecodeError as exc:
            self._drops.drop("command", exc.reason, str(exc))
            return
        self.stats["commands"] += 1
        self._handle_command(command)

    def _handle_command(self, command: NewOrder | CancelOrder) -> None:
        if isinstance(command, NewOrder):
            self._on_new_order(command)
        else:
            self._on_cancel(command)

    # --- market time (paced.py): held, then applied when the pacer releases them ------------

    def _take_input(self, ready: Mapping[Any, int]) -> None:
        data, orders = self._sockets.data, self._sockets.orders
        if data is not None and data in ready:
            self._in_batch(self._take, data, self._on_market)
        if orders in ready:
            self._in_batch(self._take, orders, self._on_command, _BATCH, self._read_command)

    def _paced_turn(self, ready: Mapping[Any, int], paced: PacedInput) -> None:
        data, orders, pace = self._sockets.data, self._sockets.orders, self._pace
        if data is not None and data in ready:
            self._in_batch(self._take_market, data, paced)
            paced.applied()  # once what it caused is stored
        if orders in ready:
            self._take(orders, paced.take_command, _BATCH, self._read_command)
        if pace is not None and pace in ready:
            self._holding = False
            try:
                self._in_batch(self._release, pace.recv() == FLUSH)
            finally:
                self._holding = True
            paced.releases += 1  # after what it applied is published
        paced.notify()

    def _take_market(self, data: zmq.Socket[bytes], paced: PacedInput) -> None:
        """Apply the market data at once: commands wait, and the reports it causes too."""
        self._take(data, paced.take_market)
        for event in paced.market_taken_now():
            for command in paced.due(event.ts, before=True):
                self._handle_command(command)
            self._apply_market(event)
            for command in paced.due(event.ts):  # released, waiting for this very ts
                self._handle_command(command)

    def _release(self, flush: bool) -> None:
        """Apply the commands held that the market has reached (all: ``flush``); the batch
        then publishes every report held, theirs and the market data's, in order."""
        paced = cast(PacedInput, self.paced)
        paced.release()
        for command in paced.due(self._market_ts, flush=flush):
            self._handle_command(command)
        self._publish_all(self._exchange.poll(self._market_ts))  # in this batch, not after it

    def _on_new_order(self, order: NewOrder) -> None:
        if self.outage is not None:
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
        reports = self._calls.submit(order)
        self._publish_all(reports)

    def _on_cancel(self, cancel: CancelOrder) -> None:
        self._publish_all(self._calls.cancel(cancel))

    def _publish_all(self, reports: Sequence[Report]) -> None:
        if self.outage is not None:
            self.outage.hold(reports)
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
        if self.outage is not None:
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
            msg = f"the recovery thread stopped on an unexpected error: {described(failure)}"
            raise GatewayError(msg) from failure
        if self._subscriptions is not None:  # keyed: each key hears its own robots' seqs
            for topic, seqs in self._owners.heartbeats(self._last_seqs):
                send(self._trades, topic, orjson.dumps(seqs))
        elif self._last_seqs:
            send(self._trades, SEQS_TOPIC.encode(), orjson.dumps(self._last_seqs))
        self._beats += 1
        if self._beats % _STATUS_EVERY_BEATS == 0:
            self._repeat_status()

    # --- store outages -----------------------------------------------------------------------

    def _refuse(self, order: NewOrder, *, maybe_recorded: bool) -> None:
        """Tell the robot its order is refused, the store being down; remember to store that."""
        outage = self.outage
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
        self.outage = StoreOutage(
            error,
            self._recorder.store,
            reopen=self._reopen,
            rewrite=self._rewrite,
            published=self._last_seqs,
            max_delay_s=self._retry_max_s,
        )
        self.outage.hold(batch)
        detail = f"{STORE_UNAVAILABLE}: new orders are refused; {error}"
        self._announce("degraded", detail[:DETAIL])

    def _rewrite(
        self, store: OrderStore, held: Sequence[Held], published: Mapping[str, int]
    ) -> Rewritten:
        return rewrite(store, held, published, self.stats)

    def _recover(self) -> None:
        """Publish what a try wrote, write what came since, end the outage."""
        outage = cast(StoreOutage, self.outage)
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
        self.outage = None
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
        self._status = encode(event)
        self._repeat_status()

    def _repeat_status(self) -> None:
        """Send the last status announced again, as the same bytes.

        A late joiner learns it; a host that has it drops the repeat (docs/wire.md 4b).
        """
        if self._status is not None:
            send(self._trades, SYSTEM_TOPIC.encode(), self._status)


def _rejected(order: NewOrder, reason: str) -> OrderRejected:
    return OrderRejected(
        ts=order.ts, client_order_id=order.client_order_id, robot=order.robot, reason=reason
    )
