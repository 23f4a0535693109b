"""The order store: one contract (:mod:`.base`), a backend per database, chosen by URL.

``open_store("sqlite:///yard-data/orders.db")`` gives the embedded default;
``open_store("mongodb://host:27017/yard")`` gives MongoDB, whose ``trades``
collection hosts can also follow with a change stream
(:meth:`MongoOrderStore.watch_fills`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from gateways.store.base import (
    FINAL_STATES,
    TRANSITIONS,
    OrderRecord,
    OrderState,
    OrderStore,
    Report,
    ReportRecord,
    StateChange,
    TradeClashError,
    TradeRecord,
    check_transition,
)
from gateways.store.sqlite import SQLiteOrderStore
from yard_actors.errors import StoreError

if TYPE_CHECKING:
    from gateways.store.mongo import FillWatch, MongoOrderStore

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
    "TradeClashError",
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
        from gateways.store.mongo import MongoOrderStore  # noqa: PLC0415 - see __getattr__

        return MongoOrderStore(url)
    msg = f"The order store URL {url!r} is not one yard understands; use {_FORMS}"
    raise StoreError(msg)


def __getattr__(name: str) -> Any:
    # pymongo costs ~0.3 s at start-up; only a MongoDB store (or a caller naming one) pays it.
    if name in ("FillWatch", "MongoOrderStore"):
        from gateways.store import mongo  # noqa: PLC0415 - loaded on first use

        return getattr(mongo, name)
    msg = f"module 'gateways.store' has no attribute {name!r}"
    raise AttributeError(msg)
