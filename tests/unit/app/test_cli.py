"""The yard command's arguments: what each command is given, without starting it."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from gateways.paper import PaperConfig
from gateways.serve import GatewaySettings
from tests.unit.app.cli_rig import ENDPOINTS, refusal, served_fixture  # noqa: F401 - a fixture
from yard_actors.app import cli
from yard_actors.app.config_file import load_settings


def test_yard_run_and_yard_gateway_default_to_the_same_paper_exchange(
    served: list[GatewaySettings],
) -> None:
    assert cli.main(["gateway", *ENDPOINTS]) == 0

    [gateway] = served
    assert gateway.paper == load_settings(None).paper == PaperConfig()


def test_yard_gateway_flags_set_the_paper_exchange(served: list[GatewaySettings]) -> None:
    flags = ["--latency-ms", "2.5", "--fee-per-lot", "0.25", "--no-require-session"]

    assert cli.main(["gateway", *ENDPOINTS, *flags]) == 0

    assert served[0].paper == PaperConfig(
        latency_ns=2_500_000, fee_per_lot=Decimal("0.25"), require_session=False
    )


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--fee-per-lot", "lots"], "argument --fee-per-lot: must be a decimal ≥ 0 such as 0.5"),
        (["--fee-per-lot", "-1"], "argument --fee-per-lot: must be a decimal ≥ 0 such as 0.5"),
        (["--latency-ms", "-1"], "argument --latency-ms: must be a number of milliseconds, 0 or"),
    ],
)
def test_a_bad_paper_flag_stops_yard_gateway_naming_the_flag(
    flags: list[str],
    message: str,
    served: list[GatewaySettings],
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert message in refusal(["gateway", *ENDPOINTS, *flags], capsys)
    assert served == []


@pytest.mark.parametrize("command", ["run", "feed"])
@pytest.mark.parametrize("speed", ["0", "-1", "fast", "inf"])
def test_a_bad_speed_stops_the_command_before_it_starts(
    command: str,
    speed: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)

    assert cli.main([command, "--speed", speed]) == 2

    assert "--speed must be 'max' or a positive number of times real time" in (
        capsys.readouterr().err
    )
    assert list(tmp_path.iterdir()) == []  # no run directory, no socket file
