"""Copy the SQLite store's WAL back into its file from a thread of its own.

SQLite checkpoints inside whichever commit takes the WAL past
``wal_autocheckpoint`` pages, and that checkpoint fsyncs the WAL, copies every
page changed since the last one and fsyncs the file: 20-40 ms for 10,000 pages
here, on the gateway's thread, while every report of its burst waits.

This thread runs a ``PASSIVE`` checkpoint every ``interval_s`` on a second
connection, so that by the time the writer's own checkpoint comes, nearly all
of that work (the fsyncs included) is done: it finds a few pages left. The
writer's checkpoint stays on (the store keeps it) because only the writer can
start the WAL over: a passive checkpoint never waits for the writer's lock, so
the writer has always appended more by the time it ends, and a WAL nobody
restarts grows without end (and every commit gets slower with it).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
from typing import Final

__all__ = ["Checkpointer"]

logger = logging.getLogger(__name__)

_PASSIVE: Final = "PRAGMA wal_checkpoint(PASSIVE)"


class Checkpointer:
    """A daemon thread checkpointing the WAL of the SQLite file at ``path``.

    Opens its connection at construction (an ``sqlite3.Error`` if it cannot) and
    starts; :meth:`stop` ends it and closes the connection. A failed checkpoint
    is logged and tried again at the next interval: nothing is lost, the writer's
    own checkpoint just has more to do.
    """

    def __init__(self, path: str, *, interval_s: float) -> None:
        self.path = path
        self.checkpoints = 0
        self._interval_s = interval_s
        self._stopping = threading.Event()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._thread = threading.Thread(
            target=self._run, name="yard-sqlite-checkpoint", daemon=True
        )
        self._thread.start()

    def _run(self) -> None:
        # On Linux, run only when a CPU has nothing else to do: the copying and the
        # fsyncs then never take a CPU from the gateway's or a host's threads. The
        # call sets this thread alone (pid 0); where it is missing, it runs as it is.
        with contextlib.suppress(AttributeError, OSError):
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
        try:
            while not self._stopping.wait(self._interval_s):
                self._checkpoint()
        finally:
            self._db.close()

    def _checkpoint(self) -> None:
        # sqlite3 drops the GIL while SQLite works, so the fsyncs cost the other threads nothing.
        try:
            self._db.execute(_PASSIVE).fetchall()
        except sqlite3.Error as exc:
            logger.warning("SQLite store at %s: a WAL checkpoint failed: %s", self.path, exc)
            return
        self.checkpoints += 1

    def stop(self, timeout: float = 5.0) -> None:
        """End the thread after the checkpoint in progress, if any; idempotent."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
