"""The MongoDB order store's documents: orders, trades and reports, to BSON and back.

Decimals are strings, read back exact. A document that cannot be read back
raises :class:`StoreError` naming it: the store is damaged, not the caller.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Final

from gateways.store._common import as_report, encoded
from gateways.store.base import OrderRecord, OrderState, ReportRecord, StateChange
from yard_actors.errors import DecodeError, StoreError
from yard_actors.wire.codec import decode
from yard_actors.wire.events import Fill, Side, TimeInForce

__all__ = [
    "REPORT_SEQ",
    "Document",
    "fill_of",
    "order_document",
    "order_record",
    "report_document",
    "report_record",
    "trade_document",
]

Document = dict[str, Any]

REPORT_SEQ: Final = "report_seq"
"""The field of an order that carries a journal holding reports: the highest of their seqs."""


def order_document(record: OrderRecord, *, version: int, trade_ids: list[str]) -> Document:
    """The order as stored; ``version`` counts its changes, ``trade_ids`` the fills it counts."""
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


def order_record(document: Mapping[str, Any]) -> OrderRecord:
    """The record of a stored order; StoreError if the document is damaged."""
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


def trade_document(fill: Fill) -> Document:
    """The trade as stored: the fill's fields, with the robot as ``name``."""
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


def fill_of(document: Mapping[str, Any]) -> Fill:
    """The fill (with its seq) of a stored trade; StoreError if the document is damaged."""
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


def report_document(record: ReportRecord) -> Document:
    """The report as stored: its payload is yard's JSON text of the event."""
    return {
        "robot": record.robot,
        "seq": record.seq,
        "payload": encoded(record.report).decode(),
    }


def report_record(document: Mapping[str, Any]) -> ReportRecord:
    """The record of a stored report; StoreError if its payload is not a report."""
    robot, seq = document["robot"], document["seq"]
    try:
        event = decode(document["payload"].encode())
    except (DecodeError, KeyError, AttributeError) as exc:
        msg = f"The stored report {seq} of robot {robot!r} cannot be decoded: {exc}"
        raise StoreError(msg) from exc
    return ReportRecord(robot=robot, seq=seq, report=as_report(event, robot, seq))
