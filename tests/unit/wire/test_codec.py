"""The wire codec: exact round trips, deterministic bytes, and DecodeError for anything else.

The fast path's agreement with the general path is tested in test_fast_decode.py.
"""

from __future__ import annotations

import contextlib
import re
import typing
from decimal import Decimal
from typing import Any

import attrs
import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.unit.wire.strategies import EVENTS, any_event, json_values
from yard_actors.errors import DecodeError
from yard_actors.wire import events as ev
from yard_actors.wire.codec import MAX_PAYLOAD_BYTES, SCHEMA_VERSION, decode, encode, event_types

_DROP = object()
QUOTE = (
    b'{"type":"Quote","v":1,"ts":1700000000000000000,"symbol":"BTCUSDT",'
    b'"bid":"90000.5","ask":"90001.0","bid_size":3,"ask_size":7}'
)


def _quote_with(**changes: Any) -> bytes:
    document = orjson.loads(QUOTE)
    document.update(changes)
    return orjson.dumps({k: v for k, v in document.items() if v is not _DROP})


def _reason(payload: bytes) -> str:
    with pytest.raises(DecodeError) as caught:
        decode(payload)
    return caught.value.reason


# --- properties --------------------------------------------------------------------


def test_every_event_type_has_a_strategy() -> None:
    assert set(EVENTS) == set(typing.get_args(ev.Event))


@given(any_event)
def test_every_event_survives_a_round_trip(event: ev.Event) -> None:
    assert decode(encode(event)) == event


@given(any_event)
def test_encoding_is_deterministic_with_type_and_version_first(event: ev.Event) -> None:
    payload = encode(event)

    assert encode(attrs.evolve(event)) == payload
    assert encode(decode(payload)) == payload
    keys = list(orjson.loads(payload))
    assert keys == ["type", "v", *(field.name for field in attrs.fields(type(event)))]


@given(st.dictionaries(st.text(max_size=5), st.integers(0, 2**63 - 1), max_size=6))
def test_control_params_encode_the_same_whatever_their_insertion_order(
    params: dict[str, int],
) -> None:
    forward = ev.Control(ts=1, robot="r", action=ev.ControlAction.SET_PARAMS, params=params)
    backward = attrs.evolve(forward, params=dict(reversed(params.items())))

    assert encode(forward) == encode(backward)


@given(st.binary(max_size=300))
def test_random_bytes_raise_only_decode_error(payload: bytes) -> None:
    with contextlib.suppress(DecodeError):
        decode(payload)


@given(any_event, st.data())
def test_mutated_payloads_decode_or_raise_only_decode_error(event: ev.Event, data: Any) -> None:
    document = orjson.loads(encode(event))
    for _ in range(data.draw(st.integers(min_value=1, max_value=3))):
        key = data.draw(st.sampled_from([*document, "type", "v", "extra", "bid_size"]))
        action = data.draw(st.sampled_from(["drop", "replace"]))
        if action == "drop":
            document.pop(key, None)
        else:
            document[key] = data.draw(json_values)

    payload = orjson.dumps(document)

    try:
        decoded = decode(payload)
    except DecodeError as exc:
        outcome = exc.reason
    else:
        outcome = "decoded"
        assert type(decoded).__name__ == document["type"]
    assert outcome in {
        "decoded",
        "bad_version",
        "unknown_type",
        "missing_field",
        "unknown_field",
        "bad_field",
    }


# --- what a valid payload may look like ----------------------------------------------


def test_a_json_float_price_decodes_to_its_exact_decimal() -> None:
    quote = decode(_quote_with(bid=90000.5, ask=0.1))

    assert isinstance(quote, ev.Quote)
    assert quote.bid == Decimal("90000.5")
    assert quote.ask == Decimal("0.1")


def test_a_json_integer_price_decodes_to_a_decimal() -> None:
    quote = decode(_quote_with(bid=90000))

    assert isinstance(quote, ev.Quote)
    assert type(quote.bid) is Decimal
    assert quote.bid == Decimal(90000)


def test_a_price_in_exponent_notation_is_read_and_written_back_in_plain_digits() -> None:
    quote = decode(_quote_with(bid="1.5E+3", ask="25e-2"))

    assert isinstance(quote, ev.Quote)
    assert (quote.bid, quote.ask) == (Decimal(1500), Decimal("0.25"))
    assert b'"bid":"1500","ask":"0.25"' in encode(quote)


def test_trailing_zeros_of_a_price_are_kept() -> None:
    quote = decode(_quote_with(ask="90001.50"))

    assert b'"ask":"90001.50"' in encode(quote)


def test_fields_with_defaults_may_be_left_out() -> None:
    payload = (
        b'{"type":"NewOrder","v":1,"ts":5,"client_order_id":"c1","robot":"mm","symbol":"Si",'
        b'"side":"sell","qty":2}'
    )

    order = decode(payload)

    assert order == ev.NewOrder(
        ts=5, client_order_id="c1", robot="mm", symbol="Si", side=ev.Side.SELL, qty=2
    )


def test_a_null_price_is_a_market_order() -> None:
    order = ev.NewOrder(
        ts=5, client_order_id="c1", robot="mm", symbol="Si", side=ev.Side.BUY, qty=1
    )

    assert b'"price":null' in encode(order)
    assert decode(encode(order)) == order


def test_a_payload_of_exactly_the_limit_is_decoded() -> None:
    payload = QUOTE + b" " * (MAX_PAYLOAD_BYTES - len(QUOTE))

    assert isinstance(decode(payload), ev.Quote)


def test_a_zmq_frame_buffer_is_decoded_like_bytes() -> None:
    assert decode(memoryview(QUOTE)) == decode(bytearray(QUOTE)) == decode(QUOTE)


def test_event_types_maps_every_wire_name_to_its_class() -> None:
    types = event_types()

    assert set(types.values()) == set(typing.get_args(ev.Event))
    assert all(cls.__name__ == name for name, cls in types.items())
    assert types["Quote"] is ev.Quote


def test_the_schema_version_is_written_as_v() -> None:
    assert orjson.loads(QUOTE)["v"] == SCHEMA_VERSION == 1


# --- each DecodeError reason ---------------------------------------------------------


def test_an_oversized_payload_is_refused_before_parsing() -> None:
    with pytest.raises(
        DecodeError, match=r"^Payload is 65537 bytes, more than the limit of 65536$"
    ):
        decode(b"\xff" * (MAX_PAYLOAD_BYTES + 1))
    assert _reason(QUOTE + b" " * MAX_PAYLOAD_BYTES) == "oversized"


def test_invalid_utf8_is_not_json() -> None:
    with pytest.raises(
        DecodeError, match=r"^Payload is not UTF-8 JSON \(.*\): b'\{\"type\":\"\\xff\"\}'$"
    ):
        decode(b'{"type":"\xff"}')
    assert _reason(b'{"type":"\xff"}') == "not_json"


@pytest.mark.parametrize(
    "payload", [b"", b"{", b"NaN", b'{"v":1}x', b"\xef\xbb\xbf{}", b"[" * 5000, b"'Quote'"]
)
def test_text_that_is_not_json_is_not_json(payload: bytes) -> None:
    assert _reason(payload) == "not_json"


@pytest.mark.parametrize("payload", [b"[1, 2]", b"null", b'"Quote"', b"3"])
def test_json_that_is_not_an_object_is_not_object(payload: bytes) -> None:
    with pytest.raises(DecodeError, match=r"^Payload must be a JSON object, was ") as caught:
        decode(payload)
    assert caught.value.reason == "not_object"


@pytest.mark.parametrize(
    ("version", "shown"),
    [(_DROP, "missing"), (2, "2"), (0, "0"), (True, "True"), (1.0, "1.0"), ("1", "'1'")],
)
def test_a_version_other_than_integer_1_is_bad_version(version: object, shown: str) -> None:
    with pytest.raises(DecodeError, match=f"^Message version must be 1, was {shown}$") as caught:
        decode(_quote_with(v=version))
    assert caught.value.reason == "bad_version"


@pytest.mark.parametrize(
    ("tag", "shown"),
    [(_DROP, "missing"), ("Quot", "'Quot'"), (5, "5"), (["Quote"], r"\['Quote'\]")],
)
def test_a_missing_or_unknown_type_is_unknown_type(tag: object, shown: str) -> None:
    with pytest.raises(
        DecodeError, match=f"^Message type must be one of Quote, .*, was {shown}$"
    ) as caught:
        decode(_quote_with(type=tag))
    assert caught.value.reason == "unknown_type"


def test_a_missing_field_is_named() -> None:
    with pytest.raises(DecodeError, match=r"^Quote is missing fields bid, ask_size$") as caught:
        decode(_quote_with(bid=_DROP, ask_size=_DROP))
    assert caught.value.reason == "missing_field"


def test_a_misspelt_field_is_an_unknown_field_not_a_missing_one() -> None:
    with pytest.raises(
        DecodeError,
        match=(
            r"^Quote has no field 'bidsize'; "
            r"its fields are ts, symbol, bid, ask, bid_size, ask_size$"
        ),
    ) as caught:
        decode(_quote_with(bid_size=_DROP, bidsize=3))
    assert caught.value.reason == "unknown_field"


def test_a_single_missing_field_is_named_in_the_singular() -> None:
    with pytest.raises(DecodeError, match=r"^Quote is missing field ts$"):
        decode(_quote_with(ts=_DROP))


def test_an_unknown_key_is_reported_before_a_missing_field_or_a_bad_value() -> None:
    assert _reason(_quote_with(bid_size=-3, ask=_DROP, note="hi")) == "unknown_field"
    assert _reason(_quote_with(bid_size=-3, ask=_DROP)) == "missing_field"


def test_a_quote_with_a_negative_size_is_bad_field() -> None:
    with pytest.raises(
        DecodeError, match=r"^Quote\.bid_size must be a non-negative integer, was -3$"
    ) as caught:
        decode(_quote_with(bid_size=-3))
    assert caught.value.reason == "bad_field"


_DECIMAL = "a decimal as a JSON string such as '90000.5', or a JSON number"
_FINITE = "a finite decimal with its leading digit within 1e+-28"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("bid_size", "3", "Quote.bid_size must be a JSON integer, was '3'"),
        ("bid_size", True, "Quote.bid_size must be a JSON integer, was True"),
        ("bid_size", 3.0, "Quote.bid_size must be a JSON integer, was 3.0"),
        ("ts", None, "Quote.ts must be a JSON integer, was None"),
        ("symbol", 7, "Quote.symbol must be a JSON string, was 7"),
        ("symbol", "", "Quote.symbol must be a non-empty string of at most 128 characters, was ''"),
        ("bid", True, f"Quote.bid must be {_DECIMAL}, was True"),
        ("bid", None, f"Quote.bid must be {_DECIMAL}, was None"),
        ("bid", [1], f"Quote.bid must be {_DECIMAL}, was [1]"),
        ("bid", "abc", f"Quote.bid must be {_DECIMAL}, was 'abc'"),
        ("bid", "1_000", f"Quote.bid must be {_DECIMAL}, was '1_000'"),
        ("bid", " 1", f"Quote.bid must be {_DECIMAL}, was ' 1'"),
        ("bid", "+1", f"Quote.bid must be {_DECIMAL}, was '+1'"),
        ("bid", ".5", f"Quote.bid must be {_DECIMAL}, was '.5'"),
        ("bid", "\u0661", f"Quote.bid must be {_DECIMAL}, was '\u0661'"),
        ("bid", "inf", f"Quote.bid must be {_DECIMAL}, was 'inf'"),
        (
            "bid",
            "1e99999999999999999999",
            f"Quote.bid must be {_DECIMAL}, was '1e99999999999999999999'",
        ),
        ("bid", "NaN", f"Quote.bid must be {_FINITE}, was 'NaN'"),
        ("bid", "sNaN", f"Quote.bid must be {_FINITE}, was 'sNaN'"),
        ("bid", "-Infinity", f"Quote.bid must be {_FINITE}, was '-Infinity'"),
        ("bid", "1e999999", f"Quote.bid must be {_FINITE}, was '1e999999'"),
        ("bid", "1e-29", f"Quote.bid must be {_FINITE}, was '1e-29'"),
        ("bid", "0E-40", f"Quote.bid must be {_FINITE}, was '0E-40'"),
        ("bid", 1e300, f"Quote.bid must be {_FINITE}, was 1e+300"),
    ],
)
def test_a_wrongly_typed_or_non_finite_quote_field_is_bad_field(
    field: str, value: object, message: str
) -> None:
    with pytest.raises(DecodeError, match=f"^{re.escape(message)}$") as caught:
        decode(_quote_with(**{field: value}))
    assert caught.value.reason == "bad_field"


def test_an_integer_beyond_64_bits_is_bad_field_because_json_parsers_make_it_a_float() -> None:
    payload = QUOTE.replace(b'"bid_size":3', b'"bid_size":18446744073709551616')

    with pytest.raises(
        DecodeError,
        match=r"^Quote\.bid_size must be a JSON integer, was 1\.8446744073709552e\+19$",
    ):
        decode(payload)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (
            b'{"type":"Tick","v":1,"ts":1,"symbol":"Si","price":"1","qty":1,"aggressor":"BUY"}',
            "Tick.aggressor must be one of 'buy', 'sell', was 'BUY'",
        ),
        (
            b'{"type":"Tick","v":1,"ts":1,"symbol":"Si","price":"1","qty":0,"aggressor":"buy"}',
            "Tick.qty must be a positive integer, was 0",
        ),
        (
            b'{"type":"CancelReply","v":1,"ts":1,"client_order_id":"c","robot":"r","cancelled":1}',
            "CancelReply.cancelled must be true or false, was 1",
        ),
        (
            b'{"type":"Control","v":1,"ts":1,"robot":"r","action":"pause","params":[]}',
            "Control.params must be a JSON object, was []",
        ),
        (
            b'{"type":"OrderAccepted","v":1,"ts":1,"client_order_id":"c","robot":"r",'
            b'"exchange_order_id":42}',
            "OrderAccepted.exchange_order_id must be a JSON string, was 42",
        ),
        (
            b'{"type":"Fill","v":1,"ts":1,"trade_id":"t","client_order_id":"c","robot":"r",'
            b'"symbol":"Si","side":"buy","price":"1","qty":1,"fee":"-0.5"}',
            "Fill.fee must not be negative, was -0.5",
        ),
    ],
)
def test_bad_values_in_other_types_are_bad_field(payload: bytes, message: str) -> None:
    with pytest.raises(DecodeError, match=f"^{re.escape(message)}$") as caught:
        decode(payload)
    assert caught.value.reason == "bad_field"


def test_a_long_bad_value_is_shortened_in_the_message() -> None:
    with pytest.raises(DecodeError, match=r"^Quote.symbol must be .*, was 'xxx+\.\.\.$") as caught:
        decode(_quote_with(symbol="x" * 5000))
    assert len(str(caught.value)) < 200


def test_deeply_nested_params_are_not_json_rather_than_a_recursion_error() -> None:
    payload = b'{"type":"Control","v":1,"ts":1,"robot":"r","action":"pause","params":{"a":'
    payload += b"[" * 3000 + b"]" * 3000 + b"}}"

    assert _reason(payload) == "not_json"


# --- what encode refuses -----------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [{"x": float("nan")}, {"x": (1, 2)}, {"x": Decimal(1)}, {1: "x"}, {"x": 2**63}],
)
def test_params_that_json_would_change_cannot_be_built(params: dict[Any, Any]) -> None:
    with pytest.raises(ValueError, match=r"^params must be a dict of JSON values"):
        ev.Control(ts=1, robot="r", action=ev.ControlAction.SET_PARAMS, params=params)


def test_an_integer_beyond_64_bits_cannot_be_built() -> None:
    with pytest.raises(ValueError, match=r"^ts must be below 2\^63 .*, was 18446744073709551616$"):
        ev.Timer(ts=2**64, robot="r", name="t")


def test_a_price_the_wire_cannot_carry_cannot_be_built() -> None:
    with pytest.raises(ValueError, match=r"^price must be within 1e-28 to 1e28 in size"):
        ev.Tick(ts=1, symbol="Si", price=Decimal("1e999999"), qty=1, aggressor=ev.Side.BUY)


def test_encode_refuses_what_is_not_an_event() -> None:
    with pytest.raises(TypeError, match=r"^Only yard events can be encoded, was a dict$"):
        encode({"type": "Quote"})  # type: ignore[arg-type]
