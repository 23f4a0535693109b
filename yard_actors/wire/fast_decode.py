"""Decode the most frequent event types without cattrs: the codec's hot path.

Quotes and ticks (and bars, from bar files) are most of what a host decodes;
NewOrder is what the order gateway decodes, and OrderAccepted, Fill and
CancelReply what a host's trades intake decodes, on every order's round trip.
For a well-formed payload of one of these types, the decoders here check
every rule the general path in :mod:`yard_actors.wire.codec` checks (the
same keys, field types, ranges and decimal text), then set the fields of the
frozen event directly (through its slots: the class's own ``__setattr__``
refuses, being frozen) instead of going through cattrs and the attrs
validators: about a third of the cost. Quotes and ticks, nearly every event of
a replay, have their checks written out in one function each.

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
import types
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
_SIDES: Final = {side.value: side for side in events.Side}
_QUOTE: Final = events.Quote
_QUOTE_KEYS: Final = frozenset(("type", "v", "ts", "symbol", "bid", "ask", "bid_size", "ask_size"))
_QUOTE_FIELDS: Final = len(_QUOTE_KEYS)
_TICK: Final = events.Tick
_TICK_KEYS: Final = frozenset(("type", "v", "ts", "symbol", "price", "qty", "aggressor"))
_TICK_FIELDS: Final = len(_TICK_KEYS)
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


def _slots(cls: type, *names: str) -> tuple[Callable[[Any, Any], None], ...]:
    """The setters of ``cls``'s slots ``names``, in that order.

    A slot's own setter is about twice as fast as ``object.__setattr__``, which looks it
    up by name each call. Raises ``TypeError`` at import for a class that is not slotted.
    """
    setters = []
    for name in names:
        slot = cls.__dict__.get(name)
        if not isinstance(slot, types.MemberDescriptorType):
            msg = f"{cls.__name__}.{name} is not a slot; the fast decoders set slots directly"
            raise TypeError(msg)
        setters.append(slot.__set__)
    return tuple(setters)


_QUOTE_SLOTS: Final = _slots(events.Quote, "ts", "symbol", "bid", "ask", "bid_size", "ask_size")
_TICK_SLOTS: Final = _slots(events.Tick, "ts", "symbol", "price", "qty", "aggressor")
_BAR_SLOTS: Final = _slots(
    events.Bar, "ts", "symbol", "open", "high", "low", "close", "volume", "period_ns"
)
_ORDER_SLOTS: Final = _slots(
    events.NewOrder, "ts", "client_order_id", "robot", "symbol", "side", "qty", "price", "tif"
)
_ACCEPTED_SLOTS: Final = _slots(
    events.OrderAccepted, "ts", "client_order_id", "robot", "exchange_order_id", "seq"
)
_CANCEL_REPLY_SLOTS: Final = _slots(
    events.CancelReply, "ts", "client_order_id", "robot", "cancelled", "reason", "seq"
)
_FILL_SLOTS: Final = _slots(
    events.Fill,
    *("ts", "trade_id", "client_order_id", "robot", "symbol"),
    *("side", "price", "qty", "fee", "seq"),
)


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
    # The checks of _head and _decimal written out: a replay decodes little else.
    if len(document) != _QUOTE_FIELDS or not _QUOTE_KEYS.issuperset(document):
        return None
    version, ts, symbol = document["v"], document["ts"], document["symbol"]
    bid_size, ask_size = document["bid_size"], document["ask_size"]
    if not (
        type(version) is int
        and version == SCHEMA_VERSION
        and type(ts) is int
        and 0 <= ts <= MAX_INT
        and type(symbol) is str
        and 0 < len(symbol) <= MAX_NAME_CHARS
        and type(bid_size) is int
        and 0 <= bid_size <= MAX_INT
        and type(ask_size) is int
        and 0 <= ask_size <= MAX_INT
    ):
        return None
    bid, ask = document["bid"], document["ask"]
    known = _DECIMALS.get
    bid = (known(bid) if type(bid) is str else None) or _decimal(bid)
    ask = (known(ask) if type(ask) is str else None) or _decimal(ask)
    if bid is None or ask is None:
        return None
    set_ts, set_symbol, set_bid, set_ask, set_bid_size, set_ask_size = _QUOTE_SLOTS
    quote = _new(_QUOTE)
    set_ts(quote, ts)
    set_symbol(quote, symbol)
    set_bid(quote, bid)
    set_ask(quote, ask)
    set_bid_size(quote, bid_size)
    set_ask_size(quote, ask_size)
    return quote


def decode_tick(document: dict[str, Any]) -> events.Tick | None:
    """A Tick with every field present, or None."""
    if len(document) != _TICK_FIELDS or not _TICK_KEYS.issuperset(document):
        return None
    version, ts, symbol = document["v"], document["ts"], document["symbol"]
    qty, side = document["qty"], document["aggressor"]
    aggressor = _SIDES.get(side) if type(side) is str else None
    if not (
        type(version) is int
        and version == SCHEMA_VERSION
        and type(ts) is int
        and 0 <= ts <= MAX_INT
        and type(symbol) is str
        and 0 < len(symbol) <= MAX_NAME_CHARS
        and type(qty) is int
        and 0 < qty <= MAX_INT
        and aggressor is not None
    ):
        return None
    price = document["price"]
    price = (_DECIMALS.get(price) if type(price) is str else None) or _decimal(price)
    if price is None:
        return None
    set_ts, set_symbol, set_price, set_qty, set_aggressor = _TICK_SLOTS
    tick = _new(_TICK)
    set_ts(tick, ts)
    set_symbol(tick, symbol)
    set_price(tick, price)
    set_qty(tick, qty)
    set_aggressor(tick, aggressor)
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
    set_ts, set_symbol, set_open, set_high, set_low, set_close, set_volume, set_period = _BAR_SLOTS
    bar = _new(events.Bar)
    set_ts(bar, head[0])
    set_symbol(bar, head[1])
    set_open(bar, open_)
    set_high(bar, high)
    set_low(bar, low)
    set_close(bar, close)
    set_volume(bar, volume)
    set_period(bar, period)
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
    (
        set_ts,
        set_client_order_id,
        set_robot,
        set_symbol,
        set_side,
        set_qty,
        set_price,
        set_tif,
    ) = _ORDER_SLOTS
    order = _new(events.NewOrder)
    set_ts(order, head[0])
    set_client_order_id(order, coid)
    set_robot(order, robot)
    set_symbol(order, head[1])
    set_side(order, side)
    set_qty(order, qty)
    set_price(order, price)
    set_tif(order, tif)
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
    set_ts, set_client_order_id, set_robot, set_exchange_order_id, set_seq = _ACCEPTED_SLOTS
    accepted = _new(events.OrderAccepted)
    set_ts(accepted, ts)
    set_client_order_id(accepted, coid)
    set_robot(accepted, robot)
    set_exchange_order_id(accepted, exchange_order_id)
    set_seq(accepted, seq)
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
    (
        set_ts,
        set_client_order_id,
        set_robot,
        set_cancelled,
        set_reason,
        set_seq,
    ) = _CANCEL_REPLY_SLOTS
    reply = _new(events.CancelReply)
    set_ts(reply, ts)
    set_client_order_id(reply, coid)
    set_robot(reply, robot)
    set_cancelled(reply, cancelled)
    set_reason(reply, reason)
    set_seq(reply, seq)
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
    (
        set_ts,
        set_trade_id,
        set_client_order_id,
        set_robot,
        set_symbol,
        set_side,
        set_price,
        set_qty,
        set_fee,
        set_seq,
    ) = _FILL_SLOTS
    fill = _new(events.Fill)
    set_ts(fill, head[0])
    set_trade_id(fill, trade_id)
    set_client_order_id(fill, coid)
    set_robot(fill, robot)
    set_symbol(fill, head[1])
    set_side(fill, side)
    set_price(fill, price)
    set_qty(fill, qty)
    set_fee(fill, fee)
    set_seq(fill, seq)
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
