"""The symbols a config trades, as ``yard gateway --config`` takes market data for them:
each robot's own or its class's, the demo's where the config names no robots."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from yard_actors import ConfigError
from yard_actors.app.traded_symbols import symbols_in_file, traded_symbols


def test_a_config_without_robots_trades_what_the_demo_robots_do() -> None:
    assert traded_symbols({}, source="yard.toml") == ("Si", "RTS")


def test_each_robot_trades_its_own_symbols_else_its_classs_in_first_seen_order() -> None:
    robots = [
        {"class": "robots.market_maker:MarketMaker", "name": "mm-br", "symbols": ["BR", "Si"]},
        {"class": "robots.spread:SpreadTrader", "name": "spread"},  # Si and RTS, its class's
        {"class": "robots.trend:TrendFollower", "name": "gold", "symbols": ["GOLD", "BR"]},
    ]

    assert traded_symbols({"robots": robots}, source="yard.toml") == ("BR", "Si", "RTS", "GOLD")


@pytest.mark.parametrize(
    ("robots", "problem"),
    [
        ({"class": "x"}, r"robots: must be a list of \[\[robots\]\] tables"),
        ([5], r"robots\[0\]: must be a table, was 5"),
        ([{"name": "a", "symbols": "BR"}], r"robots\[0\]\.symbols: must be a list of symbols"),
        ([{"name": "a"}], r"robots\[0\]\.class: missing or not a module:Class text"),
        ([{"class": "nowhere_at_all:Robot"}], r"robots\[0\]\.class: .*does not import"),
        ([], r"robots: its robots trade no symbols, .* give the symbols to take with --symbols"),
        ([{"class": "x:Y", "symbols": []}], r"robots: its robots trade no symbols"),
    ],
)
def test_a_config_that_cannot_say_its_symbols_is_refused_naming_the_key(
    robots: object, problem: str
) -> None:
    with pytest.raises(ConfigError, match=r"^yard\.toml: " + problem):
        traded_symbols({"robots": robots}, source="yard.toml")


def test_a_robot_class_beside_the_config_file_imports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "path", list(sys.path))  # the config's folder goes first: undone
    monkeypatch.delitem(sys.modules, "g1_gold_robot", raising=False)
    (tmp_path / "g1_gold_robot.py").write_text(
        'from yard_actors import Robot\n\n\nclass Gold(Robot):\n    symbols = ("GOLD",)\n',
        encoding="utf-8",
    )
    config = tmp_path / "yard.toml"
    config.write_text('[[robots]]\nclass = "g1_gold_robot:Gold"\nname = "gold"\n', "utf-8")

    assert symbols_in_file(config) == ("GOLD",)
    sys.modules.pop("g1_gold_robot", None)


def test_a_config_file_missing_or_not_toml_is_refused_naming_it(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("robots = [", encoding="utf-8")

    with pytest.raises(ConfigError, match=r"missing\.toml: the config file does not exist"):
        symbols_in_file(tmp_path / "missing.toml")
    with pytest.raises(ConfigError, match=r"bad\.toml: not valid TOML"):
        symbols_in_file(bad)
