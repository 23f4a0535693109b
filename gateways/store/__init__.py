"""The order store: one contract (:mod:`.base`), a backend per database, chosen by URL.

``open_store("sqlite:///yard-data/orders.db")`` gives the embedded default;
``open_store("mongodb://host:27017/yard")`` gives MongoDB, whose ``trades``
collection hosts can also follow with a change stream
(:meth:`MongoOrderStore.watch_fills`).
"""

from __future__ import annotations

from collections.abc import Callable
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
    "reopener",
    "with_retry_timeouts",
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


def reopener(url: str) -> Callable[[], OrderStore] | None:
    """How a gateway opens its store at ``url`` anew after an outage; None if it cannot.

    A store that failed may stay unusable (a MongoDB store whose write behind
    failed refuses every call after), so the gateway's retries open a fresh
    one, with short timeouts (:func:`with_retry_timeouts`). A private
    in-memory store cannot be opened again: it would come back empty.
    ``yard gateway`` and ``yard run`` give their gateway this.
    """
    if url.endswith(":memory:"):
        return None
    retry_url = with_retry_timeouts(url)

    def reopen() -> OrderStore:
        return open_store(retry_url)

    return reopen


# pymongo's defaults wait 30 s to select a server and forever on a socket: one retry begun
# while the server is down would hold the retry loop far past its backoff.
_RETRY_TIMEOUTS_MS: Final = {
    "serverSelectionTimeoutMS": 2000,
    "connectTimeoutMS": 2000,
    "socketTimeoutMS": 5000,
}


def with_retry_timeouts(url: str) -> str:
    """``url`` with short MongoDB timeouts for the store's retries; the URL's own win."""
    if not url.startswith("mongodb"):
        return url
    base, _, query = url.partition("?")
    given = {part.split("=", 1)[0].lower() for part in query.split("&") if part}
    extra = [f"{k}={v}" for k, v in _RETRY_TIMEOUTS_MS.items() if k.lower() not in given]
    if not extra:
        return url
    if "/" not in base.split("://", 1)[1]:
        base += "/"  # mongodb://host?x=1 is not a valid URI: the options follow a path
    return f"{base}?{'&'.join(filter(None, (query, *extra)))}"


def __getattr__(name: str) -> Any:
    # pymongo costs ~0.3 s at start-up; only a MongoDB store (or a caller naming one) pays it.
    if name in ("FillWatch", "MongoOrderStore"):
        from gateways.store import mongo  # noqa: PLC0415 - loaded on first use

        return getattr(mongo, name)
    msg = f"module 'gateways.store' has no attribute {name!r}"
    raise AttributeError(msg)
