"""Small things a new user trips on: each refused by name before anything starts, or said
right."""

from __future__ import annotations

import importlib.util
import re
from datetime import UTC
from decimal import Decimal
from pathlib import Path
from types import ModuleType

import pytest

from gateways.readers import time_zone
from yard_actors import ConfigError, NewOrder
from yard_actors.app import cli
from yard_actors.app.config_file import load_settings
from yard_actors.app.templates import write_templates
from yard_actors.app.wording import count
from yard_actors.testing import RobotHarness


def test_an_unknown_key_lists_every_allowed_key_paper_and_feed_among_them(tmp_path: Path) -> None:
    path = tmp_path / "yard.toml"
    path.write_text("colour = 1\n", encoding="utf-8")

    with pytest.raises(ConfigError) as caught:
        load_settings(path)

    found = re.search(r"yard\.toml: colour: unknown key \(allowed: (.*)\)$", str(caught.value))
    assert found is not None, str(caught.value)
    allowed = found.group(1).split(", ")
    assert {"paper", "feed", "endpoints", "robots", "store", "risk", "security"} <= set(allowed)
    assert allowed == sorted(allowed)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--limit", "-5"], "argument --limit: must be a whole number of events, 1 or more"),
        (["--limit", "0"], "argument --limit: must be a whole number of events, 1 or more"),
        (["--speed", "0"], "--speed must be 'max' or a positive number"),
        (["--robots", "mm-si"], "--robots mm-si chooses the robots of one host: give --role host"),
    ],
)
def test_a_bad_run_flag_is_refused_before_a_run_folder_is_made(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    data_dir = tmp_path / "yard-data"

    try:
        code = cli.main(["run", "--quiet", "--data-dir", str(data_dir), *args])
    except SystemExit as exit_:  # argparse refuses a flag's value itself
        code = int(str(exit_.code))

    assert code == 2
    assert message in capsys.readouterr().err
    assert not data_dir.exists()


def _template_robot(tmp_path: Path) -> ModuleType:
    write_templates(tmp_path)
    spec = importlib.util.spec_from_file_location(
        f"my_robot_{id(tmp_path)}", tmp_path / "my_robot.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("symbol", "bid", "ask", "price"),
    [("Si", 90000, 90001, 89998), ("RTS", 110000, 110010, 109980)],
)
def test_the_init_template_robot_prices_in_its_instruments_ticks(
    tmp_path: Path, symbol: str, bid: int, ask: int, price: int
) -> None:
    my_robot = _template_robot(tmp_path)
    harness = RobotHarness(my_robot.MyRobot, symbols=[symbol], params={"edge_ticks": 2})

    [order] = harness.quote(symbol, bid, ask)

    assert isinstance(order, NewOrder)
    assert order.price == Decimal(price)


def test_counts_in_sentences_are_singular_for_one() -> None:
    assert [count(n, "command") for n in (0, 1, 2, 1000)] == [
        "0 commands",
        "1 command",
        "2 commands",
        "1,000 commands",
    ]
    assert count(1, "session change") == "1 session change"


def test_the_config_takes_a_zone_for_its_feed_files(tmp_path: Path) -> None:
    config = tmp_path / "yard.toml"
    config.write_text('[feed]\ntz = "Europe/Moscow"\n', encoding="utf-8")
    assert load_settings(config).feed.tz == time_zone("Europe/Moscow")
    assert load_settings(None).feed.tz is UTC

    config.write_text('[feed]\ntz = "Mars/Base"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"yard\.toml: feed\.tz 'Mars/Base' is not a time zone"):
        load_settings(config)
