"""One-line builders of events for tests, and a poll for asynchronous state."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from decimal import Decimal

from yard_actors.wire.events import (
    Bar,
    CancelReply,
    Fill,
    NewOrder,
    OrderAccepted,
    OrderRejected,
    Quote,
    Side,
    Tick,
)

DEFAULT_START_TS = 1_700_000_000_000_000_000
_fill_ids = itertools.count(1)


def _price(value: Decimal | int | str) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(value)


# --- one-line builders --------------------------------------------------------------------


def quote(
    symbol: str,
    bid: Decimal | int | str,
    ask: Decimal | int | str,
    *,
    bid_size: int = 10,
    ask_size: int = 10,
    ts: int = DEFAULT_START_TS,
) -> Quote:
    return Quote(
        ts=ts,
        symbol=symbol,
        bid=_price(bid),
        ask=_price(ask),
        bid_size=bid_size,
        ask_size=ask_size,
    )


def tick(
    symbol: str,
    price: Decimal | int | str,
    qty: int = 1,
    *,
    aggressor: Side = Side.BUY,
    ts: int = DEFAULT_START_TS,
) -> Tick:
    return Tick(ts=ts, symbol=symbol, price=_price(price), qty=qty, aggressor=aggressor)


def bar(
    symbol: str,
    open_: Decimal | int | str,
    high: Decimal | int | str,
    low: Decimal | int | str,
    close: Decimal | int | str,
    *,
    volume: int = 1,
    period_ns: int = 60_000_000_000,
    ts: int = DEFAULT_START_TS,
) -> Bar:
    """A bar closing at ``ts`` (its last nanosecond), one minute long unless told."""
    return Bar(
        ts=ts,
        symbol=symbol,
        open=_price(open_),
        high=_price(high),
        low=_price(low),
        close=_price(close),
        volume=volume,
        period_ns=period_ns,
    )


def accepted(order: NewOrder, *, ts: int | None = None) -> OrderAccepted:
    return OrderAccepted(
        ts=order.ts if ts is None else ts,
        client_order_id=order.client_order_id,
        robot=order.robot,
        exchange_order_id=f"x-{order.client_order_id}",
    )


def rejected(
    order: NewOrder, reason: str = "rejected by test", *, ts: int | None = None
) -> OrderRejected:
    return OrderRejected(
        ts=order.ts if ts is None else ts,
        client_order_id=order.client_order_id,
        robot=order.robot,
        reason=reason,
    )


def cancelled(order: NewOrder, *, ts: int | None = None, done: bool = True) -> CancelReply:
    return CancelReply(
        ts=order.ts if ts is None else ts,
        client_order_id=order.client_order_id,
        robot=order.robot,
        cancelled=done,
        reason="" if done else "too late",
    )


def filled(
    order: NewOrder,
    qty: int | None = None,
    price: Decimal | int | str | None = None,
    *,
    fee: Decimal | int | str = 0,
    ts: int | None = None,
    trade_id: str | None = None,
) -> Fill:
    """A fill of ``order``: all of it at its limit price unless told otherwise."""
    fill_price = price if price is not None else order.price
    if fill_price is None:
        msg = f"a market order ({order.client_order_id}) needs an explicit fill price"
        raise ValueError(msg)
    return Fill(
        ts=order.ts if ts is None else ts,
        trade_id=trade_id or f"t-{next(_fill_ids)}",
        client_order_id=order.client_order_id,
        robot=order.robot,
        symbol=order.symbol,
        side=order.side,
        price=_price(fill_price),
        qty=order.qty if qty is None else qty,
        fee=_price(fee),
    )


def wait_until(
    condition: Callable[[], bool], timeout: float = 5.0, what: str = "condition"
) -> None:
    """Poll ``condition`` until it holds; for state that arrives asynchronously (fills, fan-out).

    Raises AssertionError naming ``what`` after ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            msg = f"{what} did not happen within {timeout} s"
            raise AssertionError(msg)
        time.sleep(0.005)
