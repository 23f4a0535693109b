"""``yard ctl``'s arguments, and the control endpoint a config that names none gets."""

from __future__ import annotations

from pathlib import Path

import pytest

from yard_actors.app.cli import main
from yard_actors.app.config_file import (
    default_control,
    load_settings,
    system_settings,
    with_journal_dir,
)
from yard_actors.app.ctl_command import parse_params
from yard_actors.app.yard_run import in_run_dir


def test_params_are_json_where_whole_numbers_booleans_lists_or_objects_and_text_else() -> None:
    params = parse_params(
        ["qty=2", "on=true", "off=false", "none=null", "syms=[1]", "price=0.5", "side=buy", "e="]
    )

    assert params == {
        "qty": 2,
        "on": True,
        "off": False,
        "none": None,
        "syms": [1],
        "price": "0.5",  # never a float: the params class makes it an exact Decimal
        "side": "buy",
        "e": "",
    }


@pytest.mark.parametrize("pair", ["qty", "=2", ""])
def test_a_param_that_is_no_key_value_pair_is_refused_naming_it(pair: str) -> None:
    with pytest.raises(ValueError, match=rf"a param is key=value, such as qty=2, was {pair!r}"):
        parse_params([pair])


@pytest.mark.parametrize(
    "argv",
    [
        ["ctl", "--endpoint", "ipc:///nowhere"],  # no action
        ["ctl", "status"],  # no endpoint
        ["ctl", "--endpoint", "ipc:///nowhere", "pause"],  # no robot
        ["ctl", "--endpoint", "ipc:///nowhere", "params", "mm-si"],  # no params
        ["ctl", "--endpoint", "ipc:///nowhere", "explode"],
    ],
)
def test_a_usage_error_exits_2(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        main(argv)

    assert raised.value.code == 2


def test_keys_without_a_key_name_exit_2_saying_they_go_together(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["ctl", "--endpoint", "ipc:///nowhere", "--keys", "keys", "status"])

    assert code == 2
    assert "--keys DIR and --key NAME go together" in capsys.readouterr().err


def test_a_bad_param_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["ctl", "--endpoint", "ipc:///nowhere", "params", "mm-si", "qty"])

    assert code == 2
    assert "a param is key=value" in capsys.readouterr().err


def test_without_a_control_endpoint_a_host_serves_on_ipc_beside_its_journal() -> None:
    settings = load_settings(None)

    control = settings.host.host_kwargs["control"]
    assert control == f"ipc://{Path('yard-data').resolve()}/control"
    assert control == default_control("yard-data/journal")
    assert settings.control_given is False


def test_the_default_control_endpoint_moves_with_the_journal_dir_one_per_host(
    tmp_path: Path,
) -> None:
    settings = load_settings(None)

    moved = with_journal_dir(settings, tmp_path / "host-b" / "journal")
    in_run = in_run_dir(settings, tmp_path / "run-0001")

    assert moved.host.host_kwargs["control"] == f"ipc://{tmp_path}/host-b/control"
    assert moved.host.host_kwargs["journal_dir"] == f"{tmp_path}/host-b/journal"
    assert in_run.host.host_kwargs["control"] == f"ipc://{tmp_path}/run-0001/control"


def test_two_hosts_of_one_config_with_their_own_journal_dirs_get_two_control_sockets(
    tmp_path: Path,
) -> None:
    settings = load_settings(None)

    host_a = with_journal_dir(settings, tmp_path / "yard-data" / "host-a")
    host_b = with_journal_dir(settings, tmp_path / "yard-data" / "host-b")

    assert host_a.host.host_kwargs["control"] == f"ipc://{tmp_path}/yard-data/host-a/control"
    assert host_b.host.host_kwargs["control"] == f"ipc://{tmp_path}/yard-data/host-b/control"


def test_a_control_endpoint_the_config_names_stays_wherever_the_journal_goes(
    tmp_path: Path,
) -> None:
    config = {"endpoints": {"control": "tcp://127.0.0.1:5564"}}
    settings = system_settings(config, source="yard.toml")

    moved = with_journal_dir(settings, tmp_path / "journal")

    assert settings.control_given is True
    assert moved.host.host_kwargs["control"] == "tcp://127.0.0.1:5564"
