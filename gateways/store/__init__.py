"""The order store: one contract (:mod:`.base`), a backend per database, chosen by URL.

``open_store("sqlite:///yard-data/orders.db")`` gives the embedded default;
``open_store("mongodb://host:27017/yard")`` gives MongoDB, whose ``trades``
collection hosts can also follow with a change stream
(:meth:`MongoOrderStore.watch_fills`).
"""

from __future__ import annotations

from typing import Final

from gateways.store.base import (
    FINAL_STATES,
    TRANSITIONS,
    OrderRecord,
    OrderState,
    OrderStore,
    Report,
    ReportRecord,
    StateChange,
    TradeRecord,
    check_transition,
)
from gateways.store.mongo import FillWatch, MongoOrderStore
from gateways.store.sqlite import SQLiteOrderStore
from yard_actors.errors import StoreError

__all__ = [
    "FINAL_STATES",
    "TRANSITIONS",
    "FillWatch",
    "MongoOrderStore",
    "OrderRecord",
    "OrderState",
    "OrderStore",
    "Report",
    "ReportRecord",
    "SQLiteOrderStore",
    "StateChange",
    "StoreError",
    "TradeRecord",
    "check_transition",
    "open_store",
]

_SQLITE: Final = "sqlite:///"
_MONGO: Final = ("mongodb://", "mongodb+srv://")
_FORMS: Final = (
    "sqlite:///relative/path.db, sqlite:////absolute/path.db, sqlite:///:memory: "
    "or mongodb://host:port/database"
)


def open_store(url: str) -> OrderStore:
    """Open the order store at ``url``; raise StoreError if it cannot be opened.

    ``sqlite:///`` then a path, SQLAlchemy-style: three slashes and a relative
    path, four for an absolute one (``sqlite:////var/yard/orders.db``), or
    ``sqlite:///:memory:`` for a private store that lives as long as the object.
    ``mongodb://`` or ``mongodb+srv://`` URLs go to pymongo as they are; the
    database is the URL's path, ``yard`` when it has none.
    """
    if url.startswith(_SQLITE) and len(url) > len(_SQLITE):
        return SQLiteOrderStore(url[len(_SQLITE) :])
    if url.startswith(_MONGO):
        return MongoOrderStore(url)
    msg = f"The order store URL {url!r} is not one yard understands; use {_FORMS}"
    raise StoreError(msg)
