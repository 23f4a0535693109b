"""Following the MongoDB order store's ``trades`` collection: fills as they are stored.

A server that honours ``maxAwaitTimeMS`` holds each getMore until a change
comes (or 0.1 s pass), so :meth:`FillWatch.next` waits there. nx-27017 answers
every getMore at once, so the watch polls instead, pausing between empty
polls. The pause adapts: :data:`BUSY_PAUSE_S` while fills have been coming
(within :data:`BUSY_FOR_S` of the last one), where a fill is seen about one
server round trip after it is stored; then doubling on each empty poll up to
:data:`IDLE_PAUSE_S`, so an idle host costs the server about 100 polls a second
and not thousands.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any, Final

from pymongo.change_stream import ChangeStream
from pymongo.collection import Collection

from gateways.store.mongo_documents import Document, fill_of
from gateways.store.mongo_errors import translated
from yard_actors.wire.events import Fill

__all__ = ["AWAIT_MS", "BUSY_FOR_S", "BUSY_PAUSE_S", "IDLE_PAUSE_S", "FillWatch", "watch_trades"]

AWAIT_MS: Final = 100  # how long a server that honours maxAwaitTimeMS holds a getMore
BUSY_PAUSE_S: Final = 0.0005  # the pause between empty polls while fills are coming
BUSY_FOR_S: Final = 1.0  # how long after a fill the watch keeps polling at that pace
IDLE_PAUSE_S: Final = 0.01  # the longest pause between empty polls, when idle


class FillWatch:
    """A change stream on the ``trades`` collection, giving fills and resume tokens.

    Use it from one thread. :meth:`next` blocks for at most about ``timeout``
    (plus up to 0.1 s on a server that holds a getMore for maxAwaitTimeMS).
    ``busy_pause``, ``busy_for`` and ``idle_pause`` (seconds) set the polling
    described in the module docstring.
    """

    def __init__(
        self,
        stream: ChangeStream[Document],
        where: str,
        *,
        busy_pause: float = BUSY_PAUSE_S,
        busy_for: float = BUSY_FOR_S,
        idle_pause: float = IDLE_PAUSE_S,
    ) -> None:
        self._stream = stream
        self._where = where
        self._busy_pause = busy_pause
        self._busy_for = busy_for
        self._idle_pause = max(idle_pause, busy_pause)
        self._last_fill = float("-inf")  # monotonic time of the last change seen
        self._pause = self._idle_pause

    def next(self, timeout: float) -> tuple[Fill, Mapping[str, Any]] | None:
        """The next fill (with its seq) and the token to resume after it; None on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            with translated(self._where, "read the stream of fills"):
                change = self._stream.try_next()
            now = time.monotonic()
            if change is not None:
                self._last_fill = now
                self._pause = self._busy_pause
                return fill_of(change["fullDocument"]), change["_id"]
            remaining = deadline - now
            if remaining <= 0:
                return None
            time.sleep(min(self._next_pause(now), remaining))

    def _next_pause(self, now: float) -> float:
        if now - self._last_fill < self._busy_for:
            return self._busy_pause
        self._pause = min(self._idle_pause, self._pause * 2)  # idle: back off
        return self._pause

    @property
    def resume_token(self) -> Mapping[str, Any] | None:
        """The point the stream has read to (past fills it filtered out too)."""
        return self._stream.resume_token

    def close(self) -> None:
        """Stop watching; idempotent."""
        with translated(self._where, "close the stream of fills"):
            self._stream.close()

    def __enter__(self) -> FillWatch:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def watch_trades(
    trades: Collection[Document],
    robots: Sequence[str],
    *,
    resume_after: Mapping[str, Any] | None,
    where: str,
) -> FillWatch:
    """A watch on the fills of ``robots`` inserted in ``trades``, after ``resume_after`` if given.

    Raises pymongo's errors as they come (the store translates them); ``where``
    names the database in the watch's own errors.
    """
    match = {"operationType": "insert", "fullDocument.name": {"$in": list(robots)}}
    stream = trades.watch(
        [{"$match": match}], resume_after=resume_after, max_await_time_ms=AWAIT_MS
    )
    return FillWatch(stream, where)
