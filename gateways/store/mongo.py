"""The order store in MongoDB, whose ``trades`` collection hosts follow with a change stream.

Collections: ``orders`` (``_id`` is the client order id; the history and the
ids of the trades applied are arrays in the document; ``version`` counts its
writes), ``trades`` (one document per fill, with ``name`` = the robot, ``seq``
and the fill's fields; ``trade_id`` unique, ``(name, seq)`` unique) and
``reports`` (``robot``, ``seq``, ``payload`` = the report as yard's JSON text;
``(robot, seq)`` unique). Decimals are strings, read back exact.

Without multi-document transactions (a standalone server has none), a fill is
three writes, in this order, each safe to repeat:

1. the trade, with the robot's next seq (the unique ``trade_id`` makes a second
   insert fail, and the fill is then recognised as one already begun);
2. the order, replaced field by field on the condition that its ``version`` is
   the one read (so a write from anyone else is detected, never overwritten),
   adding the trade id to its ``trade_ids``;
3. the report, under the unique ``(robot, seq)``.

A crash (or a failure) between them leaves a trade that the order or the
robot's reports do not show yet. Hosts following the change stream do see that
trade. Calling :meth:`MongoOrderStore.apply_fill` again with the same fill
completes it, with the seq it got the first time; :meth:`MongoOrderStore.repair`
(for the gateway to call at start) finds and completes every such fill. Until
then ``trades`` holds a fill the order does not count, and the robot's reports
lack that seq. Each robot's last seq is read on its first report from the
highest of its trades and reports, so a new report never takes a seq a stranded
trade holds.

The same one-writer rule as :class:`OrderStore`'s holds: two gateways writing
one database would be refused by the version check or the unique indexes,
each time with a StoreError, not silently merged.

Errors: every pymongo or bson error is raised as :class:`StoreError` ``from`` it,
by :func:`translated`, with a sentence saying what was being done and what
the error means::

    PyMongoError                          -> StoreError
    ├── ConnectionFailure (AutoReconnect, ServerSelectionTimeoutError, NetworkTimeout...)
    ├── ConfigurationError (InvalidURI)
    ├── OperationFailure (WriteError, DuplicateKeyError, WriteConcernError, BulkWriteError...)
    ├── InvalidOperation, InvalidName, CollectionInvalid, ProtocolError, EncryptionError...
    BSONError (InvalidDocument, InvalidBSON, InvalidStringData, InvalidId)
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit

from bson.errors import BSONError
from pymongo import ASCENDING, DESCENDING, MongoClient, errors
from pymongo.change_stream import ChangeStream
from pymongo.collection import Collection

from gateways.store._common import (
    SeqCounters,
    apply_fill_to,
    as_report,
    encoded,
    new_record,
    transition_of,
    with_seq,
)
from gateways.store.base import (
    FINAL_STATES,
    OrderRecord,
    OrderState,
    OrderStore,
    Report,
    ReportRecord,
    StateChange,
    TradeRecord,
)
from yard_actors.codec import decode
from yard_actors.errors import DecodeError, StoreError
from yard_actors.events import Fill, NewOrder, Side, TimeInForce

__all__ = ["FOREIGN_ERRORS", "FillWatch", "MongoOrderStore", "translated"]

Document = dict[str, Any]

logger = logging.getLogger(__name__)

FOREIGN_ERRORS: Final = (errors.PyMongoError, BSONError)

# What each kind of error means, most specific first; the last two catch the rest.
_MEANINGS: Final[tuple[tuple[type[Exception], str], ...]] = (
    (errors.DuplicateKeyError, "a unique index refused a second document with the same key"),
    (
        errors.ServerSelectionTimeoutError,
        "no MongoDB server answered in time; check that it runs and that the URL names it",
    ),
    (errors.ConnectionFailure, "the connection to MongoDB failed or timed out"),
    (errors.ConfigurationError, "the MongoDB URL or one of its options is invalid"),
    (errors.OperationFailure, "MongoDB refused the operation"),
    (errors.InvalidOperation, "pymongo refused the operation; the store may be closed"),
    (errors.PyMongoError, "pymongo failed"),
    (BSONError, "a document could not be converted to or from BSON"),
)

_FINALS: Final = [state.value for state in FINAL_STATES]
_AWAIT_MS: Final = 100  # how long a server that honours maxAwaitTimeMS holds a getMore
_POLL_S: Final = 0.01  # the pause between polls when it returns at once (nx-27017 does)


def _meaning(exc: BaseException) -> str:
    return next(meaning for kind, meaning in _MEANINGS if isinstance(exc, kind))


@contextlib.contextmanager
def translated(where: str, action: str) -> Iterator[None]:
    """Raise every pymongo or bson error inside the block as a StoreError ``from`` it."""
    try:
        yield
    except FOREIGN_ERRORS as exc:
        msg = f"The MongoDB order store {where} could not {action}: {_meaning(exc)} ({exc})"
        raise StoreError(msg) from exc


def _redacted(url: str) -> str:
    parts = urlsplit(url)
    _, at, hosts = parts.netloc.rpartition("@")
    return urlunsplit(parts._replace(netloc=f"***@{hosts}" if at else hosts))


class MongoOrderStore(OrderStore):
    """The order store in the database named by ``url`` (``yard`` if the URL names none).

    Opening connects and creates the indexes; raises StoreError if the server
    cannot be reached within pymongo's server selection timeout (30 s unless
    the URL sets ``serverSelectionTimeoutMS``). Any thread may call any method.
    """

    def __init__(self, url: str) -> None:
        self.url = _redacted(url)
        self._lock = threading.RLock()
        self._seqs = SeqCounters(self._load_seq)
        self._ordinal = 0  # insertion order of orders: "oldest first" breaks ts ties with it
        self._where = self.url
        self._client: MongoClient[Document] | None = None
        with translated(self._where, "connect"):
            self._client = MongoClient(url)
            try:
                database = self._client.get_default_database("yard")
                self._where = f"database {database.name!r} at {self.url}"
                self._orders: Collection[Document] = database["orders"]
                self._trades: Collection[Document] = database["trades"]
                self._reports: Collection[Document] = database["reports"]
                self._create_indexes()
            except BaseException:
                self._client.close()
                raise

    def _create_indexes(self) -> None:
        oldest = [("created_ts", ASCENDING), ("ordinal", ASCENDING)]
        self._orders.create_index(oldest)
        for field in ("robot", "state", "symbol"):
            self._orders.create_index([(field, ASCENDING), *oldest])
        self._trades.create_index("trade_id", unique=True)
        self._trades.create_index([("name", ASCENDING), ("seq", ASCENDING)], unique=True)
        self._reports.create_index([("robot", ASCENDING), ("seq", ASCENDING)], unique=True)
        last = self._orders.find_one({}, {"ordinal": 1}, sort=[("ordinal", DESCENDING)])
        self._ordinal = 0 if last is None else int(last["ordinal"])

    @contextlib.contextmanager
    def _call(self, action: str) -> Iterator[None]:
        with self._lock, translated(self._where, action):
            if self._client is None:
                msg = f"The MongoDB order store {self._where} is closed; open a new one"
                raise StoreError(msg)
            yield

    # --- orders -----------------------------------------------------------------------

    def add_order(self, order: NewOrder) -> bool:
        with self._call(f"add order {order.client_order_id}"):
            self._ordinal += 1
            document = _order_document(new_record(order), version=0, trade_ids=[])
            document["ordinal"] = self._ordinal
            try:
                self._orders.insert_one(document)
            except errors.DuplicateKeyError:
                return False
            return True

    def transition(
        self,
        client_order_id: str,
        state: OrderState,
        *,
        ts: int,
        reason: str = "",
        exchange_order_id: str | None = None,
    ) -> OrderRecord:
        with self._call(f"move order {client_order_id} to {state.value}"):
            document = self._order_document(client_order_id)
            record = transition_of(
                _order_record(document),
                state,
                ts=ts,
                reason=reason,
                exchange_order_id=exchange_order_id,
            )
            self._replace(document, record, document["trade_ids"])
            return record

    def apply_fill(self, fill: Fill) -> tuple[OrderRecord, ReportRecord] | None:
        with self._call(f"apply fill {fill.trade_id}"):
            return self._apply(fill)

    def _apply(self, fill: Fill) -> tuple[OrderRecord, ReportRecord] | None:
        document = self._orders.find_one({"_id": fill.client_order_id})
        if document is not None and fill.trade_id in document["trade_ids"]:
            # Steps 1 and 2 were done before: at most the report is due.
            return self._report_fill(_order_record(document), self._trade(fill.trade_id))
        try:
            if document is None:
                msg = f"Order {fill.client_order_id} is not in the store {self._where}"
                raise StoreError(msg)
            record = apply_fill_to(_order_record(document), fill)
        except StoreError:
            if self._trades.find_one({"trade_id": fill.trade_id}, {"_id": 1}) is not None:
                return None
            raise
        stored, fresh = self._insert_trade(fill)
        if not fresh:  # stored before but not applied: complete it as it was stored
            record = apply_fill_to(_order_record(document), stored)
        self._replace(document, record, [*document["trade_ids"], fill.trade_id])
        return self._report_fill(record, stored)

    def _insert_trade(self, fill: Fill) -> tuple[Fill, bool]:
        """Step 1: the trade under the robot's next seq (True), or as stored before (False)."""
        seq = self._seqs.next(fill.robot)
        stored = with_seq(fill, fill.robot, seq)
        try:
            self._trades.insert_one(_trade_document(stored))
        except errors.DuplicateKeyError:
            self._seqs.forget(fill.robot)
            return self._trade(fill.trade_id), False  # raises if (name, seq) clashed instead
        except BaseException:
            self._seqs.forget(fill.robot)  # written or not: read the truth next time
            raise
        self._seqs.take(fill.robot, seq)
        return stored, True

    def _report_fill(
        self, record: OrderRecord, fill: Fill
    ) -> tuple[OrderRecord, ReportRecord] | None:
        """Step 3: the report; None if it was there already (the fill was complete)."""
        report = ReportRecord(robot=fill.robot, seq=fill.seq, report=fill)
        try:
            self._reports.insert_one(_report_document(report))
        except errors.DuplicateKeyError:
            return None
        return record, report

    def _trade(self, trade_id: str) -> Fill:
        document = self._trades.find_one({"trade_id": trade_id})
        if document is None:
            msg = (
                f"Trade {trade_id} could not be stored: its robot's next seq is taken in "
                f"{self._where}; is another gateway writing to it?"
            )
            raise StoreError(msg)
        return _fill(document)

    def _order_document(self, client_order_id: str) -> Document:
        document = self._orders.find_one({"_id": client_order_id})
        if document is None:
            msg = f"Order {client_order_id} is not in the store {self._where}"
            raise StoreError(msg)
        return document

    def _replace(self, read: Document, record: OrderRecord, trade_ids: list[str]) -> None:
        """Step 2: write ``record`` over the order if nobody has changed it since ``read``."""
        version = read["version"]
        changed = _order_document(record, version=version + 1, trade_ids=trade_ids)
        del changed["_id"]
        result = self._orders.update_one(
            {"_id": record.client_order_id, "version": version}, {"$set": changed}
        )
        if result.matched_count != 1:
            msg = (
                f"Order {record.client_order_id} changed in {self._where} while this store "
                "was writing it; is another gateway writing to it?"
            )
            raise StoreError(msg)

    def repair(self) -> list[ReportRecord]:
        """Complete every fill a crash left half written; return the reports it added.

        A half-written fill is a trade whose seq has no report. For the gateway to
        call at start, before taking orders, and only there: a repair running
        beside the gateway's own writes would race them. A trade that cannot be
        completed (its order has gone final since) is logged and left as it is.
        """
        repaired = []
        with self._call("repair half-written fills"):
            reports = self._summary(self._reports, "robot")
            for robot, (_, top) in self._summary(self._trades, "name").items():
                count, last = reports.get(robot, (0, 0))
                if count == last and top <= last:
                    continue  # seqs 1..last all have their report, and no trade is beyond
                query: Document = {"robot": robot}
                have = {int(report["seq"]) for report in self._reports.find(query, {"seq": 1})}
                missing = [seq for seq in range(1, max(top, last) + 1) if seq not in have]
                query = {"name": robot, "seq": {"$in": missing}}
                for document in self._trades.find(query).sort("seq", ASCENDING):
                    fill = _fill(document)
                    done = self._apply(fill)
                    if done is None:
                        logger.warning(
                            "robot %s: trade %s (seq %d) cannot be applied to order %s, "
                            "which refuses it now; its report is left missing",
                            robot,
                            fill.trade_id,
                            fill.seq,
                            fill.client_order_id,
                        )
                    else:
                        repaired.append(done[1])
        return repaired

    def order(self, client_order_id: str) -> OrderRecord | None:
        with self._call(f"read order {client_order_id}"):
            document = self._orders.find_one({"_id": client_order_id})
            return None if document is None else _order_record(document)

    def orders(
        self,
        *,
        robot: str | None = None,
        state: OrderState | None = None,
        symbol: str | None = None,
    ) -> list[OrderRecord]:
        query: Document = {}
        for field, value in (("robot", robot), ("symbol", symbol)):
            if value is not None:
                query[field] = value
        if state is not None:
            query["state"] = state.value
        with self._call("read orders"):
            return self._find_orders(query)

    def open_orders(self, robot: str | None = None) -> list[OrderRecord]:
        query: Document = {"state": {"$nin": _FINALS}}
        if robot is not None:
            query["robot"] = robot
        with self._call("read open orders"):
            return self._find_orders(query)

    def _find_orders(self, query: Document) -> list[OrderRecord]:
        cursor = self._orders.find(query).sort([("created_ts", ASCENDING), ("ordinal", ASCENDING)])
        return [_order_record(document) for document in cursor]

    # --- trades and reports --------------------------------------------------------------

    def trades(self, *, robot: str | None = None, since_seq: int = 0) -> list[TradeRecord]:
        query: Document = {"seq": {"$gt": since_seq}}
        if robot is not None:
            query["name"] = robot
        with self._call("read trades"):
            cursor = self._trades.find(query).sort([("name", ASCENDING), ("seq", ASCENDING)])
            fills = [_fill(document) for document in cursor]
        return [TradeRecord(fill=fill, robot=fill.robot) for fill in fills]

    def add_report(self, robot: str, report: Report) -> ReportRecord:
        if isinstance(report, Fill):
            msg = f"Fill {report.trade_id} must be stored with apply_fill, not add_report"
            raise StoreError(msg)
        with self._call(f"add a report for robot {robot}"):
            seq = self._seqs.next(robot)
            record = ReportRecord(robot=robot, seq=seq, report=with_seq(report, robot, seq))
            try:
                self._reports.insert_one(_report_document(record))
            except BaseException:
                self._seqs.forget(robot)  # written or not: read the truth next time
                raise
            self._seqs.take(robot, seq)
            return record

    def reports(self, robot: str, *, after_seq: int = 0) -> list[ReportRecord]:
        with self._call(f"read the reports of robot {robot}"):
            query = {"robot": robot, "seq": {"$gt": after_seq}}
            documents = list(self._reports.find(query).sort("seq", ASCENDING))
        return [_report_record(document) for document in documents]

    def last_seqs(self) -> dict[str, int]:
        with self._call("read the last report seqs"):
            return {
                robot: last for robot, (_, last) in self._summary(self._reports, "robot").items()
            }

    @staticmethod
    def _summary(collection: Collection[Document], field: str) -> dict[str, tuple[int, int]]:
        """Each robot's number of documents and highest seq in ``collection``."""
        group = {"_id": f"${field}", "count": {"$sum": 1}, "seq": {"$max": "$seq"}}
        return {
            row["_id"]: (int(row["count"]), int(row["seq"]))
            for row in collection.aggregate([{"$group": group}])
        }

    def _load_seq(self, robot: str) -> int:
        last = 0
        for collection, field in ((self._reports, "robot"), (self._trades, "name")):
            top = collection.find_one({field: robot}, {"seq": 1}, sort=[("seq", DESCENDING)])
            if top is not None:
                last = max(last, int(top["seq"]))
        return last

    # --- the change stream ---------------------------------------------------------------

    def watch_fills(
        self, robots: Sequence[str], *, resume_after: Mapping[str, Any] | None = None
    ) -> FillWatch:
        """Follow the fills of ``robots`` as they are stored, after ``resume_after`` if given.

        Without a token the watch starts now. With one (from :meth:`FillWatch.next`
        or :attr:`FillWatch.resume_token`) it delivers every matching fill stored
        after it: none lost, none twice, as long as the server still holds that
        point of its change log (nx-27017 keeps the last 1,000 changes of a
        collection that other watchers have read past).
        """
        match = {"operationType": "insert", "fullDocument.name": {"$in": list(robots)}}
        with self._call("watch fills"):
            stream = self._trades.watch(
                [{"$match": match}], resume_after=resume_after, max_await_time_ms=_AWAIT_MS
            )
        return FillWatch(stream, self._where)

    def close(self) -> None:
        with self._lock:
            client, self._client = self._client, None
            if client is not None:
                with translated(self._where, "close"):
                    client.close()


class FillWatch:
    """A change stream on the ``trades`` collection, giving fills and resume tokens.

    Use it from one thread. :meth:`next` blocks for at most about ``timeout``
    (plus up to 0.1 s on a server that holds a getMore for maxAwaitTimeMS).
    """

    def __init__(self, stream: ChangeStream[Document], where: str) -> None:
        self._stream = stream
        self._where = where

    def next(self, timeout: float) -> tuple[Fill, Mapping[str, Any]] | None:
        """The next fill (with its seq) and the token to resume after it; None on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            with translated(self._where, "read the stream of fills"):
                change = self._stream.try_next()
            if change is not None:
                return _fill(change["fullDocument"]), change["_id"]
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            time.sleep(min(_POLL_S, remaining))

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


# --- documents ------------------------------------------------------------------------


def _order_document(record: OrderRecord, *, version: int, trade_ids: list[str]) -> Document:
    return {
        "_id": record.client_order_id,
        "robot": record.robot,
        "symbol": record.symbol,
        "side": record.side.value,
        "qty": record.qty,
        "price": None if record.price is None else str(record.price),
        "tif": record.tif.value,
        "state": record.state.value,
        "filled_qty": record.filled_qty,
        "filled_value": str(record.filled_value),
        "created_ts": record.created_ts,
        "updated_ts": record.updated_ts,
        "exchange_order_id": record.exchange_order_id,
        "reason": record.reason,
        # Written whole each time: nx-27017 stores a $push-ed subdocument as a string.
        "history": [
            {"ts": change.ts, "state": change.state.value, "reason": change.reason}
            for change in record.history
        ],
        "trade_ids": trade_ids,
        "version": version,
    }


def _order_record(document: Document) -> OrderRecord:
    try:
        price = document["price"]
        return OrderRecord(
            client_order_id=document["_id"],
            robot=document["robot"],
            symbol=document["symbol"],
            side=Side(document["side"]),
            qty=int(document["qty"]),
            price=None if price is None else Decimal(price),
            tif=TimeInForce(document["tif"]),
            state=OrderState(document["state"]),
            filled_qty=int(document["filled_qty"]),
            filled_value=Decimal(document["filled_value"]),
            created_ts=int(document["created_ts"]),
            updated_ts=int(document["updated_ts"]),
            exchange_order_id=document["exchange_order_id"],
            reason=document["reason"],
            history=tuple(
                StateChange(
                    ts=int(item["ts"]), state=OrderState(item["state"]), reason=item["reason"]
                )
                for item in document["history"]
            ),
        )
    except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
        msg = f"The stored order {document.get('_id')!r} is damaged ({exc!r}): {document}"
        raise StoreError(msg) from exc


def _trade_document(fill: Fill) -> Document:
    return {
        "trade_id": fill.trade_id,
        "name": fill.robot,
        "seq": fill.seq,
        "client_order_id": fill.client_order_id,
        "symbol": fill.symbol,
        "side": fill.side.value,
        "price": str(fill.price),
        "qty": fill.qty,
        "fee": str(fill.fee),
        "ts": fill.ts,
    }


def _fill(document: Mapping[str, Any]) -> Fill:
    try:
        return Fill(
            ts=int(document["ts"]),
            trade_id=document["trade_id"],
            client_order_id=document["client_order_id"],
            robot=document["name"],
            symbol=document["symbol"],
            side=Side(document["side"]),
            price=Decimal(document["price"]),
            qty=int(document["qty"]),
            fee=Decimal(document["fee"]),
            seq=int(document["seq"]),
        )
    except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
        msg = f"The stored trade {document.get('trade_id')!r} is damaged ({exc!r}): {document}"
        raise StoreError(msg) from exc


def _report_document(record: ReportRecord) -> Document:
    return {
        "robot": record.robot,
        "seq": record.seq,
        "payload": encoded(record.report).decode(),
    }


def _report_record(document: Document) -> ReportRecord:
    robot, seq = document["robot"], document["seq"]
    try:
        event = decode(document["payload"].encode())
    except (DecodeError, KeyError, AttributeError) as exc:
        msg = f"The stored report {seq} of robot {robot!r} cannot be decoded: {exc}"
        raise StoreError(msg) from exc
    return ReportRecord(robot=robot, seq=seq, report=as_report(event, robot, seq))
