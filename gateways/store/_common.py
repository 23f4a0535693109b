"""The rules both backends share: what a transition or a fill does to an order record.

Each backend reads an order, asks these functions what the order becomes (or why
it may not), then writes the result in its own way. Keeping the arithmetic and
the refusals here means SQLite and MongoDB cannot disagree on them.
"""

from __future__ import annotations

import decimal
from collections.abc import Callable
from decimal import Decimal
from typing import Final, TypeVar

import attrs

from gateways.store.base import (
    UNKNOWN_SYMBOL,
    OrderRecord,
    OrderState,
    Report,
    StateChange,
    TradeClashError,
    check_transition,
)
from yard_actors.errors import StoreError, TransitionError
from yard_actors.wire.codec import encode
from yard_actors.wire.events import (
    CancelReply,
    Fill,
    NewOrder,
    OrderAccepted,
    OrderRejected,
    Side,
)

__all__ = [
    "REPORT_TYPES",
    "SeqCounters",
    "apply_fill_to",
    "as_report",
    "check_repeat",
    "encoded",
    "new_record",
    "refused_record",
    "rejected_record",
    "transition_of",
    "with_seq",
]

REPORT_TYPES: Final = (OrderAccepted, OrderRejected, CancelReply, Fill)

# Sums of price * qty must be exact: a context wide enough for any product the
# events allow, with Inexact trapped so that a rounding could never pass silently.
_EXACT: Final = decimal.Context(
    prec=200, traps=[decimal.Inexact, decimal.InvalidOperation, decimal.Overflow]
)

_R = TypeVar("_R", bound=Report)


def new_record(order: NewOrder) -> OrderRecord:
    """The record of an order just received: state ``new``, nothing filled."""
    return OrderRecord(
        client_order_id=order.client_order_id,
        robot=order.robot,
        symbol=order.symbol,
        side=order.side,
        qty=order.qty,
        price=order.price,
        tif=order.tif,
        state=OrderState.NEW,
        filled_qty=0,
        filled_value=Decimal(0),
        created_ts=order.ts,
        updated_ts=order.ts,
        exchange_order_id="",
        reason="",
        history=(StateChange(ts=order.ts, state=OrderState.NEW),),
    )


def rejected_record(rejected: OrderRejected, order: NewOrder | None) -> OrderRecord:
    """The record of ``order`` rejected on arrival by ``rejected`` (see ``add_rejected``).

    Without ``order`` (never received), the order known by its id alone. Raises
    StoreError if ``order`` names another robot or id than ``rejected``.
    """
    if order is None:
        order = NewOrder(
            ts=rejected.ts,
            client_order_id=rejected.client_order_id,
            robot=rejected.robot,
            symbol=UNKNOWN_SYMBOL,
            side=Side.BUY,
            qty=1,
        )
    elif (order.robot, order.client_order_id) != (rejected.robot, rejected.client_order_id):
        msg = (
            f"The rejection of order {rejected.client_order_id} of robot {rejected.robot!r} "
            f"cannot be stored with order {order.client_order_id} of robot {order.robot!r}; "
            "pass the order it rejects"
        )
        raise StoreError(msg)
    return refused_record(order, rejected.reason, ts=rejected.ts)


def refused_record(order: NewOrder, reason: str, *, ts: int) -> OrderRecord:
    """The record of ``order`` rejected for ``reason`` at ``ts``, never sent on: new, rejected."""
    return transition_of(
        new_record(order), OrderState.REJECTED, ts=ts, reason=reason, exchange_order_id=None
    )


def transition_of(
    record: OrderRecord,
    state: OrderState,
    *,
    ts: int,
    reason: str,
    exchange_order_id: str | None,
) -> OrderRecord:
    """The record after ``record -> state``; raise TransitionError if the table refuses it."""
    refusal = check_transition(record.client_order_id, record.state, state)
    if refusal is not None:
        raise TransitionError(refusal)
    return attrs.evolve(
        record,
        state=state,
        updated_ts=ts,
        reason=reason or record.reason,
        exchange_order_id=record.exchange_order_id
        if exchange_order_id is None
        else exchange_order_id,
        history=(*record.history, StateChange(ts=ts, state=state, reason=reason)),
    )


def apply_fill_to(record: OrderRecord, fill: Fill) -> OrderRecord:
    """The record after ``fill``; raise TransitionError for a final order or an overfill.

    Raises :class:`StoreError` if the fill names another robot, symbol or side
    than its order: that is a gateway bug, and storing it would corrupt both.
    """
    for name in ("robot", "symbol", "side"):
        if getattr(fill, name) != getattr(record, name):
            msg = (
                f"Fill {fill.trade_id} has {name} {getattr(fill, name)!r} but its order "
                f"{record.client_order_id} has {getattr(record, name)!r}; the fill was not stored"
            )
            raise StoreError(msg)
    filled_qty = record.filled_qty + fill.qty
    target = OrderState.FILLED if filled_qty >= record.qty else OrderState.PARTIALLY_FILLED
    refusal = check_transition(record.client_order_id, record.state, target)
    if refusal is not None:
        msg = f"fill {fill.trade_id} refused: {refusal}"
        raise TransitionError(msg)
    if filled_qty > record.qty:
        msg = (
            f"fill {fill.trade_id} of {fill.qty} refused: it would take order "
            f"{record.client_order_id}'s filled qty from {record.filled_qty} to {filled_qty}, "
            f"past its qty of {record.qty}"
        )
        raise TransitionError(msg)
    try:
        value = _EXACT.add(record.filled_value, _EXACT.multiply(fill.price, fill.qty))
    except ArithmeticError as exc:
        msg = f"fill {fill.trade_id} at {fill.price} x {fill.qty} cannot be summed exactly"
        raise StoreError(msg) from exc
    return attrs.evolve(
        record,
        state=target,
        filled_qty=filled_qty,
        filled_value=value,
        updated_ts=fill.ts,
        history=(*record.history, StateChange(ts=fill.ts, state=target)),
    )


def check_repeat(stored: Fill, fill: Fill) -> None:
    """Pass if ``fill`` is the ``stored`` one again (``seq`` aside); raise TradeClashError if not.

    The same fill twice is a retry, which the store takes as a no-op; another
    fill under the same trade id would be lost if taken so, and corrupt its order
    if applied to it.
    """
    if attrs.evolve(fill, seq=stored.seq) == stored:
        return
    msg = (
        f"Trade id {fill.trade_id} is already stored for another fill ({_described(stored)}); "
        f"this fill ({_described(fill)}) was not stored. The exchange gave one trade id to "
        "two fills: each fill needs its own (an exchange restarted on a store numbers its "
        "trades after the highest there)"
    )
    raise TradeClashError(msg)


def _described(fill: Fill) -> str:
    side = fill.side.value
    return (
        f"order {fill.client_order_id} of robot {fill.robot}: {side} {fill.qty} {fill.symbol} "
        f"at {fill.price}, fee {fill.fee}, ts {fill.ts}"
    )


def with_seq(report: _R, robot: str, seq: int) -> _R:
    """``report`` carrying ``seq``; raise StoreError if it belongs to another robot."""
    if report.robot != robot:
        msg = (
            f"A {type(report).__name__} for robot {report.robot!r} cannot be stored "
            f"under robot {robot!r}; pass the report's own robot"
        )
        raise StoreError(msg)
    return attrs.evolve(report, seq=seq)


def encoded(report: Report) -> bytes:
    """The report as the wire and the store carry it; StoreError if it cannot be written."""
    try:
        return encode(report)
    except (TypeError, ValueError) as exc:
        msg = f"The report {report!r} cannot be stored: {exc}"
        raise StoreError(msg) from exc


def as_report(event: object, robot: str, seq: int) -> Report:
    """Check that a decoded stored payload is a report; a StoreError names it otherwise."""
    if not isinstance(event, REPORT_TYPES):
        msg = (
            f"The stored report {seq} of robot {robot!r} is a {type(event).__name__}, "
            "not a report; the store is damaged"
        )
        raise StoreError(msg)
    return event


class SeqCounters:
    """Each robot's last report seq, loaded on first use and kept in memory.

    Safe only because the gateway is the store's one writer: nobody else can
    take a seq between two of its calls. ``load`` reads one robot's highest seq
    from the backend; a backend calls :meth:`forget` when a write's outcome is
    unknown, so the next use reads the truth again. Callers hold the store's lock.
    """

    def __init__(self, load: Callable[[str], int]) -> None:
        self._load = load
        self._last: dict[str, int] = {}

    def next(self, robot: str) -> int:
        """The seq the robot's next report would get (nothing is taken until :meth:`take`)."""
        last = self._last.get(robot)
        if last is None:
            last = self._last[robot] = self._load(robot)
        return last + 1

    def take(self, robot: str, seq: int) -> None:
        """Record that ``seq`` is now the robot's last one (after its write succeeded)."""
        self._last[robot] = seq

    def forget(self, robot: str | None = None) -> None:
        """Drop what is known of one robot (or all): it is read again on next use."""
        if robot is None:
            self._last.clear()
        else:
            self._last.pop(robot, None)
