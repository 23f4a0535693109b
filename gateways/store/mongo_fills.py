"""Fills in the MongoDB order store: the trade written at once, carrying its journal.

A trade is written at once, before the writes it waits on: hosts following
the change stream (:mod:`.mongo_watch`) see the fill one command after the
exchange reported it. Without multi-document transactions (a standalone
server has none), the trade carries a *journal* to make that safe: the order
as the fill leaves it, and the robot's other order changes and reports (with
their seqs) still waiting that no earlier trade carries. Once all that waits
is journaled, it may be written up to 20 ms after the batch
(:mod:`.mongo_pending`). A crash before it is leaves a trade whose seq has no
report; the store's ``repair`` (for the gateway to call at start) finds each
one and writes its journal (:mod:`.mongo_repair`). Applying the same fill
again completes it too; a different fill under a stored trade id is never
taken for it (that would mark its order filled by a trade it never had): it
raises :class:`~gateways.store.base.TradeClashError`, nothing written.

Apart from :mod:`.mongo`, which holds the store's lock around each call and
writes what is due at its end: a fill is the one write with three outcomes (new;
applied before, its report at most due; its trade stored before but not applied),
and this module tells them apart and completes each.
"""

from __future__ import annotations

import orjson
from pymongo import errors
from pymongo.collection import Collection

from gateways.store._common import SeqCounters, apply_fill_to, check_repeat, with_seq
from gateways.store.base import OrderRecord, ReportRecord
from gateways.store.mongo_documents import Document, fill_of, report_document, trade_document
from gateways.store.mongo_pending import OpenOrder, PendingWrites
from yard_actors.errors import StoreError
from yard_actors.wire.events import Fill

__all__ = ["FillWrites"]


class FillWrites:
    """The MongoDB order store's fills, applied with :meth:`apply` under the store's lock.

    Shares the store's collections, its writes held in memory (``pending``) and
    its ``seqs`` counters; ``where`` names the database in error messages.
    """

    def __init__(
        self,
        trades: Collection[Document],
        reports: Collection[Document],
        pending: PendingWrites,
        seqs: SeqCounters,
        where: str,
    ) -> None:
        self._trades = trades
        self._reports = reports
        self._pending = pending
        self._seqs = seqs
        self._where = where
        self._entry = pending.entry  # bound once: it runs on every fill

    def apply(self, fill: Fill) -> tuple[OrderRecord, ReportRecord] | None:
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
