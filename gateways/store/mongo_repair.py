"""Finding and completing the fills a crash left half written in the MongoDB order store.

A half-written fill is a trade whose seq has no report: the gateway stopped
after writing the trade and before its batch's order changes and reports.
The trade's *journal* holds them (see :mod:`.mongo_pending`; stored as JSON
text), so completing it
needs nothing else: each order in it is written where the stored ``version``
is lower, then each report and the fill's own, skipping those already there.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
from pymongo import ASCENDING, errors
from pymongo.collection import Collection

from gateways.store.base import ReportRecord
from gateways.store.mongo_documents import Document, fill_of, report_document, report_record
from gateways.store.mongo_pending import without_id
from yard_actors.errors import StoreError

__all__ = ["complete_from_journal", "stranded_trades", "summary"]


def summary(collection: Collection[Document], field: str) -> dict[str, tuple[int, int]]:
    """Each robot's number of documents and highest seq in ``collection``."""
    group = {"_id": f"${field}", "count": {"$sum": 1}, "seq": {"$max": "$seq"}}
    return {
        row["_id"]: (int(row["count"]), int(row["seq"]))
        for row in collection.aggregate([{"$group": group}])
    }


def stranded_trades(
    trades: Collection[Document], reports: Collection[Document]
) -> Iterator[Document]:
    """Every trade whose seq has no report, each robot's in seq order."""
    reported = summary(reports, "robot")
    for robot, (_, top) in summary(trades, "name").items():
        count, last = reported.get(robot, (0, 0))
        if count == last and top <= last:
            continue  # seqs 1..last all have their report, and no trade is beyond
        query: Document = {"robot": robot}
        have = {int(report["seq"]) for report in reports.find(query, {"seq": 1})}
        missing = [seq for seq in range(1, max(top, last) + 1) if seq not in have]
        yield from trades.find({"name": robot, "seq": {"$in": missing}}).sort("seq", ASCENDING)


def complete_from_journal(
    orders: Collection[Document], reports: Collection[Document], trade: Document
) -> list[ReportRecord]:
    """Write what a stranded trade's journal holds, then its report; the reports added."""
    try:
        journal: dict[str, Any] = orjson.loads(trade["journal"])
    except orjson.JSONDecodeError as exc:
        msg = f"The journal of the stored trade {trade.get('trade_id')!r} is damaged: {exc}"
        raise StoreError(msg) from exc
    for order in journal["orders"]:
        changes = without_id(order)
        orders.update_one(
            {"_id": order["_id"], "version": {"$lt": changes["version"]}}, {"$set": changes}
        )
    fill = fill_of(trade)
    own = ReportRecord(robot=fill.robot, seq=fill.seq, report=fill)
    added = []
    for document in [*journal["reports"], report_document(own)]:
        try:
            reports.insert_one(document)
        except errors.DuplicateKeyError:
            continue  # written before the crash
        added.append(report_record(document))
    return added
