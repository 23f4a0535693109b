"""Write events as JSON bytes for the wire and the journal, and read them back.

JSON because feeds and gateways are written in other languages and a human
must be able to read a captured message; orjson because decoding sits on the
hot path of every quote. The format is specified in ``docs/wire.md``.

Reading is strict on purpose: an unknown key, a float where an integer belongs
or a price that is not a finite decimal is refused, so a typo or a bug in a
feed shows up as a counted :class:`DecodeError` instead of a robot trading on
a wrong number. :func:`decode` raises nothing but :class:`DecodeError`.

The per-type tables are derived once, at import, from the ``Event`` union and
the attrs fields in :mod:`yard_actors.wire.events`: cattrs generates one structuring
function per class that calls this module's strict reader for each field, then
the class itself, whose validators judge the values. A new event class needs no
change here unless it brings a field type not handled in ``_field_codec``.
"""

from __future__ import annotations

import decimal
import enum
import re
import types
import typing
from collections.abc import Callable, Mapping
from decimal import Decimal
from operator import attrgetter
from typing import Any, Final

import attrs
import cattrs
import orjson
from cattrs.gen import make_dict_structure_fn, override

from yard_actors.errors import DecodeError
from yard_actors.wire import events

__all__ = [
    "MAX_PAYLOAD_BYTES",
    "SCHEMA_VERSION",
    "DecodeError",
    "decode",
    "encode",
    "event_types",
]

SCHEMA_VERSION: Final = 1
MAX_PAYLOAD_BYTES: Final = 65536

# A decimal's adjusted exponent (the power of ten of its leading digit) must lie
# within +-28: far beyond any price or fee, and it keeps "1e999999" from reaching
# arithmetic that would overflow or a str() that would be a megabyte long.
_EXPONENT_LIMIT: Final = 28
_DECIMAL_TEXT: Final = re.compile(r"-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_SHOWN_CHARS: Final = 80
_ABSENT: Final = object()

_Reader = Callable[[Any, Any], Any]  # a cattrs hook: (JSON value, field type) -> field value
_Writer = Callable[[Any], Any]  # field value -> JSON-ready value


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 3] + "..."


def _bad(where: str, expected: str, value: object) -> DecodeError:
    return DecodeError("bad_field", f"{where} must be {expected}, was {_show(value)}")


# --- readers: JSON value -> field value, raising DecodeError("bad_field") ------


def _decimal_reader(where: str) -> _Reader:
    expected = "a decimal as a JSON string such as '90000.5', or a JSON number"
    low, high = -_EXPONENT_LIMIT, _EXPONENT_LIMIT

    def read(value: Any, _: object) -> Decimal:
        kind = type(value)
        try:
            if kind is str:
                number = Decimal(value)
                # str() equality is the cheap test for the usual canonical text; the
                # regex then refuses what Decimal() accepts but the spec does not
                # (" 1", "1_0", "+1", ".5", non-ASCII digits). NaN and Infinity get
                # past both and are refused by is_finite() below.
                if str(number) != value and not _DECIMAL_TEXT.fullmatch(value):
                    raise _bad(where, expected, value)
            elif kind is int:
                number = Decimal(value)
            elif kind is float:
                number = Decimal(repr(value))  # exact for up to 15 significant digits
            else:
                raise _bad(where, expected, value)
        except decimal.InvalidOperation:  # an exponent too large for Decimal itself
            raise _bad(where, expected, value) from None
        if not (number.is_finite() and low <= number.adjusted() <= high):
            leading = f"a finite decimal with its leading digit within 1e+-{_EXPONENT_LIMIT}"
            raise _bad(where, leading, value)
        return number

    return read


def _enum_reader(where: str, kind: type[enum.Enum]) -> _Reader:
    members = {member.value: member for member in kind}
    expected = "one of " + ", ".join(repr(value) for value in members)

    def read(value: Any, _: object) -> enum.Enum:
        member = members.get(value) if type(value) is str else None
        if member is None:
            raise _bad(where, expected, value)
        return member

    return read


def _exact_reader(where: str, kind: type, expected: str) -> _Reader:
    def read(value: Any, _: object) -> Any:
        if type(value) is not kind:
            raise _bad(where, expected, value)
        return value

    return read


def _optional_reader(inner: _Reader) -> _Reader:
    def read(value: Any, kind: object) -> Any:
        return None if value is None else inner(value, kind)

    return read


# --- writers: field value -> JSON-ready value; None means "as it is" ----------


def _write_decimal(where: str) -> _Writer:
    def write(number: Decimal) -> str:
        if not -_EXPONENT_LIMIT <= number.adjusted() <= _EXPONENT_LIMIT:
            msg = (
                f"{where} must have its leading digit within 1e+-{_EXPONENT_LIMIT} to be"
                f" carried on the wire, was {_show(number)}"
            )
            raise ValueError(msg)
        text = str(number)
        return text if "E" not in text else format(number, "f")  # plain digits for any reader

    return write


def _write_object(where: str) -> _Writer:
    # Sorted keys keep the bytes deterministic; the reload check refuses what JSON
    # would change silently (NaN becomes null, a tuple becomes a list).
    def write(value: dict[str, Any]) -> orjson.Fragment:
        text = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
        if orjson.loads(text) != value:
            arrived = _show(orjson.loads(text))
            msg = (
                f"{where} cannot travel as JSON unchanged: {_show(value)} would arrive as {arrived}"
            )
            raise ValueError(msg)
        return orjson.Fragment(text)

    return write


_EXACT_TYPES: Final[Mapping[type, str]] = {
    bool: "true or false",
    int: "a JSON integer",
    str: "a JSON string",
}


def _field_codec(owner: str, name: str, hint: Any) -> tuple[_Reader, _Writer | None]:
    """Return the reader and the writer (None: as it is) for one field's type."""
    where = f"{owner}.{name}"
    args = typing.get_args(hint)
    if isinstance(hint, types.UnionType) and len(args) == 2 and type(None) in args:
        inner = args[0] if args[1] is type(None) else args[1]
        read, write = _field_codec(owner, name, inner)
        return _optional_reader(read), write  # encode() writes None as null itself
    if hint in _EXACT_TYPES:  # type() is tested, not isinstance(): True is no integer here
        return _exact_reader(where, hint, _EXACT_TYPES[hint]), None
    if hint is Decimal:
        return _decimal_reader(where), _write_decimal(where)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return _enum_reader(where, hint), attrgetter("value")
    if typing.get_origin(hint) is dict:
        return _exact_reader(where, dict, "a JSON object"), _write_object(where)
    msg = f"{where} has type {hint!r}, which the codec cannot carry; teach codec._field_codec it"
    raise TypeError(msg)


# --- per-type tables, built once from the Event union ---------------------------

# Every field gets its own hook, so the converter's default (lenient) hooks never run.
_CONVERTER: Final = cattrs.Converter(detailed_validation=False)


@attrs.frozen
class _Spec:
    """Everything needed to read and write one event type, derived from its attrs fields."""

    cls: type[Any]
    names: tuple[str, ...]
    allowed: frozenset[str]
    required: frozenset[str]
    structure: Callable[[Mapping[str, Any], Any], Any]
    writers: tuple[_Writer | None, ...]
    values: Callable[[Any], tuple[Any, ...]]


def _spec(cls: type[Any]) -> _Spec:
    hints = typing.get_type_hints(cls)
    fields = attrs.fields(cls)
    names = tuple(f.name for f in fields)
    if {"type", "v"} & set(names):
        msg = f"{cls.__name__} has a field named 'type' or 'v', which the wire reserves; rename it"
        raise TypeError(msg)
    codecs = [_field_codec(cls.__name__, name, hints[name]) for name in names]
    hooks: dict[str, Any] = {  # Any: else mypy matches them against the _cattrs_* flags
        name: override(struct_hook=read) for name, (read, _) in zip(names, codecs, strict=True)
    }
    return _Spec(
        cls=cls,
        names=names,
        allowed=frozenset(names) | {"type", "v"},
        required=frozenset(f.name for f in fields if f.default is attrs.NOTHING),
        structure=make_dict_structure_fn(
            cls,
            _CONVERTER,
            _cattrs_forbid_extra_keys=False,  # checked before, to name the key in the error
            _cattrs_detailed_validation=False,  # our hooks raise DecodeError themselves
            **hooks,
        ),
        writers=tuple(write for _, write in codecs),
        values=attrgetter(*names) if len(names) > 1 else lambda e: (getattr(e, names[0]),),
    )


_SPECS: Final[dict[str, _Spec]] = {
    cls.__name__: _spec(cls) for cls in typing.get_args(events.Event)
}
_SPECS_BY_CLASS: Final[Mapping[type, _Spec]] = {spec.cls: spec for spec in _SPECS.values()}
_TYPES: Final[Mapping[str, type]] = types.MappingProxyType(
    {name: spec.cls for name, spec in _SPECS.items()}
)


def event_types() -> Mapping[str, type]:
    """Map each wire ``type`` tag to its event class (read-only)."""
    return _TYPES


# --- the API ---------------------------------------------------------------------


def encode(event: events.Event) -> bytes:
    """Write ``event`` as compact JSON: ``type``, ``v``, then its fields in class order.

    The same event always gives the same bytes. Raises ``TypeError`` for an
    object that is not an event, and ``ValueError`` for an event JSON cannot
    carry exactly (an integer beyond 64 bits, a string with lone surrogates, a
    decimal outside the wire's range, ``Control.params`` holding a Decimal, a
    NaN or a tuple): what would not decode identically is refused here.
    """
    spec = _SPECS_BY_CLASS.get(type(event))
    if spec is None:
        msg = f"Only yard events can be encoded, was a {type(event).__name__}"
        raise TypeError(msg)
    document: dict[str, Any] = {"type": spec.cls.__name__, "v": SCHEMA_VERSION}
    try:
        for name, write, value in zip(spec.names, spec.writers, spec.values(event), strict=True):
            document[name] = value if write is None or value is None else write(value)
        return orjson.dumps(document)
    except orjson.JSONEncodeError as exc:
        msg = f"{spec.cls.__name__} cannot be written as JSON: {exc}"
        raise ValueError(msg) from exc


def decode(data: bytes | bytearray | memoryview) -> events.Event:
    """Read one event from a payload; raise :class:`DecodeError` and nothing else if malformed.

    Runs on the intake's thread for every message, so it is kept to one parse,
    one pass over the fields and the event's own validators. ``reason`` on the
    error is one of the stable codes listed in ``docs/wire.md``.
    """
    if len(data) > MAX_PAYLOAD_BYTES:
        msg = f"Payload is {len(data)} bytes, more than the limit of {MAX_PAYLOAD_BYTES}"
        raise DecodeError("oversized", msg)
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        msg = f"Payload is not UTF-8 JSON ({exc}): {_show(bytes(data[:_SHOWN_CHARS]))}"
        raise DecodeError("not_json", msg) from None
    if type(document) is dict:
        tag = document.get("type")
        fast = _FAST.get(tag) if type(tag) is str else None
        if fast is not None:
            event = fast(document)
            if event is not None:
                return event
    return _decode_document(document)


def _decode_document(document: Any) -> events.Event:
    """The general path: every check, every error message."""
    if type(document) is not dict:
        msg = f"Payload must be a JSON object, was {_show(document)}"
        raise DecodeError("not_object", msg)
    version = document.get("v", _ABSENT)
    if type(version) is not int or version != SCHEMA_VERSION:
        shown = "missing" if version is _ABSENT else _show(version)
        msg = f"Message version must be {SCHEMA_VERSION}, was {shown}"
        raise DecodeError("bad_version", msg)
    tag = document.get("type", _ABSENT)
    spec = _SPECS.get(tag) if type(tag) is str else None
    if spec is None:
        shown = "missing" if tag is _ABSENT else _show(tag)
        msg = f"Message type must be one of {', '.join(_SPECS)}, was {shown}"
        raise DecodeError("unknown_type", msg)
    return _build(spec, document)


def _build(spec: _Spec, document: dict[str, Any]) -> events.Event:
    # Equal sizes and no unknown key mean every field is present: the usual case,
    # tested with one set operation. Otherwise look closer (optional fields).
    if len(document) != len(spec.allowed) or not spec.allowed.issuperset(document):
        _check_keys(spec, document.keys())
    try:
        event: events.Event = spec.structure(document, spec.cls)
    except (ValueError, TypeError, ArithmeticError) as exc:  # from the class's validators
        raise DecodeError("bad_field", _validator_sentence(spec, exc)) from None
    return event


def _check_keys(spec: _Spec, keys: typing.KeysView[str]) -> None:
    owner = spec.cls.__name__
    unknown = sorted(keys - spec.allowed)
    if unknown:
        msg = f"{owner} has no field {_show(unknown[0])}; its fields are {', '.join(spec.names)}"
        raise DecodeError("unknown_field", msg)
    missing = [name for name in spec.names if name in spec.required and name not in keys]
    if missing:
        noun = "field" if len(missing) == 1 else "fields"
        msg = f"{owner} is missing {noun} {', '.join(missing)}"
        raise DecodeError("missing_field", msg)


def _validator_sentence(spec: _Spec, exc: Exception) -> str:
    # events.py words its errors "<field> must be ..., was <value>": prefix the
    # type and shorten the value, which may be a 60 kB string from the wire.
    text = str(exc)
    rule, was, value = text.partition(", was ")
    if was and len(value) > _SHOWN_CHARS:
        text = rule + was + value[: _SHOWN_CHARS - 3] + "..."
    owner = spec.cls.__name__
    return f"{owner}.{text}" if text.split(" ", 1)[0] in spec.names else f"{owner}: {text}"


# --- the fast path for market data and orders --------------------------------------------
# Quotes and ticks are most of what a host decodes; NewOrder is what the order
# gateway decodes, and OrderAccepted, Fill and CancelReply what a host's trades
# intake decodes, on every order's round trip. For a well-formed one these
# builders check every rule the general path checks (the same field types, ranges
# and decimal text), then set the fields directly instead of going through cattrs
# and the attrs validators: about half the cost. On anything unusual they return
# None and the general path decides, with its full error message; a test checks
# that both paths agree on valid and mutated payloads alike.

_MAX_INT: Final = 2**63 - 1
_MAX_NAME: Final = 128  # as events._name checks
_new = object.__new__
_set = object.__setattr__
_SIDES: Final = {side.value: side for side in events.Side}
_QUOTE_KEYS: Final = frozenset(("type", "v", "ts", "symbol", "bid", "ask", "bid_size", "ask_size"))
_TICK_KEYS: Final = frozenset(("type", "v", "ts", "symbol", "price", "qty", "aggressor"))
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


def _fast_decimal(text: Any) -> Decimal | None:
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
    if not -_EXPONENT_LIMIT <= number.adjusted() <= _EXPONENT_LIMIT:
        return None
    if len(_DECIMALS) >= _DECIMALS_MAX:
        _DECIMALS.clear()
    _DECIMALS[text] = number
    return number


def _fast_ts(document: dict[str, Any], keys: frozenset[str]) -> int | None:
    """The ts of a document with exactly ``keys`` and this version, else None."""
    if len(document) != len(keys) or not keys.issuperset(document):
        return None
    ts, version = document["ts"], document["v"]
    if type(version) is not int or version != SCHEMA_VERSION:
        return None
    if type(ts) is not int or not 0 <= ts <= _MAX_INT:
        return None
    return ts


def _fast_head(document: dict[str, Any], keys: frozenset[str]) -> tuple[int, str] | None:
    ts = _fast_ts(document, keys)
    if ts is None:
        return None
    symbol = document["symbol"]
    if type(symbol) is not str or not 0 < len(symbol) <= _MAX_NAME:
        return None
    return ts, symbol


def _fast_seq(seq: Any) -> bool:
    return type(seq) is int and 0 <= seq <= _MAX_INT


def _fast_quote(document: dict[str, Any]) -> events.Quote | None:
    head = _fast_head(document, _QUOTE_KEYS)
    if head is None:
        return None
    bid_size, ask_size = document["bid_size"], document["ask_size"]
    if type(bid_size) is not int or type(ask_size) is not int:
        return None
    if not (0 <= bid_size <= _MAX_INT and 0 <= ask_size <= _MAX_INT):
        return None
    bid, ask = _fast_decimal(document["bid"]), _fast_decimal(document["ask"])
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


def _fast_tick(document: dict[str, Any]) -> events.Tick | None:
    head = _fast_head(document, _TICK_KEYS)
    if head is None:
        return None
    qty, side = document["qty"], document["aggressor"]
    aggressor = _SIDES.get(side) if type(side) is str else None
    if type(qty) is not int or not 0 < qty <= _MAX_INT or aggressor is None:
        return None
    price = _fast_decimal(document["price"])
    if price is None:
        return None
    tick = _new(events.Tick)
    _set(tick, "ts", head[0])
    _set(tick, "symbol", head[1])
    _set(tick, "price", price)
    _set(tick, "qty", qty)
    _set(tick, "aggressor", aggressor)
    return tick


def _fast_name(name: Any) -> bool:
    return type(name) is str and 0 < len(name) <= _MAX_NAME


def _fast_new_order(document: dict[str, Any]) -> events.NewOrder | None:
    # Only the form encode() writes: every field present, a market order's price null.
    head = _fast_head(document, _ORDER_KEYS)
    if head is None:
        return None
    coid, robot, qty = document["client_order_id"], document["robot"], document["qty"]
    if not (_fast_name(coid) and _fast_name(robot)):
        return None
    if type(qty) is not int or not 0 < qty <= _MAX_INT:
        return None
    side, tif = document["side"], document["tif"]
    side = _SIDES.get(side) if type(side) is str else None
    tif = _TIFS.get(tif) if type(tif) is str else None
    if side is None or tif is None:
        return None
    text = document["price"]
    price = None if text is None else _fast_decimal(text)
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


def _fast_order_accepted(document: dict[str, Any]) -> events.OrderAccepted | None:
    ts = _fast_ts(document, _ACCEPTED_KEYS)
    if ts is None:
        return None
    coid, robot, exchange_order_id = (
        document["client_order_id"],
        document["robot"],
        document["exchange_order_id"],
    )
    if not (_fast_name(coid) and _fast_name(robot) and type(exchange_order_id) is str):
        return None
    seq = document["seq"]
    if not _fast_seq(seq):
        return None
    accepted = _new(events.OrderAccepted)
    _set(accepted, "ts", ts)
    _set(accepted, "client_order_id", coid)
    _set(accepted, "robot", robot)
    _set(accepted, "exchange_order_id", exchange_order_id)
    _set(accepted, "seq", seq)
    return accepted


def _fast_cancel_reply(document: dict[str, Any]) -> events.CancelReply | None:
    ts = _fast_ts(document, _CANCEL_REPLY_KEYS)
    if ts is None:
        return None
    coid, robot, cancelled = document["client_order_id"], document["robot"], document["cancelled"]
    if not (_fast_name(coid) and _fast_name(robot) and type(cancelled) is bool):
        return None
    reason, seq = document["reason"], document["seq"]
    if type(reason) is not str or not _fast_seq(seq):
        return None
    reply = _new(events.CancelReply)
    _set(reply, "ts", ts)
    _set(reply, "client_order_id", coid)
    _set(reply, "robot", robot)
    _set(reply, "cancelled", cancelled)
    _set(reply, "reason", reason)
    _set(reply, "seq", seq)
    return reply


def _fast_fill(document: dict[str, Any]) -> events.Fill | None:
    head = _fast_head(document, _FILL_KEYS)
    if head is None:
        return None
    trade_id, coid, robot = document["trade_id"], document["client_order_id"], document["robot"]
    if not (_fast_name(trade_id) and _fast_name(coid) and _fast_name(robot)):
        return None
    side, qty, seq = document["side"], document["qty"], document["seq"]
    side = _SIDES.get(side) if type(side) is str else None
    if side is None or type(qty) is not int or not 0 < qty <= _MAX_INT or not _fast_seq(seq):
        return None
    price, fee = _fast_decimal(document["price"]), _fast_decimal(document["fee"])
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


_FAST: Final[Mapping[str, Callable[[dict[str, Any]], events.Event | None]]] = {
    "Quote": _fast_quote,
    "Tick": _fast_tick,
    "NewOrder": _fast_new_order,
    "OrderAccepted": _fast_order_accepted,
    "CancelReply": _fast_cancel_reply,
    "Fill": _fast_fill,
}
