"""The fast decoders: the general path's event or None, never anything else."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.wire.strategies import EVENTS, json_values
from yard_actors.errors import DecodeError
from yard_actors.wire import events as ev
from yard_actors.wire.codec import _decode_document, decode, encode
from yard_actors.wire.fast_decode import DECODERS, decode_new_order

_FAST_PATH_TYPES = (
    *(ev.Quote, ev.Tick, ev.Bar),
    *(ev.NewOrder, ev.OrderAccepted, ev.CancelReply, ev.Fill),
)
_fast_path_events = st.one_of(*(EVENTS[kind] for kind in _FAST_PATH_TYPES))
_odd_decimals = st.sampled_from(
    ["90000.5", "1E+5", "1e5", "0.10", "-0", " 1", "1_0", "+1", ".5", "NaN", "1e999999", "", "x"]
)
_odd_words = st.sampled_from(
    ["buy", "sell", "BUY", "day", "ioc", "fok", "gtc", "IOC", "", "x" * 129, "x" * 128, "-0.0"]
)


def _general_path(payload: bytes) -> object:
    try:
        return _decode_document(orjson.loads(payload))
    except DecodeError as exc:
        return exc.reason


def _either_path(payload: bytes) -> object:
    try:
        return decode(payload)
    except DecodeError as exc:
        return exc.reason


def test_the_fast_path_serves_the_most_frequent_types() -> None:
    assert set(DECODERS) == {kind.__name__ for kind in _FAST_PATH_TYPES}


@settings(max_examples=3000, deadline=None)  # no deadline: the 2 CPUs are shared
@given(_fast_path_events, st.data())
def test_the_fast_path_decodes_exactly_what_the_general_path_does(
    event: ev.Event, data: Any
) -> None:
    document = orjson.loads(encode(event))
    for _ in range(data.draw(st.integers(min_value=0, max_value=2))):
        key = data.draw(st.sampled_from([*document, "extra"]))
        value = data.draw(
            st.one_of(json_values, _odd_decimals, _odd_words, st.integers(-(2**63), 2**64 - 1))
        )
        if data.draw(st.booleans()):
            document.pop(key, None)
        else:
            document[key] = value
    payload = orjson.dumps(document)

    tag = document.get("type")
    decoder = DECODERS.get(tag) if type(tag) is str else None  # as decode() dispatches
    fast = decoder(orjson.loads(payload)) if decoder is not None else None
    general = _general_path(payload)

    assert _either_path(payload) == general
    if fast is not None:  # equal, and to the digit: Decimal("1.0") == Decimal("1.00")
        assert isinstance(general, ev.Event)
        assert (fast, encode(fast)) == (general, encode(general))


@pytest.mark.parametrize("price", [Decimal("90000.5"), None])
def test_the_new_order_fast_path_builds_the_same_order_as_the_general_path(
    price: Decimal | None,
) -> None:
    order = ev.NewOrder(
        ts=1,
        client_order_id="c-1",
        robot="r",
        symbol="Si",
        side=ev.Side.SELL,
        qty=3,
        price=price,
        tif=ev.TimeInForce.IOC,
    )
    payload = encode(order)

    fast = decode_new_order(orjson.loads(payload))

    assert fast == order == _general_path(payload) == decode(payload)


def test_a_price_given_as_a_json_number_is_left_to_the_general_path() -> None:
    payload = encode(
        ev.Tick(ts=1, symbol="Si", price=Decimal(90000), qty=1, aggressor=ev.Side.BUY)
    ).replace(b'"price":"90000"', b'"price":90000')

    assert DECODERS["Tick"](orjson.loads(payload)) is None
    assert decode(payload) == _general_path(payload)
