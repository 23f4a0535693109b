"""The MongoDB order store's collections and their indexes, made sure of each time a store opens.

Collections: ``orders`` (``_id`` is the client order id; the history and the
ids of the trades applied are arrays in the document; ``version`` counts its
changes; ``ordinal`` numbers the orders in insertion order), ``trades`` (one
document per fill, with ``name`` = the robot, ``seq`` and the fill's fields;
``trade_id`` unique, ``(name, seq)`` unique), ``reports`` (``robot``, ``seq``,
``payload`` = the report as yard's JSON text; ``(robot, seq)`` unique) and
``robot_owners`` (:mod:`.mongo_owners`). The documents are in :mod:`.mongo_documents`.

Apart from :mod:`.mongo`, which writes and reads them: this module says which
collections a database holds and which indexes the store relies on, for its
queries and for its duplicate checks (a unique index refusing a second trade id
or seq is how a repeat is told). Creating an index that exists is a no-op, so
every store that opens makes sure of them all, on a new database or an old one.
"""

from __future__ import annotations

from typing import NamedTuple

from pymongo import ASCENDING
from pymongo.collection import Collection
from pymongo.database import Database

from gateways.store.mongo_documents import REPORT_SEQ, Document

__all__ = ["Collections", "open_collections"]


class Collections(NamedTuple):
    """The store's four collections in one database."""

    orders: Collection[Document]
    trades: Collection[Document]
    reports: Collection[Document]
    owners: Collection[Document]


def open_collections(database: Database[Document]) -> Collections:
    """The store's collections in ``database``, each index created if it is missing.

    Raises pymongo's errors as they come (the store translates them).
    """
    collections = Collections(
        database["orders"], database["trades"], database["reports"], database["robot_owners"]
    )
    orders, trades, reports, _ = collections
    oldest = [("created_ts", ASCENDING), ("ordinal", ASCENDING)]
    orders.create_index(oldest)
    for field in ("robot", "state", "symbol"):
        orders.create_index([(field, ASCENDING), *oldest])
    trades.create_index("trade_id", unique=True)
    trades.create_index([("name", ASCENDING), ("seq", ASCENDING)], unique=True)
    reports.create_index([("robot", ASCENDING), ("seq", ASCENDING)], unique=True)
    # Each robot's orders carrying a journal, highest seq first: last_seq and repair.
    orders.create_index([("robot", ASCENDING), (REPORT_SEQ, ASCENDING)])
    return collections
