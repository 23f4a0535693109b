"""yard.toml: read, checked, and every problem named by file, key and what is wrong."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from gateways.paper import PaperConfig
from yard_actors import ConfigError
from yard_actors.app.config_file import DEFAULT_ENDPOINTS, load_settings
from yard_actors.app.templates import write_templates
from yard_actors.robot.risk import DEFAULT_LIMITS, RiskLimits


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "yard.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_no_file_gives_the_embedded_defaults() -> None:
    settings = load_settings(None)

    assert settings.endpoint("data") == DEFAULT_ENDPOINTS["data"]
    assert settings.store == "sqlite:///yard-data/yard.db"
    assert [r.name for r in settings.host.robots] == ["trend-si", "mm-si", "mm-rts", "spread"]
    assert settings.paper.require_session is True


def test_yard_init_writes_a_config_that_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    written = write_templates(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))  # my_robot.py, as `yard run` finds it from cwd

    settings = load_settings(tmp_path / "yard.toml")

    assert [p.name for p in written] == ["yard.toml", "my_robot.py"]
    assert [r.name for r in settings.host.robots] == ["my-robot", "mm-rts"]
    assert settings.paper.fee_per_lot == Decimal("0.5")
    assert settings.feed.speed is None


def test_a_paper_table_changes_only_what_it_sets(tmp_path: Path) -> None:
    settings = load_settings(_write(tmp_path, "[paper]\nlatency_ms = 1.5\n"))

    assert settings.paper == PaperConfig(latency_ns=1_500_000)


def test_yard_init_never_overwrites(tmp_path: Path) -> None:
    write_templates(tmp_path)

    with pytest.raises(ConfigError, match="already exist; yard init does not overwrite files"):
        write_templates(tmp_path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("colour = 1\n", r"yard\.toml: colour: unknown key"),
        ("[paper]\nfee_per_lot = -1\n", r"yard\.toml: paper\.fee_per_lot: must be a decimal"),
        ("[paper]\nslippage = 1\n", r"yard\.toml: paper\.slippage: unknown key"),
        ("[feed]\nspeed = 0\n", r"yard\.toml: feed\.speed must be 'max' or a positive number"),
        ('[feed]\nspeed = "fast"\n', r"yard\.toml: feed\.speed must be .*, was 'fast'"),
        ("[paper]\nlatency_ms = -1\n", r"yard\.toml: paper\.latency_ms: must be zero or more"),
        ('[feed]\nfiles = ["nope.csv"]\n', r"yard\.toml: feed\.files: nope\.csv does not exist"),
        (
            '[[robots]]\nclass = "robots.nowhere:X"\nname = "x"\n',
            r"yard\.toml: robots\[0\]\.class: .*does not import",
        ),
        ('store = "redis://x"\n', r"yard\.toml: store: 'redis://x' is not a sqlite:/// or"),
        ("[endpoints]\ndata = 5\n", r"yard\.toml: endpoints\.data: must be of type str"),
        ("robots = [\n", r"yard\.toml: not valid TOML"),
    ],
)
def test_a_bad_config_names_the_file_the_key_and_the_problem(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(_write(tmp_path, text))


def test_a_missing_config_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope\.toml: the config file does not exist"):
        load_settings(tmp_path / "nope.toml")


# --- risk limits -----------------------------------------------------------------------------


def test_a_config_without_risk_gives_every_robot_the_conservative_defaults(tmp_path: Path) -> None:
    settings = load_settings(_write(tmp_path, "[paper]\nlatency_ms = 1\n"))

    assert settings.host.host_kwargs["risk"] == DEFAULT_LIMITS
    assert {robot.limits for robot in settings.host.robots} == {DEFAULT_LIMITS}
    assert load_settings(None).host.host_kwargs["risk"] == DEFAULT_LIMITS


def test_a_risk_table_sets_what_it_names_and_a_robot_may_set_its_own(tmp_path: Path) -> None:
    text = (
        "[risk]\nmax_order_qty = 5\nmax_orders_per_second = 50\n\n"
        '[[robots]]\nclass = "robots.trend:TrendFollower"\nname = "t1"\n\n'
        '[[robots]]\nclass = "robots.trend:TrendFollower"\nname = "t2"\n'
        "risk = { max_order_qty = 2, max_position = 4 }\n"
    )

    settings = load_settings(_write(tmp_path, text))

    host_wide = RiskLimits(max_order_qty=5, max_position=10, max_orders_per_second=50)
    assert settings.host.host_kwargs["risk"] == host_wide
    assert [robot.limits for robot in settings.host.robots] == [
        host_wide,
        RiskLimits(max_order_qty=2, max_position=4, max_orders_per_second=50),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "[risk]\nmax_order_qty = 0\n",
            r"/yard\.toml: risk\.max_order_qty: must be a positive whole number of lots, was 0$",
        ),
        (
            '[risk]\nmax_position = "10"\n',
            r"/yard\.toml: risk\.max_position: must be a positive whole number of lots, was '10'$",
        ),
        (
            "[risk]\nmax_orders_per_second = 2.5\n",
            r"/yard\.toml: risk\.max_orders_per_second: must be a positive whole number of "
            r"orders a second, was 2\.5$",
        ),
        ("[risk]\nmax_order_qty = true\n", r"/yard\.toml: risk\.max_order_qty: .* was True$"),
        (
            "[risk]\nmax_lots = 3\n",
            r"/yard\.toml: risk\.max_lots: unknown key \(allowed: max_order_qty, "
            r"max_orders_per_second, max_position\)$",
        ),
        ('risk = "strict"\n', r"/yard\.toml: risk: must be of type Mapping, was str 'strict'$"),
        (
            '[[robots]]\nclass = "robots.trend:TrendFollower"\nname = "t"\n'
            "risk = { max_position = -3 }\n",
            r"/yard\.toml: robots\[0\]\.risk\.max_position: must be a positive whole number",
        ),
        (
            '[[robots]]\nclass = "robots.trend:TrendFollower"\nname = "t"\nrisk = 3\n',
            r"/yard\.toml: robots\[0\]\.risk: must be of type Mapping, was int 3$",
        ),
        (
            '[[robots]]\nclass = "robots.trend:TrendFollower"\nname = "t"\n'
            "params = { qty = 500 }\n",
            r"/yard\.toml: robots\[0\]\.params: robot t: risk limit max_order_qty: param qty "
            r"would be 500, over 10 lots per order$",
        ),
        (
            '[risk]\nmax_position = 3\n\n[[robots]]\nclass = "robots.market_maker:MarketMaker"\n'
            'name = "mm"\n',  # its default max_position param, 5, is over [risk]'s 3
            r"/yard\.toml: robots\[0\]\.params: robot mm: risk limit max_position: param "
            r"max_position would be 5, over 3 lots$",
        ),
    ],
)
def test_a_bad_risk_setting_names_the_file_the_key_and_the_problem(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(_write(tmp_path, text))
