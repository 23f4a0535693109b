"""Decode the most frequent event types without cattrs: the codec's hot path.

Quotes and ticks (and bars, from bar files) are most of what a host decodes;
NewOrder is what the order gateway decodes, and OrderAccepted, Fill and
CancelReply what a host's trades intake decodes, on every order's round trip.
For a well-formed payload of one of these types, the decoders here check
every rule the general path in :mod:`yard_actors.wire.codec` checks (the
same keys, field types, ranges and decimal text), then set the fields of the
frozen event directly instead of going through cattrs and the attrs
validators: about half the cost.

A decoder returns ``None`` whenever a check fails or the payload is in any
way unusual (a field left to its default, a JSON number as a price), and the
general path then decides, with its full error message. So a decoder must
return exactly the event the general path returns, or ``None``; it never
raises. ``tests/unit/wire/test_fast_decode.py`` checks that on valid and
mutated payloads alike. A change to an event class or to the general path's
rules must be made here too; the bounds both share are in
:mod:`yard_actors.wire.schema`.

The decoders run on whichever thread calls :func:`~yard_actors.wire.codec.decode`
(an intake's, a gateway's); their only state, a cache of parsed prices, is safe
to share between threads.
"""

from __future__ import annotations

import decimal
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, Final

from yard_actors.wire import events
from yard_actors.wire.schema import DECIMAL_EXPONENT_LIMIT, MAX_INT, MAX_NAME_CHARS, SCHEMA_VERSION

__all__ = [
    "DECODERS",
    "FastDecoder",
    "decode_bar",
    "decode_cancel_reply",
    "decode_fill",
    "decode_new_order",
    "decode_order_accepted",
    "decode_quote",
    "decode_tick",
]

FastDecoder = Callable[[dict[str, Any]], events.Event | None]
"""A parsed JSON object whose ``type`` is the decoder's key to its event, or None."""

_new = object.__new__
_set = object.__setattr__
_SIDES: Final = {side.value: side for side in events.Side}
_QUOTE_KEYS: Final = frozenset(("type", "v", "ts", "symbol", "bid", "ask", "bid_size", "ask_size"))
_TICK_KEYS: Final = frozenset(("type", "v", "ts", "symbol", "price", "qty", "aggressor"))
_BAR_PRICES: Final = ("open", "high", "low", "close")
_BAR_KEYS: Final = frozenset(("type", "v", "ts", "symbol", *_BAR_PRICES, "volume", "period_ns"))
_ORDER_KEYS: Final = frozenset(
    ("type", "v", "ts", "client_order_id", "robot", "symbol", "side", "qty", "price", "tif")
)
_TIFS: Final = {tif.value: tif for tif in events.TimeInForce}
_ACCEPTED_KEYS: Final = frozenset(
    ("type", "v", "ts", "client_order_id", "robot", "exchange_order_id", "seq")
)
_CANCEL_REPLY_KEYS: Final = frozenset(
    ("type", "v", "ts", "client_order_id", "robot", "cancelled", "reason", "seq")
)
_FILL_KEYS: Final = frozenset(
    (
        *("type", "v", "ts", "trade_id", "client_order_id", "robot", "symbol"),
        *("side", "price", "qty", "fee", "seq"),
    )
)


# Prices repeat: a session's quotes move within a few hundred ticks. Remembering
# the decimals already checked turns most conversions into one dict lookup.
# Decimals are immutable, so sharing one between events is safe; the cache is
# bounded and dropped whole when full, and dict operations are atomic under the
# GIL, so intake threads may share it.
_DECIMALS: Final[dict[str, Decimal]] = {}
_DECIMALS_MAX: Final = 65_536


def _decimal(text: Any) -> Decimal | None:
    if type(text) is not str:
        return None
    known = _DECIMALS.get(text)
    if known is not None:
        return known
    try:
        number = Decimal(text)
    except decimal.InvalidOperation:
        return None
    if str(number) != text or not number.is_finite():
        return None
    if not -DECIMAL_EXPONENT_LIMIT <= number.adjusted() <= DECIMAL_EXPONENT_LIMIT:
        return None
    if len(_DECIMALS) >= _DECIMALS_MAX:
        _DECIMALS.clear()
    _DECIMALS[text] = number
    return number


def _ts(document: dict[str, Any], keys: frozenset[str]) -> int | None:
    """The ts of a document with exactly ``keys`` and this version, else None."""
    if len(document) != len(keys) or not keys.issuperset(document):
        return None
    ts, version = document["ts"], document["v"]
    if type(version) is not int or version != SCHEMA_VERSION:
        return None
    if type(ts) is not int or not 0 <= ts <= MAX_INT:
        return None
    return ts


def _head(document: dict[str, Any], keys: frozenset[str]) -> tuple[int, str] | None:
    ts = _ts(document, keys)
    if ts is None:
        return None
    symbol = document["symbol"]
    if type(symbol) is not str or not 0 < len(symbol) <= MAX_NAME_CHARS:
        return None
    return ts, symbol


def _seq_ok(seq: Any) -> bool:
    return type(seq) is int and 0 <= seq <= MAX_INT


def decode_quote(document: dict[str, Any]) -> events.Quote | None:
    """A Quote with every field present, or None."""
    head = _head(document, _QUOTE_KEYS)
    if head is None:
        return None
    bid_size, ask_size = document["bid_size"], document["ask_size"]
    if type(bid_size) is not int or type(ask_size) is not int:
        return None
    if not (0 <= bid_size <= MAX_INT and 0 <= ask_size <= MAX_INT):
        return None
    bid, ask = _decimal(document["bid"]), _decimal(document["ask"])
    if bid is None or ask is None:
        return None
    quote = _new(events.Quote)
    _set(quote, "ts", head[0])
    _set(quote, "symbol", head[1])
    _set(quote, "bid", bid)
    _set(quote, "ask", ask)
    _set(quote, "bid_size", bid_size)
    _set(quote, "ask_size", ask_size)
    return quote


def decode_tick(document: dict[str, Any]) -> events.Tick | None:
    """A Tick with every field present, or None."""
    head = _head(document, _TICK_KEYS)
    if head is None:
        return None
    qty, side = document["qty"], document["aggressor"]
    aggressor = _SIDES.get(side) if type(side) is str else None
    if type(qty) is not int or not 0 < qty <= MAX_INT or aggressor is None:
        return None
    price = _decimal(document["price"])
    if price is None:
        return None
    tick = _new(events.Tick)
    _set(tick, "ts", head[0])
    _set(tick, "symbol", head[1])
    _set(tick, "price", price)
    _set(tick, "qty", qty)
    _set(tick, "aggressor", aggressor)
    return tick


def decode_bar(document: dict[str, Any]) -> events.Bar | None:
    """A Bar with every field present, whose range holds its open and close, or None."""
    head = _head(document, _BAR_KEYS)
    if head is None:
        return None
    volume, period = document["volume"], document["period_ns"]
    if type(volume) is not int or type(period) is not int:
        return None
    if not (0 <= volume <= MAX_INT and 0 < period <= head[0] + 1):
        return None
    open_, high, low, close = (_decimal(document[name]) for name in _BAR_PRICES)
    if open_ is None or high is None or low is None or close is None:
        return None
    if not (low <= min(open_, close) and max(open_, close) <= high):
        return None
    bar = _new(events.Bar)
    _set(bar, "ts", head[0])
    _set(bar, "symbol", head[1])
    _set(bar, "open", open_)
    _set(bar, "high", high)
    _set(bar, "low", low)
    _set(bar, "close", close)
    _set(bar, "volume", volume)
    _set(bar, "period_ns", period)
    return bar


def _name_ok(name: Any) -> bool:
    return type(name) is str and 0 < len(name) <= MAX_NAME_CHARS


def decode_new_order(document: dict[str, Any]) -> events.NewOrder | None:
    """A NewOrder as encode() writes it (every field present, a market price null), or None."""
    head = _head(document, _ORDER_KEYS)
    if head is None:
        return None
    coid, robot, qty = document["client_order_id"], document["robot"], document["qty"]
    if not (_name_ok(coid) and _name_ok(robot)):
        return None
    if type(qty) is not int or not 0 < qty <= MAX_INT:
        return None
    side, tif = document["side"], document["tif"]
    side = _SIDES.get(side) if type(side) is str else None
    tif = _TIFS.get(tif) if type(tif) is str else None
    if side is None or tif is None:
        return None
    text = document["price"]
    price = None if text is None else _decimal(text)
    if price is None and text is not None:
        return None
    order = _new(events.NewOrder)
    _set(order, "ts", head[0])
    _set(order, "client_order_id", coid)
    _set(order, "robot", robot)
    _set(order, "symbol", head[1])
    _set(order, "side", side)
    _set(order, "qty", qty)
    _set(order, "price", price)
    _set(order, "tif", tif)
    return order


def decode_order_accepted(document: dict[str, Any]) -> events.OrderAccepted | None:
    """An OrderAccepted with every field present (``seq`` too), or None."""
    ts = _ts(document, _ACCEPTED_KEYS)
    if ts is None:
        return None
    coid, robot, exchange_order_id = (
        document["client_order_id"],
        document["robot"],
        document["exchange_order_id"],
    )
    if not (_name_ok(coid) and _name_ok(robot) and type(exchange_order_id) is str):
        return None
    seq = document["seq"]
    if not _seq_ok(seq):
        return None
    accepted = _new(events.OrderAccepted)
    _set(accepted, "ts", ts)
    _set(accepted, "client_order_id", coid)
    _set(accepted, "robot", robot)
    _set(accepted, "exchange_order_id", exchange_order_id)
    _set(accepted, "seq", seq)
    return accepted


def decode_cancel_reply(document: dict[str, Any]) -> events.CancelReply | None:
    """A CancelReply with every field present (``reason`` and ``seq`` too), or None."""
    ts = _ts(document, _CANCEL_REPLY_KEYS)
    if ts is None:
        return None
    coid, robot, cancelled = document["client_order_id"], document["robot"], document["cancelled"]
    if not (_name_ok(coid) and _name_ok(robot) and type(cancelled) is bool):
        return None
    reason, seq = document["reason"], document["seq"]
    if type(reason) is not str or not _seq_ok(seq):
        return None
    reply = _new(events.CancelReply)
    _set(reply, "ts", ts)
    _set(reply, "client_order_id", coid)
    _set(reply, "robot", robot)
    _set(reply, "cancelled", cancelled)
    _set(reply, "reason", reason)
    _set(reply, "seq", seq)
    return reply


def decode_fill(document: dict[str, Any]) -> events.Fill | None:
    """A Fill with every field present (``seq`` too) and a fee not below zero, or None."""
    head = _head(document, _FILL_KEYS)
    if head is None:
        return None
    trade_id, coid, robot = document["trade_id"], document["client_order_id"], document["robot"]
    if not (_name_ok(trade_id) and _name_ok(coid) and _name_ok(robot)):
        return None
    side, qty, seq = document["side"], document["qty"], document["seq"]
    side = _SIDES.get(side) if type(side) is str else None
    if side is None or type(qty) is not int or not 0 < qty <= MAX_INT or not _seq_ok(seq):
        return None
    price, fee = _decimal(document["price"]), _decimal(document["fee"])
    if price is None or fee is None or fee < 0:
        return None
    fill = _new(events.Fill)
    _set(fill, "ts", head[0])
    _set(fill, "trade_id", trade_id)
    _set(fill, "client_order_id", coid)
    _set(fill, "robot", robot)
    _set(fill, "symbol", head[1])
    _set(fill, "side", side)
    _set(fill, "price", price)
    _set(fill, "qty", qty)
    _set(fill, "fee", fee)
    _set(fill, "seq", seq)
    return fill


# By the wire ``type`` tag, which the decoders trust the caller to have matched.
DECODERS: Final[Mapping[str, FastDecoder]] = {
    "Quote": decode_quote,
    "Tick": decode_tick,
    "Bar": decode_bar,
    "NewOrder": decode_new_order,
    "OrderAccepted": decode_order_accepted,
    "CancelReply": decode_cancel_reply,
    "Fill": decode_fill,
}
