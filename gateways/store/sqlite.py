"""The embedded order store: one SQLite file, written by the gateway, readable by anyone.

One connection in WAL mode with ``synchronous=NORMAL``: readers in other
processes never block the writer, and a commit costs a write to the WAL but no
fsync (the fsyncs come with the checkpoint, every 10,000 pages of WAL, inside
whichever commit crosses that mark). A commit survives a crash of the process;
a power loss or OS crash may lose the last commits, never half of one. The
connection is shared by the gateway's threads behind one lock
(``check_same_thread=False``).

Every write method is one transaction: :meth:`apply_fill` stores the trade,
updates the order, appends its history and stores the report together, or not
at all. :meth:`batch` groups several calls into one transaction when commits
are the bottleneck.

Because the gateway is the only writer (see :class:`OrderStore`), this object
keeps two things in memory instead of reading them back on every call: each
robot's last report seq (read with ``MAX(seq)`` on a robot's first report) and
the records of open orders it wrote (dropped when they reach a final state).
Reads (``order``, ``orders``, ``reports``...) always go to the file.

Tables: ``orders`` (one row per order; decimals as TEXT, read back exact),
``order_history`` (one row per state change), ``trades`` (one row per fill,
``trade_id`` unique) and ``reports`` (the encoded report with its seq, keyed by
``(robot, seq)``).
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

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

__all__ = ["SQLiteOrderStore"]

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS orders (
    client_order_id TEXT PRIMARY KEY, robot TEXT NOT NULL, symbol TEXT NOT NULL,
    side TEXT NOT NULL, qty INTEGER NOT NULL, price TEXT, tif TEXT NOT NULL,
    state TEXT NOT NULL, filled_qty INTEGER NOT NULL, filled_value TEXT NOT NULL,
    created_ts INTEGER NOT NULL, updated_ts INTEGER NOT NULL,
    exchange_order_id TEXT NOT NULL, reason TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS orders_by_robot ON orders (robot, created_ts);
CREATE INDEX IF NOT EXISTS orders_by_state ON orders (state, created_ts);
CREATE INDEX IF NOT EXISTS orders_by_symbol ON orders (symbol, created_ts);
CREATE TABLE IF NOT EXISTS order_history (
    client_order_id TEXT NOT NULL, ordinal INTEGER NOT NULL, ts INTEGER NOT NULL,
    state TEXT NOT NULL, reason TEXT NOT NULL,
    PRIMARY KEY (client_order_id, ordinal)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS trades (
    trade_id TEXT PRIMARY KEY, robot TEXT NOT NULL, seq INTEGER NOT NULL,
    client_order_id TEXT NOT NULL, symbol TEXT NOT NULL, side TEXT NOT NULL,
    price TEXT NOT NULL, qty INTEGER NOT NULL, fee TEXT NOT NULL, ts INTEGER NOT NULL)
    WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS trades_by_robot ON trades (robot, seq);
CREATE TABLE IF NOT EXISTS reports (
    robot TEXT NOT NULL, seq INTEGER NOT NULL, payload BLOB NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS reports_by_robot ON reports (robot, seq);
"""

_ORDER_COLUMNS: Final = (
    "client_order_id, robot, symbol, side, qty, price, tif, state, filled_qty, filled_value, "
    "created_ts, updated_ts, exchange_order_id, reason"
)
_INSERT_ORDER: Final = (
    "INSERT OR IGNORE INTO orders VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_HISTORY: Final = "INSERT INTO order_history VALUES (?, ?, ?, ?, ?)"
_UPDATE_STATE: Final = (
    "UPDATE orders SET state = ?, updated_ts = ?, reason = ?, exchange_order_id = ? "
    "WHERE client_order_id = ?"
)
_UPDATE_FILLED: Final = (
    "UPDATE orders SET state = ?, filled_qty = ?, filled_value = ?, updated_ts = ? "
    "WHERE client_order_id = ?"
)
_INSERT_TRADE: Final = "INSERT OR IGNORE INTO trades VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
_INSERT_REPORT: Final = "INSERT INTO reports VALUES (?, ?, ?)"
_SELECT_TRADES: Final = (
    "SELECT ts, trade_id, client_order_id, robot, symbol, side, price, qty, fee, seq "
    "FROM trades WHERE seq > ? ORDER BY robot, seq"
)
_SELECT_ROBOT_TRADES: Final = (
    "SELECT ts, trade_id, client_order_id, robot, symbol, side, price, qty, fee, seq "
    "FROM trades WHERE robot = ? AND seq > ? ORDER BY seq"
)
_OPEN_STATES: Final = tuple(state.value for state in OrderState if state not in FINAL_STATES)
_CACHE_MAX: Final = 100_000  # open orders remembered for writing; past it, start again


_Statement = tuple[str, Sequence[Any]]


class _Batch:
    """The state of the batch in progress: ``failed`` once a call in it failed."""

    def __init__(self) -> None:
        self.failed = False


class _Guarded:
    """Hold the store's lock and raise sqlite3 errors as StoreError, for one call.

    A class rather than a generator-based context manager: it is entered on
    every call, and this costs a third as much.
    """

    __slots__ = ("_action", "_store")

    def __init__(self, store: SQLiteOrderStore, action: str) -> None:
        self._store = store
        self._action = action

    def __enter__(self) -> None:
        self._store._lock.acquire()

    def __exit__(self, kind: object, exc: BaseException | None, traceback: object) -> None:
        self._store._lock.release()
        if isinstance(exc, sqlite3.Error):
            msg = f"The SQLite order store at {self._store.path} failed to {self._action}: {exc}"
            raise StoreError(msg) from exc


class SQLiteOrderStore(OrderStore):
    """The order store in one SQLite file at ``path`` (``":memory:"`` for a private one).

    Opening creates the file, its parent directories and the tables as needed.
    Any thread may call any method; calls are serialised by one lock. Raises
    :class:`StoreError` (with the sqlite3 error as its cause) if the file cannot
    be opened or a statement fails.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._lock = threading.RLock()
        self._batch: _Batch | None = None
        self._open: dict[str, OrderRecord] = {}
        self._seqs = SeqCounters(self._load_seq)
        try:
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            self._db: sqlite3.Connection | None = sqlite3.connect(
                self.path, check_same_thread=False, isolation_level=None
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            # Copy the WAL back every 10,000 pages (40 MB), not 1,000: a page written
            # by many commits is copied once, which takes a fifth off a commit.
            self._db.execute("PRAGMA wal_autocheckpoint=10000")
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            msg = f"The SQLite order store at {self.path} cannot be opened: {exc}"
            raise StoreError(msg) from exc

    # --- transactions -------------------------------------------------------------

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Run the calls made inside the block as one transaction, committed at its end.

        Each call is still all or nothing: a refusal (a duplicate, a
        TransitionError) writes nothing and the block may go on. A backend
        failure undoes the whole batch at once; the calls after it in the block
        raise StoreError, and so does the end of the block even if the block
        caught the first one. If the block raises, everything it wrote is undone,
        so send nothing a call in the block returned until the block has ended.
        The block holds the store's lock: other threads wait for it. A batch
        inside a batch joins the outer one.
        """
        with self._lock:
            if self._batch is not None:
                yield
                return
            with self._guarded("begin a batch"):
                self._conn().execute("BEGIN")
            self._batch = _Batch()
            try:
                yield
                if self._batch.failed:
                    msg = f"The batch on {self.path} was undone after a failure inside it"
                    raise StoreError(msg)
                with self._guarded("commit a batch"):
                    self._conn().execute("COMMIT")
            except BaseException:
                self._abandon()
                raise
            finally:
                self._batch = None

    def _write(self, first: _Statement, *rest: _Statement) -> bool:
        """Run the statements as one transaction, or as part of the batch in progress.

        Returns False, having run nothing more, if ``first`` changed no row (an
        ``INSERT OR IGNORE`` that found its key taken).
        """
        db, batch = self._conn(), self._batch
        if batch is not None and batch.failed:
            msg = f"The batch on {self.path} was undone after a failure; end it and start anew"
            raise StoreError(msg)
        try:
            if batch is None:
                db.execute("BEGIN")
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
        # Roll back, and forget what memory holds: it may include the undone writes.
        self._open.clear()
        self._seqs.forget()
        with contextlib.suppress(sqlite3.Error):
            if self._db is not None and self._db.in_transaction:
                self._db.execute("ROLLBACK")

    def _guarded(self, action: str) -> _Guarded:
        return _Guarded(self, action)

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            msg = f"The SQLite order store at {self.path} is closed; open a new one"
            raise StoreError(msg)
        return self._db

    # --- orders -----------------------------------------------------------------------

    def add_order(self, order: NewOrder) -> bool:
        record = new_record(order)
        history = (order.client_order_id, 0, order.ts, "new", "")
        with self._guarded(f"add order {order.client_order_id}"):
            if not self._write((_INSERT_ORDER, _order_row(record)), (_INSERT_HISTORY, history)):
                return False
            self._remember(record)
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
        action = f"move order {client_order_id} to {state.value}"
        with self._guarded(action):
            record = transition_of(
                self._record_for_write(client_order_id),
                state,
                ts=ts,
                reason=reason,
                exchange_order_id=exchange_order_id,
            )
            self._write(
                (
                    _UPDATE_STATE,
                    (state.value, ts, record.reason, record.exchange_order_id, client_order_id),
                ),
                (
                    _INSERT_HISTORY,
                    (client_order_id, len(record.history) - 1, ts, state.value, reason),
                ),
            )
            self._remember(record)
            return record

    def apply_fill(self, fill: Fill) -> tuple[OrderRecord, ReportRecord] | None:
        with self._guarded(f"apply fill {fill.trade_id}"):
            try:
                record = apply_fill_to(self._record_for_write(fill.client_order_id), fill)
            except StoreError:
                if self._has_trade(fill.trade_id):  # a duplicate is no error, whatever it says
                    return None
                raise
            seq = self._seqs.next(fill.robot)
            stored = with_seq(fill, fill.robot, seq)
            payload = encoded(stored)
            state, coid = record.state.value, fill.client_order_id
            written = self._write(
                (_INSERT_TRADE, _trade_row(stored)),
                (
                    _UPDATE_FILLED,
                    (state, record.filled_qty, str(record.filled_value), fill.ts, coid),
                ),
                (_INSERT_HISTORY, (coid, len(record.history) - 1, fill.ts, state, "")),
                (_INSERT_REPORT, (fill.robot, seq, payload)),
            )
            if not written:
                return None  # a duplicate trade_id: nothing written
            self._seqs.take(fill.robot, seq)
            self._remember(record)
            return record, ReportRecord(robot=fill.robot, seq=seq, report=stored)

    def _record_for_write(self, client_order_id: str) -> OrderRecord:
        record = self._open.get(client_order_id)
        if record is None:
            found = self._select_orders("client_order_id = ?", (client_order_id,))
            if not found:
                msg = f"Order {client_order_id} is not in the store at {self.path}"
                raise StoreError(msg)
            record = found[0]
        return record

    def _remember(self, record: OrderRecord) -> None:
        if record.state in FINAL_STATES:
            self._open.pop(record.client_order_id, None)
            return
        if len(self._open) >= _CACHE_MAX:
            self._open.clear()
        self._open[record.client_order_id] = record

    def _has_trade(self, trade_id: str) -> bool:
        query = "SELECT 1 FROM trades WHERE trade_id = ?"
        return self._conn().execute(query, (trade_id,)).fetchone() is not None

    def order(self, client_order_id: str) -> OrderRecord | None:
        with self._guarded(f"read order {client_order_id}"):
            found = self._select_orders("client_order_id = ?", (client_order_id,))
            return found[0] if found else None

    def orders(
        self,
        *,
        robot: str | None = None,
        state: OrderState | None = None,
        symbol: str | None = None,
    ) -> list[OrderRecord]:
        clauses, params = ["1"], []
        for column, value in (("robot", robot), ("symbol", symbol)):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        if state is not None:
            clauses.append("state = ?")
            params.append(state.value)
        with self._guarded("read orders"):
            return self._select_orders(" AND ".join(clauses), params)

    def open_orders(self, robot: str | None = None) -> list[OrderRecord]:
        where = f"state IN ({', '.join('?' * len(_OPEN_STATES))})"
        params: tuple[str, ...] = _OPEN_STATES
        if robot is not None:
            where, params = f"{where} AND robot = ?", (*_OPEN_STATES, robot)
        with self._guarded("read open orders"):
            return self._select_orders(where, params)

    def _select_orders(self, where: str, params: Sequence[Any]) -> list[OrderRecord]:
        # S608: `where` is made of this module's own fixed clauses; the values are bound.
        db = self._conn()
        query = f"SELECT {_ORDER_COLUMNS} FROM orders WHERE {where} ORDER BY created_ts, rowid"  # noqa: S608
        rows = db.execute(query, params).fetchall()
        if not rows:
            return []
        histories: dict[str, list[StateChange]] = {row[0]: [] for row in rows}
        query = (
            "SELECT client_order_id, ts, state, reason FROM order_history "  # noqa: S608
            f"WHERE client_order_id IN (SELECT client_order_id FROM orders WHERE {where}) "
            "ORDER BY client_order_id, ordinal"
        )
        for coid, ts, state, reason in db.execute(query, params):
            histories[coid].append(StateChange(ts=ts, state=OrderState(state), reason=reason))
        return [_order_record(row, histories[row[0]]) for row in rows]

    # --- trades and reports --------------------------------------------------------------

    def trades(self, *, robot: str | None = None, since_seq: int = 0) -> list[TradeRecord]:
        params: tuple[Any, ...]
        if robot is None:
            query, params = _SELECT_TRADES, (since_seq,)
        else:
            query, params = _SELECT_ROBOT_TRADES, (robot, since_seq)
        with self._guarded("read trades"):
            rows = self._conn().execute(query, params).fetchall()
        return [TradeRecord(fill=_fill(row), robot=row[3]) for row in rows]

    def add_report(self, robot: str, report: Report) -> ReportRecord:
        if isinstance(report, Fill):
            msg = f"Fill {report.trade_id} must be stored with apply_fill, not add_report"
            raise StoreError(msg)
        with self._guarded(f"add a report for robot {robot}"):
            seq = self._seqs.next(robot)
            stored = with_seq(report, robot, seq)
            payload = encoded(stored)
            self._write((_INSERT_REPORT, (robot, seq, payload)))
            self._seqs.take(robot, seq)
            return ReportRecord(robot=robot, seq=seq, report=stored)

    def reports(self, robot: str, *, after_seq: int = 0) -> list[ReportRecord]:
        query = "SELECT seq, payload FROM reports WHERE robot = ? AND seq > ? ORDER BY seq"
        with self._guarded(f"read the reports of robot {robot}"):
            rows = self._conn().execute(query, (robot, after_seq)).fetchall()
        records = []
        for seq, payload in rows:
            try:
                event = decode(payload)
            except DecodeError as exc:
                msg = f"The stored report {seq} of robot {robot!r} cannot be decoded: {exc}"
                raise StoreError(msg) from exc
            records.append(ReportRecord(robot=robot, seq=seq, report=as_report(event, robot, seq)))
        return records

    def last_seqs(self) -> dict[str, int]:
        with self._guarded("read the last report seqs"):
            query = "SELECT robot, MAX(seq) FROM reports GROUP BY robot"
            return dict(self._conn().execute(query).fetchall())

    def _load_seq(self, robot: str) -> int:
        query = "SELECT MAX(seq) FROM reports WHERE robot = ?"
        (last,) = self._conn().execute(query, (robot,)).fetchone()
        return int(last or 0)

    def close(self) -> None:
        with self._lock:
            db, self._db = self._db, None
            self._open.clear()
            if db is not None:
                with self._guarded("close"):
                    db.close()


def _order_row(record: OrderRecord) -> tuple[Any, ...]:
    return (
        record.client_order_id,
        record.robot,
        record.symbol,
        record.side.value,
        record.qty,
        None if record.price is None else str(record.price),
        record.tif.value,
        record.state.value,
        record.filled_qty,
        str(record.filled_value),
        record.created_ts,
        record.updated_ts,
        record.exchange_order_id,
        record.reason,
    )


def _order_record(row: Sequence[Any], history: list[StateChange]) -> OrderRecord:
    return OrderRecord(
        client_order_id=row[0],
        robot=row[1],
        symbol=row[2],
        side=Side(row[3]),
        qty=row[4],
        price=None if row[5] is None else Decimal(row[5]),
        tif=TimeInForce(row[6]),
        state=OrderState(row[7]),
        filled_qty=row[8],
        filled_value=Decimal(row[9]),
        created_ts=row[10],
        updated_ts=row[11],
        exchange_order_id=row[12],
        reason=row[13],
        history=tuple(history),
    )


def _trade_row(fill: Fill) -> tuple[Any, ...]:
    return (
        fill.trade_id,
        fill.robot,
        fill.seq,
        fill.client_order_id,
        fill.symbol,
        fill.side.value,
        str(fill.price),
        fill.qty,
        str(fill.fee),
        fill.ts,
    )


def _fill(row: Sequence[Any]) -> Fill:
    ts, trade_id, client_order_id, robot, symbol, side, price, qty, fee, seq = row
    return Fill(
        ts=ts,
        trade_id=trade_id,
        client_order_id=client_order_id,
        robot=robot,
        symbol=symbol,
        side=Side(side),
        price=Decimal(price),
        qty=qty,
        fee=Decimal(fee),
        seq=seq,
    )
