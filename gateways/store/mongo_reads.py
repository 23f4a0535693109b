"""The MongoDB order store's reads: the queries behind the contract's read calls.

Apart from :mod:`.mongo`, which runs them under its lock (translating pymongo's
errors) once it has written what is due, so that a read sees every call that
returned: each function here reads through the collection it is given and
returns what the :class:`~gateways.store.base.OrderStore` contract promises, as
:mod:`.sqlite_reads` does for SQLite. Orders come oldest first: by
``created_ts``, ties broken by ``ordinal``, the order of their insertion.
"""

from __future__ import annotations

from typing import Final

from pymongo import ASCENDING, DESCENDING
from pymongo.collection import Collection

from gateways.store.base import FINAL_STATES, OrderRecord, OrderState, highest_number
from gateways.store.mongo_documents import REPORT_SEQ, Document, fill_of, order_record
from yard_actors.wire.events import Fill

__all__ = [
    "find_orders",
    "highest_numbered",
    "last_ordinal",
    "last_seq",
    "open_orders_query",
    "orders_query",
    "report_documents",
    "report_payloads",
    "trade_fills",
]

_FINALS: Final = [state.value for state in FINAL_STATES]
_OLDEST: Final = [("created_ts", ASCENDING), ("ordinal", ASCENDING)]


def orders_query(robot: str | None, state: OrderState | None, symbol: str | None) -> Document:
    """The query for the orders ``OrderStore.orders`` asks for."""
    query: Document = {}
    for field, value in (("robot", robot), ("symbol", symbol)):
        if value is not None:
            query[field] = value
    if state is not None:
        query["state"] = state.value
    return query


def open_orders_query(robot: str | None = None) -> Document:
    """The query for the open orders (of ``robot``, if given)."""
    query: Document = {"state": {"$nin": _FINALS}}
    if robot is not None:
        query["robot"] = robot
    return query


def find_orders(orders: Collection[Document], query: Document) -> list[OrderRecord]:
    """The orders ``query`` selects, oldest first."""
    return [order_record(document) for document in orders.find(query).sort(_OLDEST)]


def trade_fills(trades: Collection[Document], robot: str | None, since_seq: int) -> list[Fill]:
    """The fills (of ``robot``, if given) with seq > ``since_seq``, in seq order per robot."""
    query: Document = {"seq": {"$gt": since_seq}}
    if robot is not None:
        query["name"] = robot
    cursor = trades.find(query).sort([("name", ASCENDING), ("seq", ASCENDING)])
    return [fill_of(document) for document in cursor]


def report_documents(reports: Collection[Document], robot: str, after_seq: int) -> list[Document]:
    """The robot's stored reports with seq > ``after_seq``, in seq order."""
    query = {"robot": robot, "seq": {"$gt": after_seq}}
    return list(reports.find(query).sort("seq", ASCENDING))


def report_payloads(
    reports: Collection[Document], robot: str, after_seq: int, limit: int
) -> list[tuple[int, bytes]]:
    """At most ``limit`` of the robot's reports after ``after_seq``: ``(seq, payload)``."""
    query = {"robot": robot, "seq": {"$gt": after_seq}}
    fields = {"seq": 1, "payload": 1, "_id": 0}
    cursor = reports.find(query, fields).sort("seq", ASCENDING).limit(limit)
    return [(int(document["seq"]), document["payload"].encode()) for document in cursor]


def highest_numbered(collection: Collection[Document], field: str, prefix: str) -> int:
    """The highest n of the ``field`` values spelled ``prefix`` then n in digits; 0 if none."""
    # From prefix + "0" up to prefix + ":", the character after "9": only the ids
    # that may be numbered are read, by trade_id's index where there is one.
    query = {field: {"$gte": f"{prefix}0", "$lt": f"{prefix}:"}}
    cursor = collection.find(query, {field: 1, "_id": 0})
    return highest_number((document[field] for document in cursor), prefix)


def last_seq(
    orders: Collection[Document],
    trades: Collection[Document],
    reports: Collection[Document],
    robot: str,
) -> int:
    """The robot's highest seq: of its reports, its trades and the journals its orders carry.

    A trade or journal a crash stranded holds a seq whose report is missing: a
    new report must not take it.
    """
    last = 0
    for collection, field in ((reports, "robot"), (trades, "name")):
        top = collection.find_one({field: robot}, {"seq": 1}, sort=[("seq", DESCENDING)])
        if top is not None:
            last = max(last, int(top["seq"]))
    query = {"robot": robot, REPORT_SEQ: {"$gt": 0}}  # orders carrying a journal
    top = orders.find_one(query, {REPORT_SEQ: 1}, sort=[(REPORT_SEQ, DESCENDING)])
    return last if top is None else max(last, int(top[REPORT_SEQ]))


def last_ordinal(orders: Collection[Document]) -> int:
    """The ``ordinal`` of the order inserted last; 0 if there is none."""
    last = orders.find_one({}, {"ordinal": 1}, sort=[("ordinal", DESCENDING)])
    return 0 if last is None else int(last["ordinal"])
