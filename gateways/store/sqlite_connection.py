"""The SQLite order store's connection: how it is opened, one lock, its transactions and batches.

One connection in WAL mode with ``synchronous=NORMAL``: readers in other
processes never block the writer, and a commit costs a write to the WAL but no
fsync. The fsyncs come with the checkpoints, which copy the WAL back into the
file. Those run on a second connection in a thread of the store's own
(:mod:`._checkpoint`) every ``checkpoint_interval_s``; the writer's automatic
checkpoint, every 10,000 pages of WAL inside the commit that crosses the mark,
then finds almost nothing left to do, and starts the WAL over. A commit
survives a crash of the process; a power loss or OS crash may lose the last
commits, never half of one. The connection is shared by the gateway's threads
behind one lock (``check_same_thread=False``).

Apart from :mod:`.sqlite`, which says what each call of the :class:`OrderStore`
contract writes and reads: this module only opens the file (:func:`open_database`)
and runs statements, as one transaction per call or as part of the batch in
progress, holds the lock that serialises the gateway's threads on the shared
connection, and raises sqlite3 errors as StoreError. When a failure undoes a
transaction it calls the store back (``on_undo``), so the store forgets what it
remembered of the undone writes.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Final

from gateways.store._checkpoint import Checkpointer
from yard_actors.errors import StoreError

__all__ = ["Guarded", "SQLiteConnection", "Statement", "open_database"]

Statement = tuple[str, Sequence[Any]]
"""A statement and its parameters, as ``execute`` takes them."""

# The writer's own checkpoint, in pages: 10,000 (40 MB), not 1,000, so that a page
# written by many commits is copied once, and the rare stall is short.
_WAL_AUTOCHECKPOINT: Final = 10_000


def open_database(
    path: str, schemas: Sequence[str], *, checkpoint_interval_s: float | None
) -> tuple[sqlite3.Connection, Checkpointer | None]:
    """Open the file at ``path`` in WAL mode, its tables made by ``schemas``; and its checkpointer.

    Creates the file and its parent directories as needed. The connection is in
    autocommit mode (``isolation_level=None``), as :class:`SQLiteConnection`
    takes it. There is no checkpointer for ``":memory:"``, which keeps its
    journal in memory, nor with ``checkpoint_interval_s=None``. Raises
    StoreError (with the error as its cause) if the file cannot be opened.
    """
    db: sqlite3.Connection | None = None
    checkpointer = None
    try:
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        (mode,) = db.execute("PRAGMA journal_mode=WAL").fetchone()
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute(f"PRAGMA wal_autocheckpoint={_WAL_AUTOCHECKPOINT}")
        for schema in schemas:
            db.executescript(schema)
        if mode == "wal" and checkpoint_interval_s is not None:
            checkpointer = Checkpointer(path, interval_s=checkpoint_interval_s)
    except (OSError, sqlite3.Error) as exc:
        if db is not None:
            db.close()
        msg = f"The SQLite order store at {path} cannot be opened: {exc}"
        raise StoreError(msg) from exc
    return db, checkpointer


class _Batch:
    """The batch in progress: ``begun`` once its transaction is open, ``failed`` once a
    call in it failed."""

    def __init__(self) -> None:
        self.begun = False
        self.failed = False


class Guarded:
    """Hold the store's lock and raise sqlite3 errors as StoreError, for one call.

    A class rather than a generator-based context manager: it is entered on
    every call, and this costs a third as much.
    """

    __slots__ = ("_action", "_lock", "_path")

    def __init__(self, lock: threading.RLock, path: str, action: str) -> None:
        self._lock = lock
        self._path = path
        self._action = action

    def __enter__(self) -> None:
        self._lock.acquire()

    def __exit__(self, kind: object, exc: BaseException | None, traceback: object) -> None:
        self._lock.release()
        if isinstance(exc, sqlite3.Error):
            msg = f"The SQLite order store at {self._path} failed to {self._action}: {exc}"
            raise StoreError(msg) from exc


class SQLiteConnection:
    """The store's one connection, shared by any thread behind :attr:`lock`.

    Takes a connection already opened (in autocommit mode: ``isolation_level=None``)
    at ``path``, the name its errors give; :meth:`detach` gives it back to be closed.
    """

    def __init__(self, db: sqlite3.Connection, path: str, *, on_undo: Callable[[], None]) -> None:
        self.path = path
        self.lock = threading.RLock()
        self._db: sqlite3.Connection | None = db
        self._batch: _Batch | None = None
        self._on_undo = on_undo

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Run the writes inside the block as one transaction (see ``SQLiteOrderStore.batch``)."""
        with self.lock:
            if self._batch is not None:
                yield
                return
            self.conn()  # a closed store raises here, as on any call
            self._batch = batch = _Batch()
            try:
                yield
                if batch.failed:
                    msg = f"The batch on {self.path} was undone after a failure inside it"
                    raise StoreError(msg)
                if batch.begun:
                    with self.guarded("commit a batch"):
                        self.conn().execute("COMMIT")
            except BaseException:
                self._abandon()
                raise
            finally:
                self._batch = None

    def write(self, first: Statement, *rest: Statement) -> bool:
        """Run the statements as one transaction, or as part of the batch in progress.

        Returns False, having run nothing more, if ``first`` changed no row (an
        ``INSERT OR IGNORE`` that found its key taken).
        """
        db, batch = self.conn(), self._batch
        if batch is not None and batch.failed:
            msg = f"The batch on {self.path} was undone after a failure; end it and start anew"
            raise StoreError(msg)
        try:
            if batch is None:
                db.execute("BEGIN")
            elif not batch.begun:
                db.execute("BEGIN")
                batch.begun = True
            written = db.execute(*first).rowcount > 0
            if written:
                for statement in rest:
                    db.execute(*statement)
            if batch is None:
                db.execute("COMMIT")
        except BaseException:
            # A call half done inside a batch cannot be undone alone: undo the batch.
            self._abandon()
            if batch is not None:
                batch.failed = True
            raise
        return written

    def _abandon(self) -> None:
        # Roll back, and have the store forget what memory holds: it may include the undone
        # writes.
        self._on_undo()
        with contextlib.suppress(sqlite3.Error):
            if self._db is not None and self._db.in_transaction:
                self._db.execute("ROLLBACK")

    def guarded(self, action: str) -> Guarded:
        """Hold the lock and raise sqlite3 errors as StoreError naming ``action``."""
        return Guarded(self.lock, self.path, action)

    def conn(self) -> sqlite3.Connection:
        """The connection; StoreError once the store is closed."""
        if self._db is None:
            msg = f"The SQLite order store at {self.path} is closed; open a new one"
            raise StoreError(msg)
        return self._db

    def detach(self) -> sqlite3.Connection | None:
        """Take the connection away, to close it: every call after this raises StoreError."""
        db, self._db = self._db, None
        return db
