"""Every robot of a config is built at start-up: its mistakes stop ``yard run`` by name.

The robots are written next to the config, as ``yard init`` writes one, and found
on the import path the test puts that folder on.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Literal

import attrs
import pytest

from yard_actors import ConfigError
from yard_actors.app.config_file import load_settings
from yard_actors.host.robot_checks import param_type_problems

ROBOTS = """
from __future__ import annotations

from decimal import Decimal

import attrs

from yard_actors import Robot


@attrs.frozen(kw_only=True)
class Plain:
    qty: int = 1
    edge: Decimal = Decimal(1)
    ratio: float = 0.5
    label: str | None = None


class Typed(Robot):
    symbols = ("Si",)
    params_class = Plain


class Elsewhere(Robot):
    symbols = ("Si", "GOLDEN")


class StartsBadly(Robot):
    symbols = ("Si",)

    def on_start(self) -> None:
        raise RuntimeError("no data file")
"""


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    module = f"robots_{tmp_path.name.replace('-', '_')}"  # one module name per test
    (tmp_path / f"{module}.py").write_text(ROBOTS, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "module").write_text(module, encoding="utf-8")
    return tmp_path


def _config(folder: Path, robot: str) -> Path:
    module = (folder / "module").read_text(encoding="utf-8")
    path = folder / "yard.toml"
    text = textwrap.dedent(robot).replace("MODULE", module)
    path.write_text(f"[[robots]]\n{text}", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("robot", "message"),
    [
        (
            'class = "MODULE:Typed"\nname = "t"\nparams = { qty = "one" }\n',
            r"yard\.toml: robots\[0\]\.params\.qty: must be int, was str 'one'$",
        ),
        (
            'class = "MODULE:Typed"\nname = "t"\nparams = { qty = true }\n',
            r"yard\.toml: robots\[0\]\.params\.qty: must be int, was bool True$",
        ),
        (
            'class = "MODULE:Typed"\nname = "t"\nparams = { edge = "0.5" }\n',
            r"robots\[0\]\.params\.edge: must be Decimal, was str '0\.5' \(give "
            r"Plain\.edge converter=Decimal to take it\)$",
        ),
        (
            'class = "MODULE:Typed"\nname = "t"\nparams = { label = 5 }\n',
            r"robots\[0\]\.params\.label: must be str \| None, was int 5$",
        ),
        (
            'class = "robots.trend:TrendFollower"\nname = "t"\nparams = { qty = "one" }\n',
            r"yard\.toml: robots\[0\]\.params\.qty: must be int, was str 'one'$",
        ),
    ],
)
def test_a_param_of_the_wrong_type_stops_start_up_naming_its_key(
    folder: Path, robot: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(_config(folder, robot))


def test_params_of_their_declared_types_pass(folder: Path) -> None:
    robot = 'class = "MODULE:Typed"\nname = "t"\nparams = { qty = 2, edge = 3, ratio = 1 }\n'

    settings = load_settings(_config(folder, robot))

    assert settings.host.robots[0].params == {"qty": 2, "edge": 3, "ratio": 1}


def test_a_symbol_not_in_the_instrument_table_is_refused_by_name(folder: Path) -> None:
    robot = 'class = "robots.trend:TrendFollower"\nname = "t"\nsymbols = ["Si", "SPFB.XX"]\n'

    with pytest.raises(
        ConfigError,
        match=r"yard\.toml: robots\[0\]\.symbols: 'SPFB\.XX' is not in the instrument table "
        r"\(it lists .*Si",
    ):
        load_settings(_config(folder, robot))


def test_an_empty_symbols_list_is_refused_not_read_as_the_classs(folder: Path) -> None:
    # The host would subscribe the robot to nothing while the feed and the gateway,
    # reading "no symbols" as the class's, published its class's: refuse the ambiguity.
    robot = 'class = "robots.trend:TrendFollower"\nname = "t"\nsymbols = []\n'

    with pytest.raises(
        ConfigError,
        match=r"yard\.toml: robots\[0\]\.symbols: names no symbol; leave it out to trade "
        r"the class's \('Si'\)",
    ):
        load_settings(_config(folder, robot))


def test_a_class_default_symbol_not_in_the_table_is_refused_too(folder: Path) -> None:
    with pytest.raises(
        ConfigError, match=r"robots\[0\]\.symbols: 'GOLDEN' \(Elsewhere\.symbols\) is not in"
    ):
        load_settings(_config(folder, 'class = "MODULE:Elsewhere"\nname = "e"\n'))


def test_a_robot_whose_on_start_fails_stops_start_up(folder: Path) -> None:
    with pytest.raises(
        ConfigError,
        match=r"yard\.toml: robots\[0\]: robot s failed as it started: "
        r"RuntimeError in on_start: no data file$",
    ):
        load_settings(_config(folder, 'class = "MODULE:StartsBadly"\nname = "s"\n'))


@attrs.frozen(kw_only=True)
class _Kinds:
    side: Literal["buy", "sell"] = "buy"
    lots: tuple[int, ...] = ()
    names: Sequence[str] = ()
    price: Decimal = attrs.field(default=Decimal(1), converter=Decimal)


def test_literals_and_sequences_are_checked_and_converted_fields_left_to_their_converter() -> None:
    good = {"side": "sell", "lots": [1, 2], "names": ["a"], "price": "1.5"}
    bad = {"side": "hold", "lots": [1, "2"], "names": "abc"}

    assert param_type_problems(_Kinds, good) == []
    assert param_type_problems(_Kinds, bad) == [
        "side: must be Literal['buy', 'sell'], was str 'hold'",
        "lots: must be tuple[int, ...], was list [1, '2']",
        "names: must be Sequence[str], was str 'abc'",
    ]
