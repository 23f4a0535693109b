"""The SQLite order store's reads: orders with their histories, reports, seqs, numbers.

Apart from :mod:`.sqlite`, which runs them under its lock (turning sqlite3 errors
into StoreError) and writes: each function here reads through the connection it
is given and returns what the :class:`~gateways.store.base.OrderStore` contract
promises. The ``where`` clauses are built here from fixed column names; the
values are always bound.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any, Final

from gateways.store._common import as_report
from gateways.store._sqlite_rows import (
    ORDER_COLUMNS,
    SELECT_ROBOT_TRADES,
    SELECT_TRADES,
    order_record,
)
from gateways.store.base import FINAL_STATES, OrderRecord, OrderState, ReportRecord, StateChange
from yard_actors.errors import DecodeError, StoreError
from yard_actors.wire.codec import decode

__all__ = [
    "highest_numbered",
    "last_seq",
    "last_seqs",
    "open_orders_where",
    "orders_where",
    "report_records",
    "select_orders",
    "trade_rows",
]

_OPEN_STATES: Final = tuple(state.value for state in OrderState if state not in FINAL_STATES)


def orders_where(
    robot: str | None, state: OrderState | None, symbol: str | None
) -> tuple[str, list[str]]:
    """The clause and values that select the orders ``OrderStore.orders`` asks for."""
    clauses, params = ["1"], []
    for column, value in (("robot", robot), ("symbol", symbol)):
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    if state is not None:
        clauses.append("state = ?")
        params.append(state.value)
    return " AND ".join(clauses), params


def open_orders_where(robot: str | None) -> tuple[str, tuple[str, ...]]:
    """The clause and values that select the open orders (of ``robot``, if given)."""
    where = f"state IN ({', '.join('?' * len(_OPEN_STATES))})"
    params: tuple[str, ...] = _OPEN_STATES
    if robot is not None:
        where, params = f"{where} AND robot = ?", (*_OPEN_STATES, robot)
    return where, params


def select_orders(db: sqlite3.Connection, where: str, params: Sequence[Any]) -> list[OrderRecord]:
    """The orders ``where`` selects, with their histories, read in one snapshot."""
    # S608: `where` is made of this module's own fixed clauses; the values are bound.
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


def trade_rows(db: sqlite3.Connection, robot: str | None, since_seq: int) -> list[Any]:
    """The rows of the trades (of ``robot``, if given) with seq > ``since_seq``, for ``fill_of``."""
    if robot is None:
        return db.execute(SELECT_TRADES, (since_seq,)).fetchall()
    return db.execute(SELECT_ROBOT_TRADES, (robot, since_seq)).fetchall()


def report_records(robot: str, rows: Sequence[tuple[int, bytes]]) -> list[ReportRecord]:
    """The reports stored as ``rows`` of (seq, payload); StoreError if one cannot be decoded."""
    records = []
    for seq, payload in rows:
        try:
            event = decode(payload)
        except DecodeError as exc:
            msg = f"The stored report {seq} of robot {robot!r} cannot be decoded: {exc}"
            raise StoreError(msg) from exc
        records.append(ReportRecord(robot=robot, seq=seq, report=as_report(event, robot, seq)))
    return records


def last_seqs(db: sqlite3.Connection) -> dict[str, int]:
    """Each robot's last report seq."""
    query = "SELECT robot, MAX(seq) FROM reports GROUP BY robot"
    return dict(db.execute(query).fetchall())


def last_seq(db: sqlite3.Connection, robot: str) -> int:
    """The last report seq of ``robot``; 0 if it has none."""
    query = "SELECT MAX(seq) FROM reports WHERE robot = ?"
    (last,) = db.execute(query, (robot,)).fetchone()
    return int(last or 0)


def highest_numbered(db: sqlite3.Connection, table: str, column: str, prefix: str) -> int:
    """The highest n of the ids ``{prefix}{n}`` in ``column`` of ``table``; 0 if none."""
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
    (highest,) = db.execute(query, params).fetchone()
    return int(highest or 0)
