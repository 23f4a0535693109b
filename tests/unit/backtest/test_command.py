"""``yard backtest``'s arguments: the robot, its params and limits, the config under the flags."""

from __future__ import annotations

import argparse
from decimal import Decimal
from pathlib import Path

import pytest

from yard_actors.app.backtest_command import add_backtest_parser, backtest_settings
from yard_actors.errors import ConfigError
from yard_actors.robot.risk import DEFAULT_LIMITS


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_backtest_parser(parser.add_subparsers())
    return parser.parse_args(["backtest", *argv])


def test_params_are_read_as_toml_values_and_text_stays_text() -> None:
    args = parse("robots.trend:TrendFollower", "--params", "fast=5", "slow=20", "qty=1")

    _, robot, files = backtest_settings(args)

    assert robot.params == {"fast": 5, "slow": 20, "qty": 1}
    assert robot.name == "trendfollower"
    assert robot.limits == DEFAULT_LIMITS
    assert files == ()


def test_a_config_gives_paper_settings_files_and_the_limits_of_its_robot_of_that_name(
    tmp_path: Path,
) -> None:
    (tmp_path / "si.csv").write_text("timestamp,symbol,last,volume\n", encoding="utf-8")
    config = tmp_path / "yard.toml"
    config.write_text(
        '[paper]\nlatency_ms = 2\n[feed]\nfiles = ["si.csv"]\n[risk]\nmax_position = 7\n'
        '[[robots]]\nclass = "robots.trend:TrendFollower"\nname = "trend-si"\n'
        "risk = { max_order_qty = 3 }\n",
        encoding="utf-8",
    )
    args = parse("robots.trend:TrendFollower", str(config), "--name", "trend-si")

    settings, robot, files = backtest_settings(args)

    assert settings.paper.latency_ns == 2_000_000
    assert files == (str(tmp_path / "si.csv"),)
    assert (robot.limits.max_order_qty, robot.limits.max_position) == (3, 7)


def test_flags_override_the_configs_paper_settings(tmp_path: Path) -> None:
    config = tmp_path / "yard.toml"
    config.write_text("[paper]\nlatency_ms = 2\n", encoding="utf-8")
    args = parse(
        "robots.trend:TrendFollower", str(config), "--latency-ms", "0", "--fee-per-lot", "1.25"
    )

    settings, _, _ = backtest_settings(args)

    assert settings.paper.latency_ns == 0
    assert settings.paper.fee_per_lot == Decimal("1.25")


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--params", "fast"], "--params takes key=value pairs"),
        (["--params", "fast=oops"], r"robot trendfollower\.params\.fast: must be int"),
        (["--symbols", "XYZ"], r"robot trendfollower\.symbols: 'XYZ' is not in the instrument"),
        (["--latency-ms", "-1"], "--latency-ms must be a number of milliseconds, 0 or more"),
        (["--limit", "0"], "--limit must be a whole number of events, 1 or more, was 0"),
        (["nowhere.csv"], "data file nowhere.csv does not exist"),
    ],
)
def test_a_bad_argument_is_refused_naming_it(argv: list[str], said: str) -> None:
    with pytest.raises(ConfigError, match=said):
        backtest_settings(parse("robots.trend:TrendFollower", *argv))
