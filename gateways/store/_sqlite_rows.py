"""The SQLite order store's tables, statements and row conversions.

Tables: ``orders`` (one row per order; decimals as TEXT, read back exact),
``order_history`` (one row per state change), ``trades`` (one row per fill,
``trade_id`` unique: the same fill again is a no-op, another fill under its id a
:class:`~gateways.store.base.TradeClashError`) and ``reports`` (the encoded
report with its seq, keyed by ``(robot, seq)``); the robots' owners are in
:mod:`.sqlite_owners`.

Kept apart from :mod:`.sqlite`, which decides when to run what: this module
says only how an order, a trade or a report is laid out in the file.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any, Final

from gateways.store.base import OrderRecord, OrderState, StateChange
from yard_actors.wire.events import Fill, Side, TimeInForce

__all__ = [
    "INSERT_HISTORY",
    "INSERT_HISTORY_2",
    "INSERT_ORDER",
    "INSERT_REPORT",
    "INSERT_TRADE",
    "ORDER_COLUMNS",
    "SCHEMA",
    "SELECT_ROBOT_TRADES",
    "SELECT_TRADE",
    "SELECT_TRADES",
    "UPDATE_FILLED",
    "UPDATE_STATE",
    "fill_of",
    "first_history_rows",
    "order_record",
    "order_row",
    "trade_row",
]

SCHEMA: Final = """
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

ORDER_COLUMNS: Final = (
    "client_order_id, robot, symbol, side, qty, price, tif, state, filled_qty, filled_value, "
    "created_ts, updated_ts, exchange_order_id, reason"
)
INSERT_ORDER: Final = (
    "INSERT OR IGNORE INTO orders VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
INSERT_HISTORY: Final = "INSERT INTO order_history VALUES (?, ?, ?, ?, ?)"
INSERT_HISTORY_2: Final = "INSERT INTO order_history VALUES (?, ?, ?, ?, ?), (?, ?, ?, ?, ?)"
UPDATE_STATE: Final = (
    "UPDATE orders SET state = ?, updated_ts = ?, reason = ?, exchange_order_id = ? "
    "WHERE client_order_id = ?"
)
UPDATE_FILLED: Final = (
    "UPDATE orders SET state = ?, filled_qty = ?, filled_value = ?, updated_ts = ? "
    "WHERE client_order_id = ?"
)
# OR IGNORE: a taken key is no error inside a batch, which it would undo; the store then
# reads what holds the key and tells a retry of the same fill from a clash.
INSERT_TRADE: Final = "INSERT OR IGNORE INTO trades VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
INSERT_REPORT: Final = "INSERT INTO reports VALUES (?, ?, ?)"
SELECT_TRADES: Final = (
    "SELECT ts, trade_id, client_order_id, robot, symbol, side, price, qty, fee, seq "
    "FROM trades WHERE seq > ? ORDER BY robot, seq"
)
SELECT_TRADE: Final = (
    "SELECT ts, trade_id, client_order_id, robot, symbol, side, price, qty, fee, seq "
    "FROM trades WHERE trade_id = ?"
)
SELECT_ROBOT_TRADES: Final = (
    "SELECT ts, trade_id, client_order_id, robot, symbol, side, price, qty, fee, seq "
    "FROM trades WHERE robot = ? AND seq > ? ORDER BY seq"
)


def order_row(record: OrderRecord) -> tuple[Any, ...]:
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


def first_history_rows(record: OrderRecord) -> tuple[Any, ...]:
    """The parameters of :data:`INSERT_HISTORY_2`: the order's first two changes."""
    coid = record.client_order_id
    return tuple(
        value
        for ordinal, change in enumerate(record.history[:2])
        for value in (coid, ordinal, change.ts, change.state.value, change.reason)
    )


def order_record(row: Sequence[Any], history: list[StateChange]) -> OrderRecord:
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


def trade_row(fill: Fill) -> tuple[Any, ...]:
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


def fill_of(row: Sequence[Any]) -> Fill:
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
