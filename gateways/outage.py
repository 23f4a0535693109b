"""An order store outage as the gateway lives through it: noticed, retried with backoff, ended.

While the store is down the gateway refuses new orders at once, without
asking the store, and keeps what it must write (:attr:`StoreOutage.held`: the
batch the failure undid, the exchange's reports since, its refusals) in
order. Meanwhile a thread of this module tries again after 0.1 s, 0.2 s,
0.4 s... (at most ``max_delay_s`` apart): it opens the store anew when the
gateway was given a way to (a MongoDB store whose writes behind failed stays
unusable otherwise; the failed one is then discarded at once, so that nothing
it held is written late, racing the fresh one), else takes the same one, and
writes the first of what is held (:func:`~gateways.recording.rewrite`, at most
100 items). Once that succeeds, :attr:`StoreOutage.ready` says so and the
gateway's own thread publishes it, writes the rest and ends the outage; if
that write fails, :meth:`StoreOutage.retry` starts the thread again, the
backoff going on from where it was.

The tries run off the gateway's thread so that a store slow to fail (pymongo
waits ``serverSelectionTimeoutMS``, 30 s unless the URL says otherwise; SQLite
waits 5 s for another writer's lock) does not stop the gateway answering
meanwhile. The gateway's thread does not touch the store while an outage lasts.
But once a try has shown that the store takes writes, the gateway's thread
writes the rest itself, taking no command meanwhile: robots that place another
order on each refusal can make refusals (each a write) faster than a slow
store takes them, and a try writing the whole backlog off the thread would
then never catch up with them (nx-27017 under load: 12,000 held writes, 15 s).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Final

import attrs

from gateways.recording import Held, Refusal, Rewritten
from gateways.store.base import OrderStore
from yard_actors.errors import StoreError
from yard_actors.wire.events import NewOrder

__all__ = ["FIRST_DELAY_S", "MAX_DELAY_S", "Ready", "StoreOutage"]

logger = logging.getLogger(__name__)

FIRST_DELAY_S: Final = 0.1
MAX_DELAY_S: Final = 5.0
_FIRST_WRITES: Final = 100  # held items a try writes: enough to know the store takes them
_LOG_FIRST_TRIES: Final = 3  # failed tries logged in full, then one in this many:
_LOG_EVERY_TRIES: Final = 12  # at the longest delay, about once a minute

Rewrite = Callable[[OrderStore, Sequence[Held], Mapping[str, int]], Rewritten]


@attrs.frozen(kw_only=True)
class Ready:
    """A try that worked: ``store`` took the first ``count`` held writes."""

    store: OrderStore
    count: int
    rewritten: Rewritten


class StoreOutage:
    """One outage of ``store``, from the failure that began it to the write that ends it.

    ``reopen`` (None: try ``store`` itself) opens a fresh store; ``rewrite``
    writes held items to a store, after what was published (``published``:
    each robot's last report seq sent). The gateway's thread holds items,
    reads :attr:`ready`, calls :meth:`swap`, :meth:`retry` and :meth:`end`;
    this outage's thread tries the store. Starting logs the outage at ERROR,
    :meth:`end` its end at WARNING.
    """

    def __init__(
        self,
        error: StoreError,
        store: OrderStore,
        *,
        reopen: Callable[[], OrderStore] | None,
        rewrite: Rewrite,
        published: Mapping[str, int],
        max_delay_s: float = MAX_DELAY_S,
    ) -> None:
        self.error = str(error)
        self.since = time.monotonic()
        self.attempts = 0  # tries of the store, by this outage's thread
        self.refused = 0  # new orders refused meanwhile, by the gateway's thread
        self.written = 0  # held writes stored, by either
        self.held: list[Held] = []  # to write once the store answers, in order
        self.held_ids: set[str] = set()  # the client order ids of the orders among them
        self._store = store  # the store in use
        self._reopen = reopen
        self._rewrite = rewrite
        self._published = dict(published)
        self._delay = FIRST_DELAY_S
        self._max_delay = max_delay_s
        self._closed = threading.Event()
        self._ready: Ready | None = None
        if reopen is not None:
            # Never written to again: stop what it would still write (a write behind,
            # late, racing the fresh store's rewrite), and its calls waiting on a server.
            store.discard()
        logger.error(
            "order gateway: the order store failed; new orders are refused and the store is "
            "tried again with backoff until it answers: %s",
            error,
        )
        self._start()

    @property
    def ready(self) -> Ready | None:
        """Set once a try wrote what was held when it began; None until then."""
        return self._ready

    @property
    def seconds(self) -> float:
        return time.monotonic() - self.since

    def hold(self, items: Sequence[Held]) -> None:
        """Keep ``items`` to write once the store answers, after what is held already."""
        self.held.extend(items)
        for item in items:
            if isinstance(item, Refusal):
                self.held_ids.add(item.order.client_order_id)
            elif isinstance(item, NewOrder):
                self.held_ids.add(item.client_order_id)

    def swap(self, store: OrderStore) -> tuple[OrderStore, list[Held]]:
        """Take the ready store in place of ``store`` (discarded if replaced); return the
        store and the items held since the try began, still to write."""
        ready = self._ready
        assert ready is not None  # only once a try succeeded
        if ready.store is not store:
            store.discard()
        self._store = ready.store
        self.written += ready.count
        rest = self.held[ready.count :]
        return ready.store, rest

    def retry(self, error: StoreError, rest: Sequence[Held], published: Mapping[str, int]) -> None:
        """Writing ``rest`` failed: hold only it, and try again after the next delay."""
        self.error = str(error)
        self._ready = None
        self.held, self.held_ids = [], set()
        self.hold(rest)
        self._published = dict(published)
        self._start()

    def end(self, written: int) -> None:
        """The held writes are stored (``written`` by the gateway's thread): stop, say so."""
        self._closed.set()
        self.written += written
        logger.warning(
            "order gateway: the order store answers again after %.1f s and %d tries; %d held "
            "writes stored, %d new orders refused meanwhile",
            *(self.seconds, self.attempts, self.written, self.refused),
        )

    def close(self) -> None:
        """Stop trying (the gateway stops); a store a try opens after this is closed."""
        self._closed.set()

    def _start(self) -> None:
        thread = threading.Thread(target=self._run, name="yard-store-retry", daemon=True)
        thread.start()

    def _run(self) -> None:
        while not self._closed.wait(self._delay):
            self._delay = min(self._delay * 2, self._max_delay)
            self.attempts += 1
            try:
                ready = self._attempt()
            except StoreError as exc:
                self.error = str(exc)
                if self.attempts <= _LOG_FIRST_TRIES or self.attempts % _LOG_EVERY_TRIES == 0:
                    logger.warning(
                        "order gateway: the order store is still unavailable after %.1f s "
                        "(try %d; next in %.1f s): %s",
                        *(self.seconds, self.attempts, self._delay, exc),
                    )
                continue
            if self._closed.is_set():
                self._discard(ready.store)
                return
            self._ready = ready
            return

    def _attempt(self) -> Ready:
        """Write the first held items to a fresh store if it can open one, else to the same."""
        store = self._store if self._reopen is None else self._reopen()
        count = min(len(self.held), _FIRST_WRITES)  # the rest is the gateway thread's
        try:
            rewritten = self._rewrite(store, self.held[:count], self._published)
        except StoreError:
            self._discard(store)
            raise
        return Ready(store=store, count=count, rewritten=rewritten)

    def _discard(self, store: OrderStore) -> None:
        if store is not self._store:
            store.discard()
