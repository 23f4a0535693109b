"""The built-in instrument table: ticks, what a point is worth, the dollar contracts' rate."""

from __future__ import annotations

from decimal import Decimal

import pytest

from yard_actors.wire.instruments import DEFAULT_INSTRUMENTS, Instrument, InstrumentTable

USD_RUB = Decimal("90")


@pytest.mark.parametrize(
    ("symbol", "tick", "roubles_per_tick"),
    [
        ("Si", "1", "1"),
        ("MIX", "25", "25"),
        ("Eu", "1", "1"),
        ("SBRF", "1", "1"),
        ("GAZR", "1", "1"),
        ("RTS", "10", "18.00"),  # 0.2 dollar a tick
        ("BR", "0.01", "9.00"),  # 0.1 dollar a tick: 10 barrels
        ("GOLD", "0.1", "9.0"),  # 0.1 dollar a tick: 1 ounce
        ("ED", "0.0001", "9.0000"),  # 0.1 dollar a tick: 1,000 euros
    ],
)
def test_each_built_in_future_has_its_tick_and_its_tick_value_in_roubles(
    symbol: str, tick: str, roubles_per_tick: str
) -> None:
    instrument = InstrumentTable().at_usd_rate(USD_RUB).get(symbol)

    assert instrument is not None
    assert instrument.tick == instrument.tick_size == Decimal(tick)
    assert instrument.roubles(instrument.tick) == Decimal(roubles_per_tick)


def test_the_table_lists_the_nine_common_moex_futures() -> None:
    assert list(InstrumentTable()) == [
        "Si",
        "RTS",
        "MIX",
        "BR",
        "GOLD",
        "Eu",
        "ED",
        "SBRF",
        "GAZR",
    ]
    assert "BR" in InstrumentTable()
    assert "NG" not in InstrumentTable()


def test_a_dollar_contract_has_no_rouble_point_value_until_a_rate_is_given() -> None:
    rts = DEFAULT_INSTRUMENTS["RTS"]

    assert rts.follows_usd
    assert rts.point_value is None
    assert rts.roubles(Decimal(100)) is None
    assert rts.at_usd_rate(USD_RUB).point_value == Decimal("1.80")


def test_a_rouble_contract_keeps_its_point_value_whatever_the_rate() -> None:
    si = DEFAULT_INSTRUMENTS["Si"]

    assert not si.follows_usd
    assert si.at_usd_rate(USD_RUB) is si


def test_roubles_count_points_times_lots_times_the_lot_size() -> None:
    shares = Instrument(symbol="SBER", tick_size="0.01", point_value=1, lot=10)

    assert shares.roubles(Decimal("2.5")) == Decimal("25.0")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"tick_size": "0"}, "tick_size must be a positive finite Decimal, was Decimal"),
        ({"tick_size": "1", "point_value": "-1"}, "point_value must be a positive finite"),
        ({"tick_size": "1", "point_value_usd": "NaN"}, "point_value_usd must be a positive"),
        ({"tick_size": "1", "lot": 0}, "lot must be a positive whole number, was 0"),
    ],
)
def test_an_instrument_out_of_range_is_refused_naming_the_field(
    fields: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        Instrument(symbol="X", **fields)  # type: ignore[arg-type]


def test_tables_of_the_same_instruments_are_equal() -> None:
    assert InstrumentTable() == InstrumentTable(DEFAULT_INSTRUMENTS.values())
    assert hash(InstrumentTable()) == hash(InstrumentTable(DEFAULT_INSTRUMENTS.values()))
    assert InstrumentTable() != InstrumentTable().at_usd_rate(USD_RUB)
