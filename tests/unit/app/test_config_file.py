"""yard.toml: read, checked, and every problem named by file, key and what is wrong."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from gateways.paper import PaperConfig
from yard_actors import ConfigError
from yard_actors.app.config_file import DEFAULT_ENDPOINTS, load_settings
from yard_actors.app.templates import write_templates


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
