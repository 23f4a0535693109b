"""The order store in MongoDB, whose ``trades`` collection hosts follow with a change stream.

Collections ``orders``, ``trades``, ``reports`` and ``robot_owners``
(:mod:`.mongo_collections`), of the documents in :mod:`.mongo_documents`.

The gateway is the store's one writer, so the store keeps each open order it
writes in memory and writes it without reading it first. Inside
:meth:`MongoOrderStore.batch` the order changes and the reports wait for the
block's end and go out in as few commands as possible: one update per changed
order (on the condition that its ``version`` is still the one this store wrote,
so a write from anyone else is detected, never overwritten), then one insert of
every report due (:mod:`.mongo_pending`). Outside a batch each call is a batch
of its own.

The crash story, without multi-document transactions (a standalone server has
none). What must not wait is written at once: a new order, before the exchange
has it (:mod:`.mongo_inserts`), and a trade, which hosts following the change
stream (:mod:`.mongo_watch`) see one command after the exchange reported it
(:mod:`.mongo_fills`). A trade carries a *journal* of its robot's writes still
waiting that no earlier journal holds (the order as the fill leaves it, other
order changes, reports with their seqs), as does an order stored rejected with
its report, and the first order of each robot that a batch's end changes (the
orders are written before the reports). Once a journal holds what waits, it may
be written up to 20 ms after the batch. A crash leaves a trade or an order whose
seq has no report; :meth:`MongoOrderStore.repair` (for the gateway to call at
start) writes its journal (:mod:`.mongo_repair`); the same fill applied again
completes it too, and another fill under its trade id raises
:class:`~gateways.store.base.TradeClashError`, nothing written. Each robot's
last seq is read on its first report from the highest of its trades, reports
and journals, so a new report never takes a seq a stranded one holds. Writes
that a crash interrupts before their batch's end and no journal carries are
lost, as a transaction's would be; the gateway publishes nothing of a batch
before its end, so no robot has seen them.

Errors: every pymongo or bson error is raised as :class:`StoreError` ``from`` it
(see :mod:`.mongo_errors` for the tree), with a sentence saying what was being
done and what the error means.

One backend, its parts beside it: those named above, the client and its lock
in :mod:`.mongo_connection`, the reads in :mod:`.mongo_reads`, the owners in
:mod:`.mongo_owners`. What is left here is each call of the :class:`OrderStore`
contract, under the store's lock; when the writes it leaves due go out (at its
end, or a batch's); and this docstring, the one place the crash story is told whole.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from gateways.store._common import (
    SeqCounters,
    new_record,
    refused_record,
    rejected_record,
    transition_of,
    with_seq,
)
from gateways.store.base import (
    OrderRecord,
    OrderState,
    OrderStore,
    Report,
    ReportRecord,
    TradeRecord,
)
from gateways.store.mongo_connection import MongoConnection
from gateways.store.mongo_documents import Document, order_record, report_document, report_record
from gateways.store.mongo_errors import FOREIGN_ERRORS, translated
from gateways.store.mongo_fills import FillWrites
from gateways.store.mongo_inserts import OrderInserts
from gateways.store.mongo_owners import all_owners, claim_owners
from gateways.store.mongo_reads import (
    find_orders,
    highest_numbered,
    last_seq,
    open_orders_query,
    orders_query,
    report_documents,
    report_payloads,
    trade_fills,
)
from gateways.store.mongo_repair import complete_stranded, summary
from gateways.store.mongo_watch import FillWatch, watch_trades
from yard_actors.errors import StoreError
from yard_actors.wire.events import Fill, NewOrder, OrderRejected

__all__ = ["FOREIGN_ERRORS", "FillWatch", "MongoOrderStore", "translated"]


class MongoOrderStore(OrderStore):
    """The order store in the database named by ``url`` (``yard`` if the URL names none).

    Opening connects and creates the indexes; raises StoreError if the server
    cannot be reached within pymongo's server selection timeout (30 s unless
    the URL sets ``serverSelectionTimeoutMS``; :mod:`.mongo_connection`). Any
    thread may call any method; a batch holds the store for its thread until it ends.
    """

    def __init__(self, url: str) -> None:
        self._seqs = SeqCounters(self._load_seq)
        self._connection = connection = MongoConnection(url, on_forget=self._seqs.forget)
        self.url = connection.url
        self._where = connection.where
        self._lock = connection.lock
        self._orders, self._trades, self._reports, self._owners = connection.collections
        self._pending = connection.pending
        self._batches = 0  # batch() blocks open (on the thread holding the lock)
        self._inserts = OrderInserts(
            self._orders, self._pending, self._seqs, ordinal=connection.last_ordinal
        )
        fills = FillWrites(self._trades, self._reports, self._pending, self._seqs, self._where)
        # Bound once: these run on every call, order or fill, and a method of the store's
        # own around them would add a call.
        self._call = connection.call
        self._insert_order = self._inserts.insert
        self._entry = self._pending.entry
        self._apply = fills.apply

    @contextlib.contextmanager
    def _writing(self, action: str) -> Iterator[None]:
        """A write call: outside a batch, what it left due is written before it returns."""
        with self._call(action):
            try:
                yield
            finally:
                if not self._batches:
                    self._pending.write()

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Write what the calls inside the block leave due at its end, in the fewest commands.

        New orders and trades are written at once, the rest (order changes,
        reports) at the end, also when the block raises: each call that
        returned stays done, as outside a batch. If trades' journals hold all
        of the rest, it may be written up to ``BEHIND_S`` (20 ms) later, by a
        thread, or with the next write that is not journaled: a crash cannot
        lose it any more, and reads through this store see it at once. Send
        nothing a call in the block returned until the block has ended. The
        block holds the store for its thread; blocks may nest, and the
        outermost one writes.
        """
        with self._lock:
            self._batches += 1
            try:
                yield
            finally:
                self._batches -= 1
                if not self._batches:
                    with self._call("write a batch of changes"):
                        self._pending.write(behind=True)

    # --- orders -----------------------------------------------------------------------

    def add_order(self, order: NewOrder) -> bool:
        record = new_record(order)
        with self._writing(f"add order {order.client_order_id}"):
            return self._insert_order(record, version=0)

    def add_pending(self, order: NewOrder) -> bool:
        """Store a new order already in ``pending``: one insert."""
        pending = transition_of(
            new_record(order), OrderState.PENDING, ts=order.ts, reason="", exchange_order_id=None
        )
        with self._writing(f"add order {order.client_order_id}"):
            return self._insert_order(pending, version=1)

    def add_rejected(
        self, rejected: OrderRejected, *, order: NewOrder | None = None
    ) -> ReportRecord | None:
        """Insert the order, rejected, carrying a journal that holds its report (last).

        The report is written with the batch, like any; a crash before it
        leaves the order with its journal, which :meth:`repair` writes.
        """
        record = rejected_record(rejected, order)
        with self._writing(f"add order {record.client_order_id} as rejected"):
            return self._inserts.rejected(record, rejected)

    def add_refused(self, orders: Sequence[NewOrder], *, reason: str) -> list[NewOrder]:
        """One insert of every order, unordered: a taken id does not stop the others."""
        if not orders:
            return []
        records = [refused_record(order, reason, ts=order.ts) for order in orders]
        with self._writing(f"add {len(orders)} refused orders"):
            return self._inserts.refused(orders, records)

    def transition(
        self,
        client_order_id: str,
        state: OrderState,
        *,
        ts: int,
        reason: str = "",
        exchange_order_id: str | None = None,
    ) -> OrderRecord:
        with self._writing(f"move order {client_order_id} to {state.value}"):
            entry = self._entry(client_order_id)
            if entry is None:
                msg = f"Order {client_order_id} is not in the store {self._where}"
                raise StoreError(msg)
            record = transition_of(
                entry.record, state, ts=ts, reason=reason, exchange_order_id=exchange_order_id
            )
            self._pending.change(entry, record, entry.trade_ids)
            return record

    # --- fills ------------------------------------------------------------------------

    def apply_fill(self, fill: Fill) -> tuple[OrderRecord, ReportRecord] | None:
        """Apply ``fill``: its trade written at once, with a journal (:mod:`.mongo_fills`)."""
        with self._writing(f"apply fill {fill.trade_id}"):
            return self._apply(fill)

    def repair(self) -> list[ReportRecord]:
        """Complete every fill a crash left half written; return the reports it added.

        A half-written fill is a trade whose seq has no report (an order carrying
        a journal likewise: one stored rejected, see :meth:`add_rejected`, or
        changed by a batch cut short between its orders and its reports). For the gateway to call
        before it writes (at start, and after an outage), and only there: a
        repair running beside the gateway's own writes would race them. A trade
        without a journal (written by an older yard) that cannot be completed
        (its order has gone final since) is logged and left as it is. Then the
        store holds every open order in memory, as it does those it writes: one
        read, not one per order that the gateway then changes (after an
        outage, the thousands of cancels and fills the exchange made meanwhile).
        """
        with self._call("repair half-written fills"):
            self._pending.write()
            repaired = complete_stranded(
                self._orders, self._trades, self._reports, apply=self._apply
            )
            self._pending.forget()
            for document in self._orders.find(open_orders_query()):
                self._pending.hold(document)
        return repaired

    # --- reads ------------------------------------------------------------------------

    def order(self, client_order_id: str) -> OrderRecord | None:
        with self._call(f"read order {client_order_id}"):
            entry = self._pending.open.get(client_order_id)
            if entry is not None:
                return entry.record
            document = self._orders.find_one({"_id": client_order_id})
            return None if document is None else order_record(document)

    def orders(
        self,
        *,
        robot: str | None = None,
        state: OrderState | None = None,
        symbol: str | None = None,
    ) -> list[OrderRecord]:
        with self._call("read orders"):
            return self._find_orders(orders_query(robot, state, symbol))

    def open_orders(self, robot: str | None = None) -> list[OrderRecord]:
        with self._call("read open orders"):
            return self._find_orders(open_orders_query(robot))

    def _find_orders(self, query: Document) -> list[OrderRecord]:
        self._pending.write()  # a read sees every call that returned
        return find_orders(self._orders, query)

    def trades(self, *, robot: str | None = None, since_seq: int = 0) -> list[TradeRecord]:
        with self._call("read trades"):
            fills = trade_fills(self._trades, robot, since_seq)
        return [TradeRecord(fill=fill, robot=fill.robot) for fill in fills]

    # --- reports ----------------------------------------------------------------------

    def add_report(self, robot: str, report: Report) -> ReportRecord:
        if isinstance(report, Fill):
            msg = f"Fill {report.trade_id} must be stored with apply_fill, not add_report"
            raise StoreError(msg)
        with self._writing(f"add a report for robot {robot}"):
            seq = self._seqs.next(robot)
            record = ReportRecord(robot=robot, seq=seq, report=with_seq(report, robot, seq))
            self._pending.add_report(robot, report_document(record))
            self._seqs.take(robot, seq)
            return record

    def reports(self, robot: str, *, after_seq: int = 0) -> list[ReportRecord]:
        with self._call(f"read the reports of robot {robot}"):
            self._pending.write()
            documents = report_documents(self._reports, robot, after_seq)
        return [report_record(document) for document in documents]

    def report_payloads(self, robot: str, *, after_seq: int, limit: int) -> list[tuple[int, bytes]]:
        with self._call(f"read a page of the reports of robot {robot}"):
            self._pending.write()
            return report_payloads(self._reports, robot, after_seq, limit)

    def claim_robots(self, owner: str, robots: Sequence[str], *, ts: int) -> dict[str, str]:
        with self._call(f"register robots under key {owner}"):
            return claim_owners(self._owners, owner, robots, ts)

    def robot_owners(self) -> dict[str, str]:
        with self._call("read the robots' owners"):
            return all_owners(self._owners)

    def last_seqs(self) -> dict[str, int]:
        with self._call("read the last report seqs"):
            self._pending.write()
            return {robot: last for robot, (_, last) in summary(self._reports, "robot").items()}

    def highest_trade_number(self, prefix: str) -> int:
        with self._call(f"read the highest trade id after {prefix!r}"):
            return highest_numbered(self._trades, "trade_id", prefix)

    def highest_exchange_order_number(self, prefix: str) -> int:
        with self._call(f"read the highest exchange order id after {prefix!r}"):
            self._pending.write()  # a read sees every call that returned
            return highest_numbered(self._orders, "exchange_order_id", prefix)

    def _load_seq(self, robot: str) -> int:
        return last_seq(self._orders, self._trades, self._reports, robot)

    # --- the change stream ------------------------------------------------------------

    def watch_fills(
        self, robots: Sequence[str], *, resume_after: Mapping[str, Any] | None = None
    ) -> FillWatch:
        """Follow the fills of ``robots`` as they are stored, after ``resume_after`` if given.

        Without a token the watch starts now. With one (from :meth:`FillWatch.next`
        or :attr:`FillWatch.resume_token`) it delivers every matching fill stored
        after it: none lost, none twice, as long as the server still holds that
        point of its change log (nx-27017 keeps the last 1,000 changes of a
        collection that other watchers have read past).
        """
        with self._call("watch fills"):
            return watch_trades(self._trades, robots, resume_after=resume_after, where=self._where)

    def discard(self) -> None:
        """Write nothing more and disconnect at once, without the lock: a call in flight holds it.

        That call, and the write-behind thread's, fail at once instead of
        waiting for a server that is down; what they held the next store's
        repair writes from the journals.
        """
        self._connection.discard()

    def close(self) -> None:
        """Write what is due (what fails stays in the trades' journals), then disconnect."""
        self._connection.close()
