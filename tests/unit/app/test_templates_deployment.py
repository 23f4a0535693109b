"""``yard init --deployment``: the config and commands README's deployment shows, verbatim."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from yard_actors.app import cli
from yard_actors.app.config_file import check_reachable, load_settings, system_settings
from yard_actors.app.templates import (
    DEPLOYMENT_COMMANDS,
    DEPLOYMENT_CONFIG,
    DEPLOYMENT_CONTROL,
    write_deployment,
)
from yard_actors.errors import ConfigError
from yard_actors.net import make_keys

README = Path(__file__).resolve().parents[3] / "README.md"


def _deployment_section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("## Deployment across processes")
    following = re.compile(r"^#{2,3} ", re.MULTILINE).search(text, start + 1)
    return text[start : following.start() if following else len(text)]


def test_readme_shows_the_deployment_yard_init_writes_and_prints_verbatim() -> None:
    section = _deployment_section()

    assert f"```toml\n{DEPLOYMENT_CONFIG}```" in section
    assert f"```bash\n{DEPLOYMENT_COMMANDS}```" in section
    assert f"```bash\n{DEPLOYMENT_CONTROL}```" in section
    assert section.count("```bash\n") == 2  # what the README test runs, and nothing else


def test_yard_init_deployment_writes_the_config_and_prints_the_commands(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["init", "--deployment", str(tmp_path)]) == 0

    out = capsys.readouterr().out
    assert (tmp_path / "yard.toml").read_text(encoding="utf-8") == DEPLOYMENT_CONFIG
    assert sorted(p.name for p in tmp_path.iterdir()) == ["yard.toml"]  # robots: the package's
    assert out.startswith(f"yard: wrote {tmp_path / 'yard.toml'}\n")
    assert f"(cd {tmp_path})" in out
    assert f"\n{DEPLOYMENT_COMMANDS}Then supervise host-a:\n{DEPLOYMENT_CONTROL}" in out


def test_yard_init_deployment_never_overwrites_a_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "yard.toml").write_text("# mine\n", encoding="utf-8")

    assert cli.main(["init", "--deployment", str(tmp_path)]) == 2

    assert "yard init does not overwrite files" in capsys.readouterr().err
    assert (tmp_path / "yard.toml").read_text(encoding="utf-8") == "# mine\n"


def test_the_deployment_config_loads_with_its_keys_and_robots_a_host_can_reach(
    tmp_path: Path,
) -> None:
    [config] = write_deployment(tmp_path)
    make_keys(tmp_path / "keys", ["feed", "gateway", "host-a", "host-b", "ops"])

    settings = load_settings(config)

    check_reachable(settings)  # tcp:// everywhere: another process can reach each
    assert [robot.name for robot in settings.host.robots] == ["trend-si", "mm-si", "mm-rts"]
    assert settings.security.name == "host-a"
    assert settings.endpoint("data") == "tcp://127.0.0.1:5561"


def test_a_host_of_its_own_on_the_default_inproc_endpoints_is_refused_naming_them() -> None:
    with pytest.raises(ConfigError) as refused:
        check_reachable(system_settings({}, source="yard.toml"))

    assert str(refused.value).startswith(
        "yard.toml: --role host runs a host in a process of its own, but "
        "endpoints.data = 'inproc://yard-data', endpoints.orders = 'inproc://yard-orders', "
        "endpoints.trades = 'inproc://yard-trades': inproc:// reaches only this process"
    )
