"""An instrument table as JSON (journaled with each robot's spec), and the rouble value of a
point that ``yard run``'s summary and ``yard analyze`` both use."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from yard_actors.wire.instruments import Instrument, InstrumentTable

NG = Instrument(symbol="NG", tick_size=Decimal("0.001"), point_value_usd=Decimal(100))
SHARES = Instrument(symbol="SBER", tick_size=Decimal("0.01"), point_value=Decimal(1), lot=10)


def test_a_table_survives_json_exactly() -> None:
    table = InstrumentTable([NG, SHARES]).at_usd_rate(Decimal("92.5"))

    again = InstrumentTable.from_json(json.loads(json.dumps(table.to_json())))

    assert again == table
    assert list(again) == ["NG", "SBER"]
    assert again.get("NG") == Instrument(
        symbol="NG",
        tick_size=Decimal("0.001"),
        point_value=Decimal("9250.0"),
        point_value_usd=Decimal(100),
    )


def test_an_instrument_without_a_point_value_leaves_it_out_of_its_json() -> None:
    assert NG.to_json() == {"tick": "0.001", "point_value_usd": "100", "lot": 1}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"NG": {"lot": 1}}, r"instrument NG: \{'lot': 1\} is not an instrument's JSON"),
        ({"NG": {"tick": "x"}}, "instrument NG: .* is not an instrument's JSON"),
        ({"NG": {"tick": "0.001", "lot": 0}}, "lot must be a positive whole number"),
        ({"NG": "0.001"}, "instrument NG: '0.001' is not an instrument's JSON"),
        (["NG"], "an instrument table is a mapping of symbols, was list"),
    ],
)
def test_json_that_is_not_an_instrument_table_is_refused_naming_the_symbol(
    value: object, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        InstrumentTable.from_json(value)  # type: ignore[arg-type]


def test_point_values_are_roubles_a_point_per_lot_of_an_order() -> None:
    table = InstrumentTable([NG, SHARES]).at_usd_rate(Decimal(90))

    assert table.point_values(["NG", "SBER"]) == {"NG": Decimal(9000), "SBER": Decimal(10)}
    assert table.unpriced(["NG", "SBER"]) == ()


def test_a_symbol_without_a_rouble_value_leaves_every_figure_in_points() -> None:
    table = InstrumentTable([NG, SHARES])  # no dollar rate: NG has no rouble value

    assert table.point_values(["SBER", "NG"]) is None
    assert table.point_values(["SBER", "GHOST"]) is None
    assert table.unpriced(["SBER", "NG", "GHOST"]) == ("NG", "GHOST")
