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

:func:`decode` first offers the most frequent types (Quote, Tick, Bar, NewOrder,
OrderAccepted, CancelReply, Fill) to :mod:`yard_actors.wire.fast_decode`,
which skips cattrs; what it does not accept comes to the general path here,
which alone words the errors.
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
from yard_actors.wire import events, fast_decode
from yard_actors.wire.schema import DECIMAL_EXPONENT_LIMIT, MAX_PAYLOAD_BYTES, SCHEMA_VERSION

__all__ = [
    "MAX_PAYLOAD_BYTES",
    "SCHEMA_VERSION",
    "DecodeError",
    "decode",
    "encode",
    "event_types",
]

# Bound by assignment, not imported under this name: CPython 3.11 compiles
# `name.get(...)` on an imported name without LOAD_METHOD, a bound method per decode.
_FAST: Final = fast_decode.DECODERS
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
    low, high = -DECIMAL_EXPONENT_LIMIT, DECIMAL_EXPONENT_LIMIT

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
            leading = f"a finite decimal with its leading digit within 1e+-{high}"
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
        if not -DECIMAL_EXPONENT_LIMIT <= number.adjusted() <= DECIMAL_EXPONENT_LIMIT:
            msg = (
                f"{where} must have its leading digit within 1e+-{DECIMAL_EXPONENT_LIMIT} to be"
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
