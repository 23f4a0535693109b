"""The MongoDB order store's connection: its client and lock, opened, used and let go.

Apart from :mod:`.mongo`, which says what each call of the
:class:`~gateways.store.base.OrderStore` contract writes and reads: this
module opens the database (the collections made sure of,
:mod:`.mongo_collections`), holds the lock that serialises the gateway's
threads on the store, refuses a call once the store is closed or a write
behind it failed, turns pymongo's errors into StoreError naming what was being
done (:mod:`.mongo_errors`), and lets the client go: at once when the store is
given up on, after writing what is due when it closes. As
:mod:`.sqlite_connection` does for SQLite.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator

from pymongo import MongoClient

from gateways.store.mongo_collections import Collections, open_collections
from gateways.store.mongo_documents import Document
from gateways.store.mongo_errors import FOREIGN_ERRORS, redacted, translated
from gateways.store.mongo_pending import PendingWrites
from gateways.store.mongo_reads import last_ordinal
from yard_actors.errors import StoreError

__all__ = ["MongoConnection"]


class MongoConnection:
    """A client of the database named by ``url`` (``yard`` if it names none), and its lock.

    Connecting raises StoreError if the server cannot be reached within
    pymongo's server selection timeout (30 s unless the URL sets
    ``serverSelectionTimeoutMS``). It reads the :attr:`collections`, the
    highest ``ordinal`` of their orders (:attr:`last_ordinal`: the store
    numbers new ones after it) and makes the store's writes held in memory,
    :attr:`pending`; ``on_forget`` is called when a failed write makes memory
    untrustworthy (the store drops its seq counters then).
    """

    def __init__(self, url: str, *, on_forget: Callable[[], None]) -> None:
        self.url = redacted(url)
        self.lock = threading.RLock()
        self.where = self.url  # names the store in error messages
        self._client: MongoClient[Document] | None = None
        with translated(self.where, "connect"):
            self._client = MongoClient(url)
            try:
                database = self._client.get_default_database("yard")
                self.where = f"database {database.name!r} at {self.url}"
                self.collections: Collections = open_collections(database)
                self.last_ordinal = last_ordinal(self.collections.orders)
                self.pending = PendingWrites(
                    self.collections.orders,
                    self.collections.reports,
                    lock=self.lock,
                    where=self.where,
                    on_forget=on_forget,
                )
            except BaseException:
                self._client.close()
                raise

    @contextlib.contextmanager
    def call(self, action: str) -> Iterator[None]:
        """Hold the lock for one call of the store, its pymongo errors raised as StoreError.

        Raises StoreError at once if the store is closed, or unusable since a
        write behind failed.
        """
        with self.lock, translated(self.where, action):
            if self._client is None:
                msg = f"The MongoDB order store {self.where} is closed; open a new one"
                raise StoreError(msg)
            if self.pending.failure is not None:
                msg = f"The MongoDB order store {self.where} is unusable: {self.pending.failure}"
                raise StoreError(msg)
            yield

    def discard(self) -> None:
        """Write nothing more and disconnect, without the lock: a call in flight holds it.

        That call, and the write-behind thread's, fail at once instead of
        waiting for a server that is down; what they held the next store's
        repair writes from the journals.
        """
        self.pending.discard()
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(*FOREIGN_ERRORS):
                client.close()

    def close(self) -> None:
        """Write what is due (what fails stays in the trades' journals), then disconnect."""
        with self.lock:
            client, self._client = self._client, None
            if client is None:
                return
            try:
                if self.pending.failure is None:
                    with translated(self.where, "write what was due before closing"):
                        self.pending.write()
            finally:
                self.pending.close()
                with translated(self.where, "close"):
                    client.close()
