"""``yard init``'s robot prices in its instrument's tick, and its ``[instruments]`` examples
load once uncommented."""

from __future__ import annotations

import importlib.util
import re
from decimal import Decimal
from pathlib import Path

import pytest

from yard_actors import Robot
from yard_actors.app.config_file import load_settings
from yard_actors.app.templates import write_templates
from yard_actors.testing import RobotHarness
from yard_actors.wire.events import NewOrder

_INSTRUMENT_KEYS = re.compile(
    r"^# (?=usd_rub|\[instruments\.NG\]|tick|point_value_usd|lot)", re.MULTILINE
)


def _template_robot(tmp_path: Path) -> type[Robot]:
    [_, module_path] = write_templates(tmp_path)
    spec = importlib.util.spec_from_file_location("my_robot_template", module_path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    robot_class: type[Robot] = module.MyRobot
    return robot_class


@pytest.mark.parametrize(
    ("symbol", "bid", "ask", "price"),
    [
        ("Si", "90000", "90001", "89998"),
        ("RTS", "110000", "110010", "109980"),
        ("BR", "65.40", "65.41", "65.38"),
    ],
)
def test_the_template_robot_prices_in_the_ticks_of_any_instrument(
    tmp_path: Path, symbol: str, bid: str, ask: str, price: str
) -> None:
    harness = RobotHarness(_template_robot(tmp_path), symbols=[symbol])

    [order] = harness.quote(symbol, bid, ask)

    assert isinstance(order, NewOrder)
    assert order.price == Decimal(price)  # two ticks under the bid


def test_the_instrument_examples_of_the_template_load_uncommented(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    [config, _] = write_templates(tmp_path)
    config.write_text(
        _INSTRUMENT_KEYS.sub("", config.read_text(encoding="utf-8")), encoding="utf-8"
    )
    monkeypatch.syspath_prepend(str(tmp_path))  # my_robot.py, as `yard run` finds it

    instruments = load_settings(config).instruments

    assert instruments.get("NG") is not None
    assert instruments.get("BR").point_value == Decimal("925.0")  # type: ignore[union-attr]
