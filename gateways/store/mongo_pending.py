"""The MongoDB order store's writes held in memory: changed orders, reports due, their journals.

The gateway is the store's one writer, so the store keeps the open orders it
writes here and changes them without reading them first. Changes and reports
wait here and go out together (:meth:`PendingWrites.write`): one update per
changed order, on the condition that its stored ``version`` is still the one
this store wrote, then one insert of every report due.

A trade carries a *journal* of what waits here for its robot: once the trade
is in, those writes are safe from a crash (``repair`` writes them from the
journal), so they may wait longer: *behind*, until the next write that is not
journaled or :data:`BEHIND_S` at most, written then by a thread of this module.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Final

import attrs
import orjson
from pymongo import UpdateOne, errors
from pymongo.collection import Collection

from gateways.store.base import OrderRecord
from gateways.store.mongo_documents import REPORT_SEQ, Document, order_document, order_record
from yard_actors.errors import StoreError

__all__ = ["BEHIND_S", "OpenOrder", "PendingWrites", "without_id"]

logger = logging.getLogger(__name__)

BEHIND_S: Final = 0.02  # the longest journaled writes wait when nothing else comes


@attrs.define
class OpenOrder:
    """An open order this store writes, as it stands in memory."""

    record: OrderRecord
    trade_ids: list[str]
    version: int  # of ``record``: one more for each change
    stored: int  # of the document in the database

    def document(self) -> Document:
        """The order's document as it stands in memory."""
        return order_document(self.record, version=self.version, trade_ids=self.trade_ids)


class PendingWrites:
    """Open orders in memory, and what of them and of the reports is not written yet.

    Callers hold the store's lock (``lock``), which the write-behind thread
    takes too. ``where`` names the database in error messages; ``on_forget``
    is called when a failed write makes memory untrustworthy (the store drops
    its seq counters then).
    """

    def __init__(
        self,
        orders: Collection[Document],
        reports: Collection[Document],
        *,
        lock: threading.RLock,
        where: str,
        on_forget: Callable[[], None],
    ) -> None:
        self.open: dict[str, OpenOrder] = {}
        self._orders = orders
        self._reports = reports
        self._where = where
        self._on_forget = on_forget
        self._changed: dict[str, OpenOrder] = {}
        self._unjournaled: dict[str, dict[str, OpenOrder]] = {}  # per robot: changes no trade holds
        self._due: dict[str, list[Document]] = {}  # each robot's reports, in seq order
        self._journaled: dict[str, int] = {}  # how many of a robot's due reports a trade holds
        self._wake = threading.Condition(lock)
        self._behind_since: float | None = None
        self._writer: threading.Thread | None = None
        self._closed = False
        self._discarded = False  # given up on (discard): write nothing more
        self.failure: str | None = None  # why a write behind failed: the store is unusable

    def hold(self, document: Document) -> OpenOrder:
        """The stored order ``document`` as an entry, kept in :attr:`open` if it is open."""
        version = int(document["version"])
        entry = OpenOrder(order_record(document), list(document["trade_ids"]), version, version)
        if entry.record.is_open:
            self.open[entry.record.client_order_id] = entry
        return entry

    def entry(self, client_order_id: str) -> OpenOrder | None:
        """The order as the store holds it, read from the database if it does not yet."""
        entry = self.open.get(client_order_id)
        if entry is None:
            document = self._orders.find_one({"_id": client_order_id})
            if document is None:
                return None
            entry = self.hold(document)  # a final order is not kept: it never changes
        return entry

    def change(self, entry: OpenOrder, record: OrderRecord, trade_ids: list[str]) -> None:
        """Change an order in memory; it is written with the next :meth:`write`."""
        entry.record, entry.trade_ids = record, trade_ids
        entry.version += 1
        self._changed[record.client_order_id] = entry
        self._unjournaled.setdefault(record.robot, {})[record.client_order_id] = entry

    def add_report(self, robot: str, document: Document, *, journaled: bool = False) -> None:
        """Add a report to write; ``journaled`` if a trade already holds it."""
        due = self._due.setdefault(robot, [])
        due.append(document)
        if journaled:
            self._journaled[robot] = len(due)

    def journal(
        self, robot: str, entry: OpenOrder, after: OrderRecord, trade_ids: list[str]
    ) -> tuple[Document, Callable[[], None]]:
        """The journal of a trade of ``robot`` on ``entry``'s order, leaving it as ``after``.

        It holds ``after`` and each of the robot's writes waiting here that no
        earlier journal holds. Call the function returned once the trade is in.
        """
        journal, held = self._waiting(robot, leave_out=entry)
        journal["orders"].append(
            OpenOrder(after, trade_ids, entry.version + 1, entry.stored).document()
        )

        def written() -> None:
            self.change(entry, after, trade_ids)
            self._journaled_up_to(robot, held)

        return journal, written

    def journal_with(self, robot: str, report: Document) -> tuple[Document, Callable[[], None]]:
        """The journal of an order of ``robot`` stored rejected with its ``report``.

        It holds the robot's writes waiting here that no earlier journal holds,
        then ``report``. Call the function returned once the order is in: it
        adds ``report`` to write, as journaled.
        """
        journal, held = self._waiting(robot, leave_out=None)
        journal["reports"].append(report)

        def written() -> None:
            self._journaled_up_to(robot, held)
            self.add_report(robot, report, journaled=True)

        return journal, written

    def _waiting(self, robot: str, *, leave_out: OpenOrder | None) -> tuple[Document, int]:
        """The robot's writes no journal holds yet (but ``leave_out``'s), and its reports due."""
        others = [
            other.document()
            for other in self._unjournaled.get(robot, {}).values()
            if other is not leave_out
        ]
        due = self._due.get(robot, [])
        return {"orders": others, "reports": due[self._journaled.get(robot, 0) :]}, len(due)

    def _journaled_up_to(self, robot: str, held: int) -> None:
        self._unjournaled.pop(robot, None)
        self._journaled[robot] = held

    def _all_journaled(self) -> bool:
        return not self._unjournaled and all(
            len(due) == self._journaled.get(robot, 0) for robot, due in self._due.items()
        )

    def write(self, *, behind: bool = False) -> None:
        """Write the changed orders, then the reports due; on failure forget everything.

        With ``behind``, writes that trades' journals all hold may wait (up to
        :data:`BEHIND_S`, on this module's thread).
        """
        if not self._changed and not self._due:
            return
        if behind and self._all_journaled():
            self._write_behind()
            return
        try:
            if self._changed:
                self._write_orders(list(self._changed.values()))
                self._changed.clear()
                self._unjournaled.clear()
            if self._due:
                self._reports.insert_many([doc for due in self._due.values() for doc in due])
                self._due.clear()
                self._journaled.clear()
            self._behind_since = None
        except BaseException:
            self.forget()
            raise

    def _write_orders(self, changed: list[OpenOrder]) -> None:
        journals = self._order_journals()
        # The orders carrying a journal first: the writes are ordered, so an order of a
        # robot written without the carrier of its robot's journal cannot be.
        changed.sort(key=lambda entry: entry.record.client_order_id not in journals)
        updates = [
            (
                {"_id": entry.record.client_order_id, "version": entry.stored},
                {
                    "$set": without_id(entry.document())
                    | journals.get(entry.record.client_order_id, {})
                },
            )
            for entry in changed
        ]
        if len(updates) == 1:
            matched = self._orders.update_one(*updates[0]).matched_count
        else:
            bulk = [UpdateOne(where, change) for where, change in updates]
            matched = self._orders.bulk_write(bulk, ordered=True).matched_count
        if matched != len(updates):
            ids = ", ".join(entry.record.client_order_id for entry in changed)
            msg = (
                f"Order {ids} changed in {self._where} while this store was writing it; "
                "is another gateway writing to it?"
            )
            raise StoreError(msg)
        for entry in changed:
            entry.stored = entry.version
            if not entry.record.is_open:
                self.open.pop(entry.record.client_order_id, None)

    def _order_journals(self) -> dict[str, Document]:
        """The journal fields of one changed order per robot whose reports no trade journals.

        The orders are written before the reports: a crash in between would leave
        an order changed (cancelled, say) with no report of it for its robot to
        hear. So the first of a robot's changes that no trade journals carries a
        journal of the others and of the robot's reports that no trade holds,
        and the highest of their seqs as ``report_seq``, as an order
        ``add_rejected`` stored does; ``repair`` completes it alike.
        """
        journals: dict[str, Document] = {}
        for robot, entries in self._unjournaled.items():
            due = self._due.get(robot, [])[self._journaled.get(robot, 0) :]
            if not entries or not due:
                continue  # no order change without its report, or no report of a change
            carrier, *others = entries.values()
            journal = {"orders": [other.document() for other in others], "reports": due}
            journals[carrier.record.client_order_id] = {
                "journal": orjson.dumps(journal).decode(),
                REPORT_SEQ: max(int(report["seq"]) for report in due),
            }
        return journals

    def forget(self) -> None:
        """Drop every order and write held here: the truth is read again next time."""
        self.open.clear()
        self._changed.clear()
        self._unjournaled.clear()
        self._due.clear()
        self._journaled.clear()
        self._behind_since = None
        self._on_forget()

    # --- writing behind -----------------------------------------------------------------

    def _write_behind(self) -> None:
        if self._behind_since is None:
            self._behind_since = time.monotonic()
        if self._writer is None:
            self._writer = threading.Thread(
                target=self._run, name="yard-mongo-write-behind", daemon=True
            )
            self._writer.start()
        self._wake.notify()

    def _run(self) -> None:
        # Holds the store's lock except while it waits: a call never sees half a write.
        with self._wake:
            while not self._closed:
                if self._behind_since is None:
                    self._wake.wait()
                    continue
                delay = self._behind_since + BEHIND_S - time.monotonic()
                if delay > 0:
                    self._wake.wait(delay)
                    continue
                if self._discarded:
                    return
                try:
                    self.write()
                except Exception as exc:
                    self._failed(exc)
                    return

    def _failed(self, exc: Exception) -> None:
        self.failure = (
            f"a write behind failed ({exc}); the trades' journals hold it: a store opened "
            "anew completes it (repair(), which the gateway calls at start and after an outage)"
        )
        if self._discarded:
            return  # the gateway gave up on this store already, and said why
        # A server or network failure is an outage the gateway rides out, not a bug.
        expected = isinstance(exc, StoreError | errors.PyMongoError)
        logger.error(
            "the MongoDB order store %s: %s",
            *(self._where, self.failure),
            exc_info=None if expected else exc,
        )

    def discard(self) -> None:
        """Write nothing more, from any thread, at once: the store was given up on.

        The write-behind thread may be in a write now, holding the lock; it
        ends when that returns. What is held here is dropped: the trades'
        journals hold what a batch left behind, for the next store's repair.
        """
        self._discarded = True
        if self._wake.acquire(blocking=False):  # else the thread is writing: it sees the flag
            try:
                self.close()
            finally:
                self._wake.release()

    def close(self) -> None:
        """Let the write-behind thread end (callers write what is due first).

        It does not wait for the thread: the caller may hold the lock it needs
        to see that it must end; it does nothing more once it has.
        """
        with self._wake:
            self._closed = True
            self._wake.notify()


def without_id(document: Mapping[str, Any]) -> Document:
    """``document`` without its ``_id``, for a ``$set``."""
    return {key: value for key, value in document.items() if key != "_id"}
