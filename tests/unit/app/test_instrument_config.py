"""``[instruments]`` of yard.toml: built-ins changed, new ones added, the dollar rate, and
every problem named by file and key; the table reaches the host and its robots."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from yard_actors import ConfigError
from yard_actors.app.config_file import load_settings
from yard_actors.app.instrument_config import instrument_table, instruments_in_file
from yard_actors.wire.instruments import DEFAULT_INSTRUMENTS, Instrument, InstrumentTable

NO_ROBOTS = "robots = []\n"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "yard.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_no_instruments_table_gives_the_built_in_one() -> None:
    assert load_settings(None).instruments == InstrumentTable()
    assert load_settings(None).host.host_kwargs["instruments"] == InstrumentTable()


def test_a_new_instrument_is_added_to_the_built_in_ones(tmp_path: Path) -> None:
    text = NO_ROBOTS + '[instruments.NG]\ntick = "0.001"\npoint_value_usd = "100"\nlot = 1\n'

    table = load_settings(_write(tmp_path, text)).instruments

    assert table.get("NG") == Instrument(
        symbol="NG", tick_size=Decimal("0.001"), point_value_usd=Decimal(100)
    )
    assert table.get("Si") == DEFAULT_INSTRUMENTS["Si"]


def test_a_built_in_instrument_changes_only_in_what_is_given() -> None:
    table = instrument_table({"RTS": {"tick": "5"}}, source="yard.toml")

    rts = table.get("RTS")
    assert rts is not None
    assert rts.tick == Decimal(5)
    assert rts.point_value_usd == DEFAULT_INSTRUMENTS["RTS"].point_value_usd


def test_usd_rub_prices_the_dollar_contracts_in_roubles() -> None:
    table = instrument_table({"usd_rub": "92.5"}, source="yard.toml")

    assert [table.get(s).point_value for s in ("RTS", "BR", "GOLD", "ED", "Si")] == [  # type: ignore[union-attr]
        Decimal("1.850"),
        Decimal("925.0"),
        Decimal("92.5"),
        Decimal("92500"),
        Decimal(1),
    ]


def test_a_rouble_point_value_given_to_a_dollar_contract_fixes_it_whatever_the_rate() -> None:
    table = instrument_table({"usd_rub": "92.5", "BR": {"point_value": "900"}}, source="yard.toml")

    br = table.get("BR")
    assert br is not None
    assert (br.point_value, br.point_value_usd) == (Decimal(900), None)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[instruments.BR]\ntick = "-0.01"\n',
            r"yard\.toml: instruments\.BR\.tick: must be a "
            r"positive decimal such as \"0\.01\", was '-0\.01'",
        ),
        ('[instruments.BR]\ntick = "abc"\n', r"instruments\.BR\.tick: must be a positive decimal"),
        ("[instruments.BR]\ntick = true\n", r"instruments\.BR\.tick: must be a positive decimal"),
        (
            '[instruments.NG]\npoint_value = "1"\n',
            r"yard\.toml: instruments\.NG\.tick: missing: "
            r"NG is not built in \(Si, RTS, MIX, BR, GOLD, Eu, ED, SBRF, GAZR are\)",
        ),
        (
            '[instruments.BR]\nstep = "0.01"\n',
            r"instruments\.BR\.step: unknown key \(allowed: "
            r"tick, point_value, point_value_usd, lot, schedule\)",
        ),
        (
            '[instruments.BR]\npoint_value = "1"\npoint_value_usd = "10"\n',
            r"instruments\.BR: give point_value .* or point_value_usd .*, not both",
        ),
        ("[instruments.BR]\nlot = 0\n", r"instruments\.BR\.lot: must be a positive whole number"),
        ('[instruments.BR]\nlot = "1"\n', r"instruments\.BR\.lot: must be a positive whole number"),
        ('[instruments]\nusd_rub = "0"\n', r"yard\.toml: instruments\.usd_rub: must be a positive"),
        ('[instruments]\nBR = "0.01"\n', r"instruments\.BR: must be a table of tick, point_value"),
        ('[instruments."S i"]\ntick = "1"\n', r"instruments\.S i: a symbol is letters, digits"),
        ("instruments = 5\n", r"yard\.toml: instruments: must be a table, was int"),
    ],
)
def test_a_bad_instrument_stops_start_up_naming_file_key_and_problem(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(_write(tmp_path, NO_ROBOTS + text))


def test_a_robot_may_trade_an_instrument_the_config_adds(tmp_path: Path) -> None:
    robot = (
        '[[robots]]\nclass = "robots.market_maker:MarketMaker"\nname = "mm-ng"\nsymbols = ["NG"]\n'
    )
    text = '[instruments.NG]\ntick = "0.001"\n' + robot

    settings = load_settings(_write(tmp_path, text))

    assert [r.symbols for r in settings.host.robots] == [("NG",)]
    assert "NG" in settings.host.host_kwargs["instruments"]


def test_a_robot_on_a_symbol_no_table_lists_is_refused_naming_the_listed_ones(
    tmp_path: Path,
) -> None:
    robot = (
        '[[robots]]\nclass = "robots.market_maker:MarketMaker"\nname = "mm-ng"\nsymbols = ["NG"]\n'
    )
    with pytest.raises(
        ConfigError,
        match=r"robots\[0\]\.symbols: 'NG' is not in the instrument table \(it lists BR, ED",
    ):
        load_settings(_write(tmp_path, robot))


def test_gateway_and_feed_read_only_the_instruments_of_a_config(tmp_path: Path) -> None:
    text = 'colour = "not read"\n[instruments]\nusd_rub = "90"\n[instruments.NG]\ntick = "0.001"\n'

    table = instruments_in_file(_write(tmp_path, text))

    assert "NG" in table
    assert table.get("BR").point_value == Decimal(900)  # type: ignore[union-attr]


def test_an_unreadable_config_for_the_instruments_says_so(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope\.toml: the config file does not exist"):
        instruments_in_file(tmp_path / "nope.toml")
