"""Config validation: every problem names the source, the key and what is wrong."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from yard_actors import ConfigError, Host
from yard_actors.host.host_config import host_settings
from yard_actors.journal import FlushPolicy


def _config(**overrides: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "endpoints": {
            "data": "inproc://d",
            "orders": "inproc://o",
            "trades": "inproc://t",
            "control": "inproc://c",
        },
        "robots": [
            {
                "class": "robots.trend:TrendFollower",
                "name": "trend",
                "symbols": ["Si"],
                "params": {"fast": 3, "slow": 9},
            }
        ],
    }
    config.update(overrides)
    return config


def test_a_valid_config_gives_host_arguments_and_robots() -> None:
    settings = host_settings(
        _config(
            journal={"flush": "every_n", "every_n": 10},
            runtime="threads",
            pool={"workers": 3, "batch": 16},
            reply_timeout=2,
        )
    )

    assert settings.host_kwargs["runtime"] == "threads"
    assert settings.host_kwargs["reply_timeout"] == 2.0
    assert (settings.host_kwargs["pool_workers"], settings.host_kwargs["pool_batch"]) == (3, 16)
    assert settings.host_kwargs["data"] == "inproc://d"
    assert settings.host_kwargs["journal"].flush is FlushPolicy.EVERY_N
    [robot] = settings.robots
    assert (robot.class_path, robot.name, robot.symbols) == (
        "robots.trend:TrendFollower",
        "trend",
        ("Si",),
    )


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (_config(colour="blue"), r"yard\.toml: colour: unknown key \(allowed: ask_timeout"),
        (
            _config(risk={"max_position": -1}),
            "yard.toml: risk.max_position: must be a positive whole number of lots, was -1",
        ),
        (_config(store="postgres://x"), "yard.toml: store: 'postgres://x' is not a sqlite:/// or"),
        (_config(endpoints={"data": "inproc://d"}), "yard.toml: endpoints.orders: missing"),
        (
            _config(
                endpoints={
                    "data": "http://x",
                    "orders": "inproc://o",
                    "trades": "inproc://t",
                    "control": "inproc://c",
                }
            ),
            "yard.toml: endpoints.data: 'http://x' is not an inproc://, ipc:// or tcp:// URL",
        ),
        (
            _config(journal={"flush": "sometimes"}),
            "yard.toml: journal.flush: 'sometimes' is not one of every_event, every_n, interval",
        ),
        (_config(journal={"every_n": 0}), "yard.toml: journal: every_n must be positive, was 0"),
        (
            _config(runtime="fibers"),
            "yard.toml: runtime: 'fibers' is not one of pooled, threads",
        ),
        (_config(pool={"workers": 0}), "yard.toml: pool.workers: must be positive, was 0"),
        (
            _config(pool={"batch": "many"}),
            "yard.toml: pool.batch: must be of type int, was str 'many'",
        ),
        (
            _config(pool={"size": 2}),
            r"yard\.toml: pool\.size: unknown key \(allowed: batch, max_workers, workers\)",
        ),
        (
            _config(ask_timeout="soon"),
            "yard.toml: ask_timeout: must be of type int or float, was str",
        ),
        (
            _config(reply_timeout=0),
            "yard.toml: reply_timeout: must be a positive number of seconds, was 0",
        ),
        (
            _config(reply_timeout="5s"),
            "yard.toml: reply_timeout: must be of type int or float, was str '5s'",
        ),
        (
            _config(robots=[{"class": "robots.nowhere:Ghost", "name": "g"}]),
            "yard.toml: robots\\[0\\].class: robot class 'robots.nowhere:Ghost': module "
            "'robots.nowhere' does not import",
        ),
        (
            _config(robots=[{"class": "robots.trend:TrendFollower"}]),
            r"yard\.toml: robots\[0\]\.name: missing",
        ),
        (
            _config(
                robots=[
                    {
                        "class": "robots.trend:TrendFollower",
                        "name": "t",
                        "params": {"fast": 9, "slow": 3},
                    }
                ]
            ),
            r"robots\[0\]\.params: .*fast must be shorter than slow, was fast=9 slow=3",
        ),
        (
            _config(robots=[{"class": "robots.trend:TrendFollower", "name": "t", "colour": 1}]),
            r"robots\[0\]\.colour: unknown key",
        ),
        (
            _config(
                robots=[
                    {"class": "robots.trend:TrendFollower", "name": "t"},
                    {"class": "robots.trend:TrendFollower", "name": "t"},
                ]
            ),
            r"robots\[1\]\.name: 't' is used by an earlier robot",
        ),
        (
            _config(robots=[{"class": "pathlib:Path", "name": "t"}]),
            r"robots\[0\]\.class: robot class 'pathlib:Path' is not a subclass of yard_actors",
        ),
    ],
)
def test_a_bad_config_names_file_key_and_problem(config: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        host_settings(config, source="yard.toml")


def test_host_from_config_starts_its_robots(tmp_path: Path) -> None:
    config = _config(journal_dir=str(tmp_path))

    with Host.from_config(config) as host:
        rows = host.robots()

    assert [row["name"] for row in rows] == ["trend"]
    assert rows[0]["class"] == "robots.trend:TrendFollower"
