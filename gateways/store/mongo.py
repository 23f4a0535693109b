"""The order store in MongoDB, whose ``trades`` collection hosts follow with a change stream.

Collections: ``orders`` (``_id`` is the client order id; the history and the
ids of the trades applied are arrays in the document; ``version`` counts its
changes), ``trades`` (one document per fill, with ``name`` = the robot, ``seq``
and the fill's fields; ``trade_id`` unique, ``(name, seq)`` unique) and
``reports`` (``robot``, ``seq``, ``payload`` = the report as yard's JSON text;
``(robot, seq)`` unique). The documents are in :mod:`.mongo_documents`.

The gateway is the store's one writer, so the store keeps each open order it
writes in memory and writes it without reading it first; a new order is
inserted at once (its unique ``_id`` is the duplicate check, and the order must
be stored before the exchange has it). Inside :meth:`MongoOrderStore.batch`
the other writes wait for the block's end and go out in as few commands as
possible: one update per changed order (on the condition that its ``version``
is still the one this store wrote, so a write from anyone else is detected,
never overwritten), then one insert of every report due. Outside a batch each
call is a batch of its own.

A trade is written at once, before the writes it waits on: hosts following
the change stream (:mod:`.mongo_watch`) see the fill one command after the
exchange reported it. Without multi-document transactions (a standalone
server has none), the trade carries a *journal* to make that safe: the order
as the fill leaves it, and the robot's other order changes and reports (with
their seqs) still waiting that no earlier trade carries. Once all that waits
is journaled, it may be written up to 20 ms after the batch
(:mod:`.mongo_pending`). A crash before it is leaves a trade whose seq has no
report; :meth:`MongoOrderStore.repair` (for the gateway to call at start)
finds each one and writes its journal (:mod:`.mongo_repair`). Calling
:meth:`MongoOrderStore.apply_fill` again with the same fill completes it too;
a different fill under a stored trade id is never taken for it (that would
mark its order filled by a trade it never had): it raises
:class:`~gateways.store.base.TradeClashError`, nothing written.
Each robot's last seq is read on its first report from the highest of its
trades and reports, so a new report never takes a seq a stranded trade holds.

An order stored rejected with its report (:meth:`MongoOrderStore.add_rejected`,
a resolve's "lost in transit") is inserted at once as the trade is, carrying
a journal the same way (its report last, that report's seq as ``report_seq``),
so a crash between the order and its report is repaired alike. Orders refused
while the store was down (``add_refused``) go in one unordered insert.

At a batch's end the changed orders are written before the reports. So that a
crash in between cannot leave an order changed (cancelled, say) with no
report of the change for its robot, the first changed order of each robot
carries a journal of the robot's other changes and its reports that no trade
holds, and their highest seq as ``report_seq`` (:mod:`.mongo_pending`);
:meth:`MongoOrderStore.repair` writes the reports from it.

Writes that a crash interrupts before their batch's end and no trade or order
carries are lost, as a transaction's would be; the gateway publishes nothing
of a batch before its end, so no robot has seen them. A new order is never
among them: it is inserted before the exchange sees it.

Errors: every pymongo or bson error is raised as :class:`StoreError` ``from`` it
(see :mod:`.mongo_errors` for the tree), with a sentence saying what was being
done and what the error means.

One backend, one module, past the house's ~400 lines on purpose: what stands
alone is already apart (documents, errors, pending writes, repair and the change
stream in the ``mongo_*`` modules named above). What is left is the
:class:`OrderStore` contract's methods over the three collections, which share
the lock, the seq counters, the pending writes and the batch depth, and this
docstring, the one place the store's crash story is told whole.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Final

import orjson
from pymongo import ASCENDING, DESCENDING, MongoClient, errors
from pymongo.collection import Collection

from gateways.store._common import (
    SeqCounters,
    apply_fill_to,
    check_repeat,
    new_record,
    refused_record,
    rejected_record,
    transition_of,
    with_seq,
)
from gateways.store.base import (
    FINAL_STATES,
    OrderRecord,
    OrderState,
    OrderStore,
    Report,
    ReportRecord,
    TradeRecord,
    highest_number,
)
from gateways.store.mongo_documents import (
    REPORT_SEQ,
    Document,
    fill_of,
    order_document,
    order_record,
    report_document,
    report_record,
    trade_document,
)
from gateways.store.mongo_errors import FOREIGN_ERRORS, duplicates, redacted, translated
from gateways.store.mongo_owners import all_owners, claim_owners
from gateways.store.mongo_pending import OpenOrder, PendingWrites
from gateways.store.mongo_repair import (
    complete_from_journal,
    complete_order,
    stranded_orders,
    stranded_trades,
    summary,
)
from gateways.store.mongo_watch import AWAIT_MS, FillWatch
from yard_actors.errors import StoreError
from yard_actors.wire.events import Fill, NewOrder, OrderRejected

__all__ = ["FOREIGN_ERRORS", "FillWatch", "MongoOrderStore", "translated"]

logger = logging.getLogger(__name__)

_FINALS: Final = [state.value for state in FINAL_STATES]


class MongoOrderStore(OrderStore):
    """The order store in the database named by ``url`` (``yard`` if the URL names none).

    Opening connects and creates the indexes; raises StoreError if the server
    cannot be reached within pymongo's server selection timeout (30 s unless
    the URL sets ``serverSelectionTimeoutMS``). Any thread may call any method;
    a batch holds the store for its thread until it ends.
    """

    def __init__(self, url: str) -> None:
        self.url = redacted(url)
        self._lock = threading.RLock()
        self._seqs = SeqCounters(self._load_seq)
        self._ordinal = 0  # insertion order of orders: "oldest first" breaks ts ties with it
        self._batches = 0  # batch() blocks open (on the thread holding the lock)
        self._where = self.url
        self._client: MongoClient[Document] | None = None
        with translated(self._where, "connect"):
            self._client = MongoClient(url)
            try:
                database = self._client.get_default_database("yard")
                self._where = f"database {database.name!r} at {self.url}"
                self._orders: Collection[Document] = database["orders"]
                self._trades: Collection[Document] = database["trades"]
                self._reports: Collection[Document] = database["reports"]
                self._owners: Collection[Document] = database["robot_owners"]
                self._create_indexes()
                self._pending = PendingWrites(
                    self._orders,
                    self._reports,
                    lock=self._lock,
                    where=self._where,
                    on_forget=self._seqs.forget,
                )
            except BaseException:
                self._client.close()
                raise

    def _create_indexes(self) -> None:
        oldest = [("created_ts", ASCENDING), ("ordinal", ASCENDING)]
        self._orders.create_index(oldest)
        for field in ("robot", "state", "symbol"):
            self._orders.create_index([(field, ASCENDING), *oldest])
        self._trades.create_index("trade_id", unique=True)
        self._trades.create_index([("name", ASCENDING), ("seq", ASCENDING)], unique=True)
        self._reports.create_index([("robot", ASCENDING), ("seq", ASCENDING)], unique=True)
        # Each robot's orders carrying a journal, highest seq first: _load_seq and repair.
        self._orders.create_index([("robot", ASCENDING), (REPORT_SEQ, ASCENDING)])
        last = self._orders.find_one({}, {"ordinal": 1}, sort=[("ordinal", DESCENDING)])
        self._ordinal = 0 if last is None else int(last["ordinal"])

    @contextlib.contextmanager
    def _call(self, action: str) -> Iterator[None]:
        with self._lock, translated(self._where, action):
            if self._client is None:
                msg = f"The MongoDB order store {self._where} is closed; open a new one"
                raise StoreError(msg)
            if self._pending.failure is not None:
                msg = f"The MongoDB order store {self._where} is unusable: {self._pending.failure}"
                raise StoreError(msg)
            yield

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
        return self._insert_order(new_record(order), version=0)

    def add_pending(self, order: NewOrder) -> bool:
        """Store a new order already in ``pending``: one insert."""
        pending = transition_of(
            new_record(order), OrderState.PENDING, ts=order.ts, reason="", exchange_order_id=None
        )
        return self._insert_order(pending, version=1)

    def _insert_order(self, record: OrderRecord, *, version: int) -> bool:
        client_order_id = record.client_order_id
        with self._writing(f"add order {client_order_id}"):
            if client_order_id in self._pending.open:
                return False
            self._ordinal += 1
            document = order_document(record, version=version, trade_ids=[])
            document["ordinal"] = self._ordinal
            try:
                self._orders.insert_one(document)
            except errors.DuplicateKeyError:
                return False
            self._pending.open[client_order_id] = OpenOrder(record, [], version, version)
            return True

    def add_rejected(
        self, rejected: OrderRejected, *, order: NewOrder | None = None
    ) -> ReportRecord | None:
        """Insert the order, rejected, carrying a journal that holds its report (last).

        The report is written with the batch, like any; a crash before it
        leaves the order with its journal, which :meth:`repair` writes.
        """
        record = rejected_record(rejected, order)
        coid, robot = record.client_order_id, record.robot
        with self._writing(f"add order {coid} as rejected"):
            if coid in self._pending.open:
                return None
            seq = self._seqs.next(robot)
            report = ReportRecord(robot=robot, seq=seq, report=with_seq(rejected, robot, seq))
            journal, written = self._pending.journal_with(robot, report_document(report))
            document = self._order_document(record)
            document[REPORT_SEQ] = seq
            document["journal"] = orjson.dumps(journal).decode()
            try:
                self._orders.insert_one(document)
            except errors.DuplicateKeyError:
                return None
            except BaseException:
                self._seqs.forget(robot)  # written or not: read the truth next time
                raise
            self._seqs.take(robot, seq)
            written()
            return report

    def add_refused(self, orders: Sequence[NewOrder], *, reason: str) -> list[NewOrder]:
        """One insert of every order, unordered: a taken id does not stop the others."""
        if not orders:
            return []
        records = [refused_record(order, reason, ts=order.ts) for order in orders]
        with self._writing(f"add {len(orders)} refused orders"):
            documents = [self._order_document(record) for record in records]
            try:
                self._orders.insert_many(documents, ordered=False)
            except errors.BulkWriteError as exc:
                return [orders[index] for index in duplicates(exc)]
        return []

    def _order_document(self, record: OrderRecord) -> Document:
        """A final order's document, numbered in insertion order."""
        self._ordinal += 1
        document = order_document(record, version=len(record.history) - 1, trade_ids=[])
        document["ordinal"] = self._ordinal
        return document

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

    def _entry(self, client_order_id: str) -> OpenOrder | None:
        """The order as this store holds it, read from the database if it does not yet."""
        entry = self._pending.open.get(client_order_id)
        if entry is None:
            document = self._orders.find_one({"_id": client_order_id})
            if document is None:
                return None
            entry = self._pending.hold(document)  # a final order is not kept: it never changes
        return entry

    # --- fills ------------------------------------------------------------------------

    def apply_fill(self, fill: Fill) -> tuple[OrderRecord, ReportRecord] | None:
        with self._writing(f"apply fill {fill.trade_id}"):
            return self._apply(fill)

    def _apply(self, fill: Fill) -> tuple[OrderRecord, ReportRecord] | None:
        """Apply ``fill``; the same fill again completes what a crash left of it, or is a no-op.

        A different fill under a stored trade id raises TradeClashError, nothing written:
        neither taken as a repeat (the fill would be lost) nor applied to its order as the
        stored one (the order would count a fill it never had).
        """
        entry = self._entry(fill.client_order_id)
        if entry is not None and fill.trade_id in entry.trade_ids:
            # Applied before: at most the report is due, after what the order waits for.
            earlier = self._trade(fill.trade_id)
            check_repeat(earlier, fill)
            self._pending.write()
            return self._report_fill(entry.record, earlier)
        try:
            if entry is None:
                msg = f"Order {fill.client_order_id} is not in the store {self._where}"
                raise StoreError(msg)
            record = apply_fill_to(entry.record, fill)
        except StoreError:
            document = self._trades.find_one({"trade_id": fill.trade_id})
            if document is None:
                raise
            check_repeat(fill_of(document), fill)
            return None
        trade_ids = [*entry.trade_ids, fill.trade_id]
        stored = self._insert_trade(fill, entry, record, trade_ids)
        if stored is not None:
            return record, ReportRecord(robot=fill.robot, seq=stored.seq, report=stored)
        # Stored before but not applied: complete it as it was stored, if it is this fill.
        stored = self._trade(fill.trade_id)
        check_repeat(stored, fill)
        self._pending.change(entry, apply_fill_to(entry.record, stored), trade_ids)
        self._pending.write()
        return self._report_fill(entry.record, stored)

    def _insert_trade(
        self, fill: Fill, entry: OpenOrder, record: OrderRecord, trade_ids: list[str]
    ) -> Fill | None:
        """The trade under the robot's next seq, with its journal; None if it was stored before.

        On success the order is changed in memory to ``record`` and the fill's
        report is due.
        """
        robot = fill.robot
        seq = self._seqs.next(robot)
        stored = with_seq(fill, robot, seq)
        document = trade_document(stored)
        journal, written = self._pending.journal(robot, entry, record, trade_ids)
        # As JSON text: nx-27017 takes one string ~15 % faster than the nested documents.
        document["journal"] = orjson.dumps(journal).decode()
        try:
            self._trades.insert_one(document)
        except errors.DuplicateKeyError:
            self._seqs.forget(robot)
            return None
        except BaseException:
            self._seqs.forget(robot)  # written or not: read the truth next time
            raise
        self._seqs.take(robot, seq)
        written()
        report = ReportRecord(robot=robot, seq=seq, report=stored)
        self._pending.add_report(robot, report_document(report), journaled=True)
        return stored

    def _report_fill(
        self, record: OrderRecord, fill: Fill
    ) -> tuple[OrderRecord, ReportRecord] | None:
        """The fill's report, written now; None if it was there already (the fill was complete)."""
        report = ReportRecord(robot=fill.robot, seq=fill.seq, report=fill)
        try:
            self._reports.insert_one(report_document(report))
        except errors.DuplicateKeyError:
            return None
        return record, report

    def _trade(self, trade_id: str) -> Fill:
        document = self._trades.find_one({"trade_id": trade_id})
        if document is None:
            msg = (
                f"Trade {trade_id} could not be stored: its robot's next seq is taken in "
                f"{self._where}; is another gateway writing to it?"
            )
            raise StoreError(msg)
        return fill_of(document)

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
        repaired: list[ReportRecord] = []
        with self._call("repair half-written fills"):
            self._pending.write()
            for trade in stranded_trades(self._trades, self._reports):
                if "journal" in trade:
                    repaired.extend(complete_from_journal(self._orders, self._reports, trade))
                else:
                    repaired.extend(self._complete_unjournaled(fill_of(trade)))
            for order in stranded_orders(self._orders, self._reports):
                repaired.extend(complete_order(self._orders, self._reports, order))
            self._pending.forget()
            for document in self._orders.find({"state": {"$nin": _FINALS}}):
                self._pending.hold(document)
        return repaired

    def _complete_unjournaled(self, fill: Fill) -> list[ReportRecord]:
        done = self._apply(fill)
        if done is None:
            logger.warning(
                "robot %s: trade %s (seq %d) cannot be applied to order %s, "
                "which refuses it now; its report is left missing",
                *(fill.robot, fill.trade_id, fill.seq, fill.client_order_id),
            )
            return []
        return [done[1]]

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
        query: Document = {}
        for field, value in (("robot", robot), ("symbol", symbol)):
            if value is not None:
                query[field] = value
        if state is not None:
            query["state"] = state.value
        with self._call("read orders"):
            return self._find_orders(query)

    def open_orders(self, robot: str | None = None) -> list[OrderRecord]:
        query: Document = {"state": {"$nin": _FINALS}}
        if robot is not None:
            query["robot"] = robot
        with self._call("read open orders"):
            return self._find_orders(query)

    def _find_orders(self, query: Document) -> list[OrderRecord]:
        self._pending.write()  # a read sees every call that returned
        cursor = self._orders.find(query).sort([("created_ts", ASCENDING), ("ordinal", ASCENDING)])
        return [order_record(document) for document in cursor]

    def trades(self, *, robot: str | None = None, since_seq: int = 0) -> list[TradeRecord]:
        query: Document = {"seq": {"$gt": since_seq}}
        if robot is not None:
            query["name"] = robot
        with self._call("read trades"):
            cursor = self._trades.find(query).sort([("name", ASCENDING), ("seq", ASCENDING)])
            fills = [fill_of(document) for document in cursor]
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
            query = {"robot": robot, "seq": {"$gt": after_seq}}
            documents = list(self._reports.find(query).sort("seq", ASCENDING))
        return [report_record(document) for document in documents]

    def report_payloads(self, robot: str, *, after_seq: int, limit: int) -> list[tuple[int, bytes]]:
        with self._call(f"read a page of the reports of robot {robot}"):
            self._pending.write()
            query = {"robot": robot, "seq": {"$gt": after_seq}}
            fields = {"seq": 1, "payload": 1, "_id": 0}
            cursor = self._reports.find(query, fields).sort("seq", ASCENDING).limit(limit)
            return [(int(document["seq"]), document["payload"].encode()) for document in cursor]

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
            return self._highest_number(self._trades, "trade_id", prefix)

    def highest_exchange_order_number(self, prefix: str) -> int:
        with self._call(f"read the highest exchange order id after {prefix!r}"):
            self._pending.write()  # a read sees every call that returned
            return self._highest_number(self._orders, "exchange_order_id", prefix)

    @staticmethod
    def _highest_number(collection: Collection[Document], field: str, prefix: str) -> int:
        # From prefix + "0" up to prefix + ":", the character after "9": only the ids
        # that may be numbered are read, by trade_id's index where there is one.
        query = {field: {"$gte": f"{prefix}0", "$lt": f"{prefix}:"}}
        cursor = collection.find(query, {field: 1, "_id": 0})
        return highest_number((document[field] for document in cursor), prefix)

    def _load_seq(self, robot: str) -> int:
        last = 0
        for collection, field in ((self._reports, "robot"), (self._trades, "name")):
            top = collection.find_one({field: robot}, {"seq": 1}, sort=[("seq", DESCENDING)])
            if top is not None:
                last = max(last, int(top["seq"]))
        query = {"robot": robot, REPORT_SEQ: {"$gt": 0}}  # orders carrying a journal
        top = self._orders.find_one(query, {REPORT_SEQ: 1}, sort=[(REPORT_SEQ, DESCENDING)])
        return last if top is None else max(last, int(top[REPORT_SEQ]))

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
        match = {"operationType": "insert", "fullDocument.name": {"$in": list(robots)}}
        with self._call("watch fills"):
            stream = self._trades.watch(
                [{"$match": match}], resume_after=resume_after, max_await_time_ms=AWAIT_MS
            )
        return FillWatch(stream, self._where)

    def discard(self) -> None:
        """Write nothing more and disconnect, without the lock: a call in flight holds it.

        That call, and the write-behind thread's, fail at once instead of
        waiting for a server that is down; what they held the next store's
        repair writes from the journals.
        """
        self._pending.discard()
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(*FOREIGN_ERRORS):
                client.close()

    def close(self) -> None:
        """Write what is due (what fails stays in the trades' journals), then disconnect."""
        with self._lock:
            client, self._client = self._client, None
            if client is None:
                return
            try:
                if self._pending.failure is None:
                    with translated(self._where, "write what was due before closing"):
                        self._pending.write()
            finally:
                self._pending.close()
                with translated(self._where, "close"):
                    client.close()
