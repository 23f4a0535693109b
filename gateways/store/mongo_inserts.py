"""New orders in the MongoDB order store: each inserted at once, numbered as it goes in.

A new order is inserted before the exchange has it, never held for a batch's
end as the store's other order writes are (:mod:`.mongo_pending`): its unique
``_id`` is the duplicate check, and a crash after the exchange took it must
find it stored. An order stored rejected with its report (``add_rejected``, a
resolve's "lost in transit") is inserted at once too, carrying a journal as a
trade does (:mod:`.mongo_fills`): the robot's writes still waiting, then its
own report last, that report's seq as ``report_seq``; so a crash between the
order and its report is repaired alike (:mod:`.mongo_repair`). Orders refused
while the store was down (``add_refused``) go in one unordered insert.

Each order gets the next ``ordinal`` as it is inserted: "oldest first" breaks
ties of ``created_ts`` with it. Apart from :mod:`.mongo`, which holds the
store's lock around each call and translates pymongo's errors.
"""

from __future__ import annotations

from collections.abc import Sequence

import orjson
from pymongo import errors
from pymongo.collection import Collection

from gateways.store._common import SeqCounters, with_seq
from gateways.store.base import OrderRecord, ReportRecord
from gateways.store.mongo_documents import REPORT_SEQ, Document, order_document, report_document
from gateways.store.mongo_errors import duplicates
from gateways.store.mongo_pending import OpenOrder, PendingWrites
from yard_actors.wire.events import NewOrder, OrderRejected

__all__ = ["OrderInserts"]


class OrderInserts:
    """The MongoDB order store's inserts of orders, each under the store's lock.

    Shares the store's ``orders`` collection, its writes held in memory
    (``pending``: an open order inserted is held there) and its ``seqs``
    counters; ``ordinal`` is the highest the collection holds.
    """

    def __init__(
        self,
        orders: Collection[Document],
        pending: PendingWrites,
        seqs: SeqCounters,
        *,
        ordinal: int,
    ) -> None:
        self._orders = orders
        self._pending = pending
        self._seqs = seqs
        self._ordinal = ordinal

    def insert(self, record: OrderRecord, *, version: int) -> bool:
        """Insert an open order at ``version`` (its changes so far); False if its id exists."""
        client_order_id = record.client_order_id
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

    def rejected(self, record: OrderRecord, rejected: OrderRejected) -> ReportRecord | None:
        """Insert the order ``record``, rejected, with a journal holding its report ``rejected``.

        The report gets the robot's next seq and is due with the batch; None,
        nothing written, if the order's id exists.
        """
        coid, robot = record.client_order_id, record.robot
        if coid in self._pending.open:
            return None
        seq = self._seqs.next(robot)
        report = ReportRecord(robot=robot, seq=seq, report=with_seq(rejected, robot, seq))
        journal, written = self._pending.journal_with(robot, report_document(report))
        document = self._numbered(record)
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

    def refused(self, orders: Sequence[NewOrder], records: list[OrderRecord]) -> list[NewOrder]:
        """Insert the ``records`` of ``orders`` in one unordered insert; the orders whose id exists.

        Unordered: a taken id does not stop the others.
        """
        documents = [self._numbered(record) for record in records]
        try:
            self._orders.insert_many(documents, ordered=False)
        except errors.BulkWriteError as exc:
            return [orders[index] for index in duplicates(exc)]
        return []

    def _numbered(self, record: OrderRecord) -> Document:
        """A final order's document, numbered in insertion order."""
        self._ordinal += 1
        document = order_document(record, version=len(record.history) - 1, trade_ids=[])
        document["ordinal"] = self._ordinal
        return document
