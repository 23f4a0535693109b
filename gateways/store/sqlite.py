"""The embedded order store: one SQLite file, written by the gateway, readable by anyone.

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

Every write method is one transaction: :meth:`apply_fill` stores the trade,
updates the order, appends its history and stores the report together, or not
at all. :meth:`batch` groups several calls into one transaction when commits
are the bottleneck; it begins the transaction at its first write, so a batch
that wrote nothing (a drain of market data that filled no order) costs nothing.

Because the gateway is the only writer (see :class:`OrderStore`), this object
keeps two things in memory instead of reading them back on every call: each
robot's last report seq (read with ``MAX(seq)`` on a robot's first report) and
the records of open orders it wrote (dropped when they reach a final state).
Reads (``order``, ``orders``, ``reports``...) always go to the file.

Tables: ``orders`` (one row per order; decimals as TEXT, read back exact),
``order_history`` (one row per state change), ``trades`` (one row per fill,
``trade_id`` unique: the same fill again is a no-op, another fill under its id a
:class:`~gateways.store.base.TradeClashError`) and ``reports`` (the encoded
report with its seq, keyed by ``(robot, seq)``).

One backend, one module, past the house's ~400 lines on purpose: what stands
alone is already apart (the tables and row conversions in :mod:`._sqlite_rows`,
the checkpointer in :mod:`._checkpoint`, the rules both backends share in
:mod:`._common`). What is left is the :class:`OrderStore` contract's methods,
which share the connection, its lock, the batch in progress and the open-order
cache; split in two, each half would reach into the other's state.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Final

from gateways.store._checkpoint import Checkpointer
from gateways.store._common import (
    SeqCounters,
    apply_fill_to,
    as_report,
    check_repeat,
    encoded,
    new_record,
    refused_record,
    rejected_record,
    transition_of,
    with_seq,
)
from gateways.store._sqlite_rows import (
    INSERT_HISTORY,
    INSERT_HISTORY_2,
    INSERT_ORDER,
    INSERT_REPORT,
    INSERT_TRADE,
    ORDER_COLUMNS,
    SCHEMA,
    SELECT_ROBOT_TRADES,
    SELECT_TRADE,
    SELECT_TRADES,
    UPDATE_FILLED,
    UPDATE_STATE,
    fill_of,
    first_history_rows,
    order_record,
    order_row,
    trade_row,
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
from gateways.store.sqlite_owners import INSERT_OWNER, OWNERS_SCHEMA, all_owners, owners_of
from yard_actors.errors import DecodeError, StoreError
from yard_actors.wire.codec import decode
from yard_actors.wire.events import Fill, NewOrder, OrderRejected

__all__ = ["SQLiteOrderStore"]

_OPEN_STATES: Final = tuple(state.value for state in OrderState if state not in FINAL_STATES)
# The writer's own checkpoint, in pages: 10,000 (40 MB), not 1,000, so that a page
# written by many commits is copied once, and the rare stall is short.
_WAL_AUTOCHECKPOINT: Final = 10_000
_CACHE_MAX: Final = 100_000  # open orders remembered for writing; past it, start again


_Statement = tuple[str, Sequence[Any]]


class _Batch:
    """The batch in progress: ``begun`` once its transaction is open, ``failed`` once a
    call in it failed."""

    def __init__(self) -> None:
        self.begun = False
        self.failed = False


class _Guarded:
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


class SQLiteOrderStore(OrderStore):
    """The order store in one SQLite file at ``path`` (``":memory:"`` for a private one).

    Opening creates the file, its parent directories and the tables as needed,
    and starts the checkpointer's thread, which :meth:`close` stops. There is none
    for ``":memory:"``, nor with ``checkpoint_interval_s=None``: a process that
    only reads the store needs none.

    Any thread may call any method; calls are serialised by one lock. Raises
    :class:`StoreError` (with the sqlite3 error as its cause) if the file cannot
    be opened or a statement fails.
    """

    def __init__(self, path: str | Path, *, checkpoint_interval_s: float | None = 0.02) -> None:
        self.path = str(path)
        self._lock = threading.RLock()
        self._batch: _Batch | None = None
        self._open: dict[str, OrderRecord] = {}
        self._seqs = SeqCounters(self._load_seq)
        self._db: sqlite3.Connection | None = None
        self._checkpointer: Checkpointer | None = None
        try:
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            (mode,) = self._db.execute("PRAGMA journal_mode=WAL").fetchone()
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(f"PRAGMA wal_autocheckpoint={_WAL_AUTOCHECKPOINT}")
            self._db.executescript(SCHEMA)
            self._db.executescript(OWNERS_SCHEMA)
            # Not for ":memory:", which keeps its journal in memory.
            if mode == "wal" and checkpoint_interval_s is not None:
                self._checkpointer = Checkpointer(self.path, interval_s=checkpoint_interval_s)
        except (OSError, sqlite3.Error) as exc:
            if self._db is not None:
                self._db.close()
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
        inside a batch joins the outer one. The transaction begins at the first
        write, so reads before it see what other connections committed meanwhile
        (with one writer, nothing that matters).
        """
        with self._lock:
            if self._batch is not None:
                yield
                return
            self._conn()  # a closed store raises here, as on any call
            self._batch = batch = _Batch()
            try:
                yield
                if batch.failed:
                    msg = f"The batch on {self.path} was undone after a failure inside it"
                    raise StoreError(msg)
                if batch.begun:
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
        # Roll back, and forget what memory holds: it may include the undone writes.
        self._open.clear()
        self._seqs.forget()
        with contextlib.suppress(sqlite3.Error):
            if self._db is not None and self._db.in_transaction:
                self._db.execute("ROLLBACK")

    def _guarded(self, action: str) -> _Guarded:
        return _Guarded(self._lock, self.path, action)

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
            if not self._write((INSERT_ORDER, order_row(record)), (INSERT_HISTORY, history)):
                return False
            self._remember(record)
            return True

    def add_pending(self, order: NewOrder) -> bool:
        # One row in state pending and both history rows: two statements, not four.
        record = transition_of(
            new_record(order), OrderState.PENDING, ts=order.ts, reason="", exchange_order_id=None
        )
        coid, ts = order.client_order_id, order.ts
        history = (coid, 0, ts, "new", "", coid, 1, ts, "pending", "")
        with self._guarded(f"add order {coid}"):
            if not self._write((INSERT_ORDER, order_row(record)), (INSERT_HISTORY_2, history)):
                return False
            self._remember(record)
            return True

    def add_rejected(
        self, rejected: OrderRejected, *, order: NewOrder | None = None
    ) -> ReportRecord | None:
        record = rejected_record(rejected, order)
        coid, robot = record.client_order_id, record.robot
        with self._guarded(f"add order {coid} as rejected"):
            seq = self._seqs.next(robot)
            stored = with_seq(rejected, robot, seq)
            payload = encoded(stored)
            if not self._write(
                (INSERT_ORDER, order_row(record)),
                (INSERT_HISTORY_2, first_history_rows(record)),
                (INSERT_REPORT, (robot, seq, payload)),
            ):
                return None
            self._seqs.take(robot, seq)
            return ReportRecord(robot=robot, seq=seq, report=stored, payload=payload)

    def add_refused(self, orders: Sequence[NewOrder], *, reason: str) -> list[NewOrder]:
        taken = []
        with self._guarded(f"add {len(orders)} refused orders"), self.batch():
            for order in orders:
                record = refused_record(order, reason, ts=order.ts)
                rows = (
                    (INSERT_ORDER, order_row(record)),
                    (INSERT_HISTORY_2, first_history_rows(record)),
                )
                if not self._write(*rows):
                    taken.append(order)
        return taken

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
                    UPDATE_STATE,
                    (state.value, ts, record.reason, record.exchange_order_id, client_order_id),
                ),
                (
                    INSERT_HISTORY,
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
                if self._is_repeat(fill):  # the same fill again is no error, whatever it says
                    return None
                raise
            seq = self._seqs.next(fill.robot)
            stored = with_seq(fill, fill.robot, seq)
            payload = encoded(stored)
            state, coid = record.state.value, fill.client_order_id
            written = self._write(
                (INSERT_TRADE, trade_row(stored)),
                (
                    UPDATE_FILLED,
                    (state, record.filled_qty, str(record.filled_value), fill.ts, coid),
                ),
                (INSERT_HISTORY, (coid, len(record.history) - 1, fill.ts, state, "")),
                (INSERT_REPORT, (fill.robot, seq, payload)),
            )
            if not written:  # its trade_id, or its robot's seq, is taken: nothing written
                if self._is_repeat(fill):
                    return None
                msg = (
                    f"Fill {fill.trade_id} could not be stored: seq {seq} of robot {fill.robot} "
                    f"is taken in {self.path}; is another gateway writing to it?"
                )
                raise StoreError(msg)
            self._seqs.take(fill.robot, seq)
            self._remember(record)
            return record, ReportRecord(robot=fill.robot, seq=seq, report=stored, payload=payload)

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

    def _is_repeat(self, fill: Fill) -> bool:
        """True if ``fill`` is stored already; TradeClashError if its id holds another fill."""
        row = self._conn().execute(SELECT_TRADE, (fill.trade_id,)).fetchone()
        if row is None:
            return False
        check_repeat(fill_of(row), fill)
        return True

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
        # Both SELECTs read one snapshot: a reader beside a writing gateway would otherwise
        # see an order's history rows without its row, or a newer history than its state.
        own_snapshot = not db.in_transaction
        if own_snapshot:
            db.execute("BEGIN")
        try:
            query = f"SELECT {ORDER_COLUMNS} FROM orders WHERE {where} ORDER BY created_ts, rowid"  # noqa: S608
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
        finally:
            if own_snapshot:
                db.commit()
        return [order_record(row, histories[row[0]]) for row in rows]

    # --- trades and reports --------------------------------------------------------------

    def trades(self, *, robot: str | None = None, since_seq: int = 0) -> list[TradeRecord]:
        params: tuple[Any, ...]
        if robot is None:
            query, params = SELECT_TRADES, (since_seq,)
        else:
            query, params = SELECT_ROBOT_TRADES, (robot, since_seq)
        with self._guarded("read trades"):
            rows = self._conn().execute(query, params).fetchall()
        return [TradeRecord(fill=fill_of(row), robot=row[3]) for row in rows]

    def add_report(self, robot: str, report: Report) -> ReportRecord:
        if isinstance(report, Fill):
            msg = f"Fill {report.trade_id} must be stored with apply_fill, not add_report"
            raise StoreError(msg)
        with self._guarded(f"add a report for robot {robot}"):
            seq = self._seqs.next(robot)
            stored = with_seq(report, robot, seq)
            payload = encoded(stored)
            self._write((INSERT_REPORT, (robot, seq, payload)))
            self._seqs.take(robot, seq)
            return ReportRecord(robot=robot, seq=seq, report=stored, payload=payload)

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

    def report_payloads(self, robot: str, *, after_seq: int, limit: int) -> list[tuple[int, bytes]]:
        query = "SELECT seq, payload FROM reports WHERE robot = ? AND seq > ? ORDER BY seq LIMIT ?"
        with self._guarded(f"read a page of the reports of robot {robot}"):
            rows = self._conn().execute(query, (robot, after_seq, limit)).fetchall()
        return [(int(seq), bytes(payload)) for seq, payload in rows]

    def claim_robots(self, owner: str, robots: Sequence[str], *, ts: int) -> dict[str, str]:
        with self._guarded(f"register robots under key {owner}"), self.batch():
            for robot in robots:
                self._write((INSERT_OWNER, (robot, owner, ts)))
            return owners_of(self._conn(), robots)

    def robot_owners(self) -> dict[str, str]:
        with self._guarded("read the robots' owners"):
            return all_owners(self._conn())

    def last_seqs(self) -> dict[str, int]:
        with self._guarded("read the last report seqs"):
            query = "SELECT robot, MAX(seq) FROM reports GROUP BY robot"
            return dict(self._conn().execute(query).fetchall())

    def highest_trade_number(self, prefix: str) -> int:
        return self._highest_number("trades", "trade_id", prefix)

    def highest_exchange_order_number(self, prefix: str) -> int:
        return self._highest_number("orders", "exchange_order_id", prefix)

    def _highest_number(self, table: str, column: str, prefix: str) -> int:
        # S608: table and column are this module's own names; the values are bound. The
        # range (prefix + "0" up to prefix + ":", the character after "9") walks the
        # trades' primary key instead of the whole table.
        digits = len(prefix) + 1
        query = (
            f"SELECT MAX(CAST(substr({column}, ?) AS INTEGER)) FROM {table} "  # noqa: S608
            f"WHERE {column} >= ? AND {column} < ? "
            f"AND substr({column}, ?) NOT GLOB '*[^0-9]*'"
        )
        params = (digits, f"{prefix}0", f"{prefix}:", digits)
        with self._guarded(f"read the highest {column} after {prefix!r}"):
            (highest,) = self._conn().execute(query, params).fetchone()
        return int(highest or 0)

    def _load_seq(self, robot: str) -> int:
        query = "SELECT MAX(seq) FROM reports WHERE robot = ?"
        (last,) = self._conn().execute(query, (robot,)).fetchone()
        return int(last or 0)

    def close(self) -> None:
        """Stop the checkpointer, then close the connection: being the last one, it
        copies the WAL back into the file and deletes it. Idempotent."""
        checkpointer, self._checkpointer = self._checkpointer, None
        if checkpointer is not None:
            checkpointer.stop()
        with self._lock:
            db, self._db = self._db, None
            self._open.clear()
            if db is not None:
                with self._guarded("close"):
                    db.close()
