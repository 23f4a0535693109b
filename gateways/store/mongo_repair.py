"""Finding and completing the writes a crash left half done in the MongoDB order store.

A half-written fill is a trade whose seq has no report: the gateway stopped
after writing the trade and before its batch's order changes and reports.
The trade's *journal* holds them (see :mod:`.mongo_pending`; stored as JSON
text), so completing it
needs nothing else: each order in it is written where the stored ``version``
is lower, then each report and the fill's own, skipping those already there.

An order carries a journal the same way, with the highest seq of the reports
in it as ``report_seq``: one stored rejected with its report (``add_rejected``,
its own report last), and the first order of each robot that a batch changes
with reports no trade holds (the orders are written before the reports, see
:mod:`.mongo_pending`). One whose last report is missing is completed alike.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import orjson
from pymongo import ASCENDING, DESCENDING, errors
from pymongo.collection import Collection

from gateways.store.base import OrderRecord, ReportRecord
from gateways.store.mongo_documents import (
    REPORT_SEQ,
    Document,
    fill_of,
    report_document,
    report_record,
)
from gateways.store.mongo_pending import without_id
from yard_actors.errors import StoreError
from yard_actors.wire.events import Fill

__all__ = [
    "complete_from_journal",
    "complete_order",
    "complete_stranded",
    "stranded_orders",
    "stranded_trades",
    "summary",
]

logger = logging.getLogger(__name__)


def complete_stranded(
    orders: Collection[Document],
    trades: Collection[Document],
    reports: Collection[Document],
    *,
    apply: Callable[[Fill], tuple[OrderRecord, ReportRecord] | None],
) -> list[ReportRecord]:
    """Complete every stranded trade, then every stranded order; return the reports added.

    A trade without a journal (written by an older yard) is applied again with
    ``apply``, the store's own fill; one it cannot be applied to (its order
    has gone final since) is logged and left as it is.
    """
    repaired: list[ReportRecord] = []
    for trade in stranded_trades(trades, reports):
        if "journal" in trade:
            repaired.extend(complete_from_journal(orders, reports, trade))
        else:
            repaired.extend(_complete_unjournaled(fill_of(trade), apply))
    for order in stranded_orders(orders, reports):
        repaired.extend(complete_order(orders, reports, order))
    return repaired


def _complete_unjournaled(
    fill: Fill, apply: Callable[[Fill], tuple[OrderRecord, ReportRecord] | None]
) -> list[ReportRecord]:
    done = apply(fill)
    if done is None:
        logger.warning(
            "robot %s: trade %s (seq %d) cannot be applied to order %s, "
            "which refuses it now; its report is left missing",
            *(fill.robot, fill.trade_id, fill.seq, fill.client_order_id),
        )
        return []
    return [done[1]]


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
        missing = _missing(reports, reported, robot, top)
        if missing:
            query = {"name": robot, "seq": {"$in": missing}}
            yield from trades.find(query).sort("seq", ASCENDING)


def stranded_orders(
    orders: Collection[Document], reports: Collection[Document]
) -> Iterator[Document]:
    """Every order carrying a journal (``report_seq``) whose last report is missing.

    Reports are inserted in seq order, so a journal whose reports are not all
    written lacks its last: one read per robot finds the carriers to look at.
    """
    reported = summary(reports, "robot")
    for robot in orders.distinct("robot"):
        query = {"robot": robot, REPORT_SEQ: {"$gt": 0}}
        top = orders.find_one(query, {REPORT_SEQ: 1}, sort=[(REPORT_SEQ, DESCENDING)])
        if top is None:
            continue
        missing = _missing(reports, reported, robot, int(top[REPORT_SEQ]))
        if missing:
            query = {"robot": robot, REPORT_SEQ: {"$in": missing}}
            yield from orders.find(query).sort(REPORT_SEQ, ASCENDING)


def _missing(
    reports: Collection[Document],
    reported: dict[str, tuple[int, int]],
    robot: str,
    top: int,
) -> list[int]:
    """The seqs up to ``top`` (or the robot's last report) with no report stored."""
    count, last = reported.get(robot, (0, 0))
    if count == last and top <= last:
        return []  # seqs 1..last all have their report, and nothing is beyond
    have = {int(report["seq"]) for report in reports.find({"robot": robot}, {"seq": 1})}
    return [seq for seq in range(1, max(top, last) + 1) if seq not in have]


def complete_from_journal(
    orders: Collection[Document], reports: Collection[Document], trade: Document
) -> list[ReportRecord]:
    """Write what a stranded trade's journal holds, then its report; the reports added."""
    journal = _journal(trade, f"trade {trade.get('trade_id')!r}")
    fill = fill_of(trade)
    own = ReportRecord(robot=fill.robot, seq=fill.seq, report=fill)
    return _complete(
        orders, reports, journal["orders"], [*journal["reports"], report_document(own)]
    )


def complete_order(
    orders: Collection[Document], reports: Collection[Document], order: Document
) -> list[ReportRecord]:
    """Write what a stranded order's journal holds; the reports added."""
    journal = _journal(order, f"order {order.get('_id')!r}")
    return _complete(orders, reports, journal["orders"], journal["reports"])


def _journal(carrier: Document, what: str) -> dict[str, Any]:
    try:
        journal: dict[str, Any] = orjson.loads(carrier["journal"])
    except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
        msg = f"The journal of the stored {what} is damaged: {exc!r}"
        raise StoreError(msg) from exc
    return journal


def _complete(
    orders: Collection[Document],
    reports: Collection[Document],
    changed: list[Document],
    due: list[Document],
) -> list[ReportRecord]:
    for order in changed:
        changes = without_id(order)
        orders.update_one(
            {"_id": order["_id"], "version": {"$lt": changes["version"]}}, {"$set": changes}
        )
    added = []
    for document in due:
        try:
            reports.insert_one(document)
        except errors.DuplicateKeyError:
            continue  # written before the crash
        added.append(report_record(document))
    return added
