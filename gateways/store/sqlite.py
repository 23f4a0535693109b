"""The embedded order store: one SQLite file, written by the gateway, readable by anyone.

One connection in WAL mode, shared by the gateway's threads behind one lock; a
commit survives a crash of the process, and a power loss or OS crash may lose
the last commits, never half of one (:mod:`.sqlite_connection` says why).

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

One backend, its parts beside it: the connection (how it is opened), its lock
and its transactions in :mod:`.sqlite_connection`, the reads in
:mod:`.sqlite_reads`, the tables and row conversions in :mod:`._sqlite_rows`,
the owners' table in :mod:`.sqlite_owners`, the checkpointer in
:mod:`._checkpoint`, the rules both backends share in :mod:`._common`. What is
left here is what each call of the :class:`OrderStore` contract writes, and the
memory of open orders and seqs those writes keep.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Final

from gateways.store._common import (
    SeqCounters,
    apply_fill_to,
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
    SCHEMA,
    SELECT_TRADE,
    UPDATE_FILLED,
    UPDATE_STATE,
    fill_of,
    first_history_rows,
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
    TradeRecord,
)
from gateways.store.sqlite_connection import SQLiteConnection, open_database
from gateways.store.sqlite_owners import INSERT_OWNER, OWNERS_SCHEMA, all_owners, owners_of
from gateways.store.sqlite_reads import (
    highest_numbered,
    last_seq,
    last_seqs,
    open_orders_where,
    orders_where,
    report_records,
    select_orders,
    trade_rows,
)
from yard_actors.errors import StoreError
from yard_actors.wire.events import Fill, NewOrder, OrderRejected

__all__ = ["SQLiteOrderStore"]

_CACHE_MAX: Final = 100_000  # open orders remembered for writing; past it, start again


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
        self._open: dict[str, OrderRecord] = {}
        self._seqs = SeqCounters(self._load_seq)
        db, self._checkpointer = open_database(
            self.path, (SCHEMA, OWNERS_SCHEMA), checkpoint_interval_s=checkpoint_interval_s
        )
        self._connection = SQLiteConnection(db, self.path, on_undo=self._forget)
        self._lock = self._connection.lock
        # Bound once: these run on every call, and a method of the store's own would add one.
        self._write = self._connection.write
        self._guarded = self._connection.guarded
        self._conn = self._connection.conn

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
        with self._connection.batch():
            yield

    def _forget(self) -> None:
        # A transaction was undone: forget what memory holds, it may include the undone writes.
        self._open.clear()
        self._seqs.forget()

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
        where, params = orders_where(robot, state, symbol)
        with self._guarded("read orders"):
            return self._select_orders(where, params)

    def open_orders(self, robot: str | None = None) -> list[OrderRecord]:
        where, params = open_orders_where(robot)
        with self._guarded("read open orders"):
            return self._select_orders(where, params)

    def _select_orders(self, where: str, params: Sequence[Any]) -> list[OrderRecord]:
        return select_orders(self._conn(), where, params)

    # --- trades and reports --------------------------------------------------------------

    def trades(self, *, robot: str | None = None, since_seq: int = 0) -> list[TradeRecord]:
        with self._guarded("read trades"):
            rows = trade_rows(self._conn(), robot, since_seq)
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
        return report_records(robot, rows)

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
            return last_seqs(self._conn())

    def highest_trade_number(self, prefix: str) -> int:
        return self._highest_number("trades", "trade_id", prefix)

    def highest_exchange_order_number(self, prefix: str) -> int:
        return self._highest_number("orders", "exchange_order_id", prefix)

    def _highest_number(self, table: str, column: str, prefix: str) -> int:
        with self._guarded(f"read the highest {column} after {prefix!r}"):
            return highest_numbered(self._conn(), table, column, prefix)

    def _load_seq(self, robot: str) -> int:
        return last_seq(self._conn(), robot)

    def close(self) -> None:
        """Stop the checkpointer, then close the connection: being the last one, it
        copies the WAL back into the file and deletes it. Idempotent."""
        checkpointer, self._checkpointer = self._checkpointer, None
        if checkpointer is not None:
            checkpointer.stop()
        with self._lock:
            db = self._connection.detach()
            self._open.clear()
            if db is not None:
                with self._guarded("close"):
                    db.close()
