"""The order gateway's order path: what each command, market event and resolve does, in batches.

The gateway's loop (:mod:`.gateway_loop`) reads its sockets and hands each
message to :class:`OrderPath` inside a batch (:meth:`OrderPath.in_batch`): one
store transaction, after whose commit the outbox (:mod:`.outbox`) sends what it
wrote. A new order is stored as pending before the exchange adapter sees it;
every report the adapter returns is written through the one recording path,
:meth:`Recorder.record_all <gateways.recording.Recorder.record_all>`. When the
store fails, the batch's writes and everything after them are held by a
:class:`~gateways.outage.StoreOutage` and new orders are refused until it ends.

Apart from the loop because this is what a message does, whichever socket it
came from and whenever it is applied (at once, or at a pacer's release in market
time); the loop decides when to read what. The handlers share the batch in
progress and the outage, so they are one class. Runs on the gateway's thread
(:meth:`~OrderPath.restore` on the thread that builds the gateway, before it
starts); :attr:`~OrderPath.outage` may be read from any thread.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

from gateways.drops import Drops, should_log
from gateways.exchange import ExchangeAdapter, MarketUpdate
from gateways.exchange_calls import DETAIL, ExchangeCalls
from gateways.incoming import read_market, take_command
from gateways.outage import Ready, StoreOutage
from gateways.outbox import Outbox
from gateways.paced import PacedInput
from gateways.recording import Held, Recorder, Refusal, Rewritten, rewrite
from gateways.recovery import settle_refused, store_lost
from gateways.recovery_jobs import LOST, SETTLE
from gateways.recovery_limits import RecoveryLimits
from gateways.store.base import OrderStore, Report
from yard_actors.errors import DecodeError, StoreError, TransitionError
from yard_actors.wire.events import CancelOrder, NewOrder
from yard_actors.wire.names import STORE_UNAVAILABLE

__all__ = ["OrderPath"]

# The gateway's own name, not this module's: its log lines keep the logger that
# operators (and tests) filter on from before the thread's work moved here.
logger = logging.getLogger("gateways.order_gateway")


class OrderPath:
    """The gateway's handlers over ``recorder``'s store and ``exchange``, through store outages.

    ``outbox`` sends what they store; ``last_seqs`` is the gateway's (shared with
    the outbox). ``paced``: market time, whose releases :meth:`release` applies.
    ``reopen_store`` and ``store_retry_max_s``: how an outage tries the store again.
    """

    def __init__(
        self,
        *,
        exchange: ExchangeAdapter,
        recorder: Recorder,
        outbox: Outbox,
        last_seqs: dict[str, int],
        stats: Counter[str],
        drops: Drops,
        limits: RecoveryLimits,
        reopen_store: Callable[[], OrderStore] | None,
        store_retry_max_s: float,
        paced: PacedInput | None,
    ) -> None:
        self._exchange = exchange
        self._recorder = recorder
        self._outbox = outbox
        self._written = outbox.written  # what the store took: appended here, sent there
        self._last_seqs = last_seqs
        self._stats = stats
        self._calls = ExchangeCalls(exchange, stats=stats, who="order gateway", log=logger)
        self._drops = drops
        self._limits = limits
        self._reopen = reopen_store
        self._retry_max_s = store_retry_max_s
        self._paced = paced
        self.market_ts = 0  # the latest market event's ts: the exchange's clock
        self._batch_ops: list[Held] = []  # written in the batch in progress
        self.outage: StoreOutage | None = None  # while the store is down: what it holds

    def restore(self, store: OrderStore) -> None:
        """Have the adapter take up the store's open orders; publish what it answers."""
        # ExchangeAdapter.restore is new: an adapter written before it has none.
        restore = getattr(self._exchange, "restore", None)
        if restore is None:
            return
        with store.batch():
            self.publish_all(restore(store))
        self._batch_ops.clear()
        self._outbox.send_written()

    def in_batch(self, work: Callable[..., None], *args: Any) -> None:
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
        self._outbox.send_written()

    # --- market data and commands ------------------------------------------------------------

    def on_market(self, frames: list[bytes]) -> None:
        """Apply a market event read off the data socket; drop it if it does not decode."""
        try:
            event = read_market(frames)
        except DecodeError as exc:
            self._drops.drop("market", exc.reason, str(exc))
            return
        self._apply_market(event)

    def on_command(self, frames: list[bytes]) -> None:
        """Apply a command read off the orders socket; drop it if it does not decode."""
        command = take_command(frames, self._drops, self._stats)
        if command is not None:
            self._handle_command(command)

    def publish_all(self, reports: Sequence[Report]) -> None:
        """Store the exchange's ``reports`` for the outbox (an outage holds them)."""
        if self.outage is not None:
            self.outage.hold(reports)
            return
        self._batch_ops.extend(reports)
        self._recorder.record_all(reports, self._written)  # sent once the batch commits

    def _apply_market(self, event: MarketUpdate) -> None:
        self.market_ts = max(self.market_ts, event.ts)
        try:
            reports = self._exchange.on_market(event)
        except Exception as exc:
            self._calls.failed("on_market", repr(event), exc)
            return
        if reports:  # most market data fills nothing: nothing to store or hold
            self.publish_all(reports)

    def _handle_command(self, command: NewOrder | CancelOrder) -> None:
        if isinstance(command, NewOrder):
            self._on_new_order(command)
        else:
            self._on_cancel(command)

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
            self._stats["duplicate_orders"] += 1
            count = self._stats["duplicate_orders"]
            if should_log(count):  # a retry is no fault, but a flood of them must not flood
                logger.info(
                    "order gateway ignored a repeated order %s (%d so far)",
                    *(order.client_order_id, count),
                )
            return
        self._batch_ops.append(order)
        reports = self._calls.submit(order)
        self.publish_all(reports)

    def _on_cancel(self, cancel: CancelOrder) -> None:
        self.publish_all(self._calls.cancel(cancel))

    # --- market time (paced.py): held, then applied when the pacer releases them ------------

    def apply_taken_market(self, paced: PacedInput) -> None:
        """Apply the market data just taken at once: commands wait, and the reports it causes
        too; the released commands due before each event go first, those due at its ts after."""
        for event in paced.market_taken_now():
            for command in paced.due(event.ts, before=True):
                self._handle_command(command)
            self._apply_market(event)
            for command in paced.due(event.ts):  # released, waiting for this very ts
                self._handle_command(command)

    def release(self, flush: bool) -> None:
        """Apply the commands held that the market has reached (all: ``flush``); the batch
        then publishes every report held, theirs and the market data's, in order."""
        paced = cast(PacedInput, self._paced)
        paced.release()
        for command in paced.due(self.market_ts, flush=flush):
            self._handle_command(command)
        self.publish_all(self._exchange.poll(self.market_ts))  # in this batch, not after it

    # --- what a resolve writes (from the recovery thread) -------------------------------------

    def on_recovery(self, frames: list[bytes]) -> None:
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
            ts = self.market_ts or time.time_ns()
            lost = store_lost(self._recorder.store, robot, (f.decode() for f in frames[2:]), ts)
            self._written.extend(lost)
            self._stats["lost_in_transit"] += len(lost)
        elif kind == SETTLE:
            coids = [frame.decode() for frame in frames[3:]]
            page = self._limits.page_reports
            settled = settle_refused(self._recorder.store, robot, int(frames[2]), coids, page)
            self._written.extend(settled)
            self._stats["refusals_settled"] += len(settled)

    # --- store outages -----------------------------------------------------------------------

    def recover(self) -> None:
        """Publish what a try wrote, write what came since, end the outage.

        Call it when :attr:`outage` is ``ready`` (a try wrote what it held).
        """
        outage = cast(StoreOutage, self.outage)
        ready = cast(Ready, outage.ready)
        store, rest = outage.swap(self._recorder.store)
        self._recorder.store = store
        self._take_up(ready.rewritten)
        if rest:
            try:
                self._take_up(rewrite(store, rest, dict(self._last_seqs), self._stats))
            except TransitionError:
                raise  # refused writes are caught in rewrite: this one is a bug
            except StoreError as exc:
                outage.retry(exc, rest, self._last_seqs)
                return
        self.outage = None
        outage.end(len(rest))
        self._stats["store_retries"] += outage.attempts
        self._announce("ok", "order store available again")

    def close(self) -> None:
        """Stop an outage's retries, as the gateway ends; log what it held, never stored."""
        if self.outage is None:
            return
        self.outage.close()
        if self.outage.held:
            logger.error(
                "order gateway stopped with its order store down: %d writes it held "
                "(reports of the exchange among them) were never stored or published",
                len(self.outage.held),
            )

    def _refuse(self, order: NewOrder, *, maybe_recorded: bool) -> None:
        """Tell the robot its order is refused, the store being down; remember to store that."""
        outage = self.outage
        if outage is not None and order.client_order_id in outage.held_ids:
            self._stats["duplicate_orders"] += 1  # a repeat of an order held: as the store would
            return
        refusal = Refusal(order=order, reason=STORE_UNAVAILABLE, maybe_recorded=maybe_recorded)
        if outage is None:
            self._batch_ops.append(refusal)  # held by _store_failed, which comes next
        else:
            outage.hold([refusal])
            outage.refused += 1
        self._outbox.refuse(order, STORE_UNAVAILABLE)
        self._stats["refused_store_down"] += 1

    def _store_failed(self, error: StoreError) -> None:
        """The batch in progress failed: begin the outage, holding what the batch wrote."""
        self._outbox.forget_written()  # MongoDB: perhaps written; redo finds those
        batch, self._batch_ops = self._batch_ops, []
        self._stats["store_outages"] += 1
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
        return rewrite(store, held, published, self._stats)

    def _take_up(self, rewritten: Rewritten) -> None:
        """Publish what an outage's writes stored; take the store's counts."""
        self._outbox.take_up(rewritten)
        self._recorder.working = rewritten.working

    def _announce(self, status: str, detail: str) -> None:
        self._outbox.announce(status, detail, self.market_ts or time.time_ns())
