"""The Bar event: what makes one valid, on the wire and in process, as docs/wire.md says."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given

from tests.unit.wire.strategies import EVENTS
from yard_actors.errors import DecodeError
from yard_actors.wire import events as ev
from yard_actors.wire.codec import decode, encode

TS = 1_764_227_099_999_999_999  # 07:04:59.999999999Z: the last nanosecond of a 07:00 bar
FIVE_MINUTES = 300_000_000_000
WIRE_MD = Path(__file__).resolve().parents[3] / "docs" / "wire.md"


def _bar(**changes: object) -> ev.Bar:
    fields: dict[str, object] = {
        "ts": TS,
        "symbol": "Si",
        "open": Decimal(90000),
        "high": Decimal(90010),
        "low": Decimal(89990),
        "close": Decimal(90005),
        "volume": 120,
        "period_ns": FIVE_MINUTES,
        **changes,
    }
    return ev.Bar(**fields)  # type: ignore[arg-type]


@given(EVENTS[ev.Bar])
def test_every_bar_survives_a_round_trip_through_the_codec(bar: ev.Bar) -> None:
    assert decode(encode(bar)) == bar
    assert encode(decode(encode(bar))) == encode(bar)


def test_a_bar_is_written_with_its_fields_in_order_and_prices_as_strings() -> None:
    assert encode(_bar()) == (
        b'{"type":"Bar","v":1,"ts":1764227099999999999,"symbol":"Si","open":"90000",'
        b'"high":"90010","low":"89990","close":"90005","volume":120,"period_ns":300000000000}'
    )


def test_a_bar_knows_when_its_period_began() -> None:
    assert _bar().start == TS + 1 - FIVE_MINUTES == 1_764_226_800_000_000_000


def test_a_bar_of_no_trade_is_a_bar() -> None:
    flat = _bar(open=Decimal(90000), high=Decimal(90000), low=Decimal(90000), close=Decimal(90000))

    assert _bar(volume=0).volume == 0
    assert flat.high == flat.low


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"high": Decimal(90004)}, "high and low must hold the open and the close"),
        ({"low": Decimal(90001)}, "high and low must hold the open and the close"),
        ({"high": Decimal(89980)}, "high and low must hold the open and the close"),
        ({"volume": -1}, "volume must be a non-negative integer, was -1"),
        ({"period_ns": 0}, "period_ns must be a positive integer of nanoseconds, was 0"),
        ({"period_ns": TS + 2}, "period_ns must be at most ts + 1"),
        ({"close": Decimal("NaN")}, "close must be a finite Decimal"),
    ],
)
def test_a_bar_that_cannot_be_is_refused_with_the_field_and_its_value(
    changes: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}"):
        _bar(**changes)


def test_a_bar_off_its_range_on_the_wire_is_a_bad_field_naming_the_prices() -> None:
    payload = encode(_bar()).replace(b'"high":"90010"', b'"high":"90001"')

    with pytest.raises(DecodeError) as caught:
        decode(payload)

    assert caught.value.reason == "bad_field"
    assert str(caught.value).endswith(
        "Bar.high and low must hold the open and the close (low <= open, close <= high), "
        "was open 90000, high 90001, low 89990, close 90005"
    )


def test_a_bar_missing_its_period_is_refused_by_name() -> None:
    payload = encode(_bar()).replace(b',"period_ns":300000000000', b"")

    with pytest.raises(DecodeError, match="Bar is missing field period_ns") as caught:
        decode(payload)

    assert caught.value.reason == "missing_field"


def test_the_bar_example_of_wire_md_decodes_to_the_bar_it_describes() -> None:
    text = WIRE_MD.read_text(encoding="utf-8")
    [example] = re.findall(r'^\{"type":"Bar".*\}$', text, flags=re.MULTILINE)

    bar = decode(example.encode())

    assert isinstance(bar, ev.Bar)
    assert (bar.symbol, bar.close, bar.volume) == ("Si", Decimal(90005), 120)
    assert bar.start % 60_000_000_000 == 0  # the period began on the minute
