"""``yard gateway --recovery-*``: the recovery endpoint's limits, checked as parsed and
handed to the order gateway."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from gateways import serve as serving
from gateways.paper import PaperConfig
from gateways.recovery_limits import RecoveryLimits
from gateways.serve import GatewaySettings, serve
from tests.unit.app.cli_rig import ENDPOINTS, refusal, served_fixture  # noqa: F401 - a fixture
from yard_actors.app import cli


def test_without_recovery_flags_the_gateway_has_the_default_limits(
    served: list[GatewaySettings],
) -> None:
    assert cli.main(["gateway", *ENDPOINTS]) == 0

    assert served[0].recovery_limits == RecoveryLimits()


def test_recovery_flags_set_the_recovery_limits(served: list[GatewaySettings]) -> None:
    flags = {
        "--recovery-page-reports": "50",
        "--recovery-peer-requests": "64",
        "--recovery-queued-bytes": "1048576",
        "--recovery-active-peers": "4",
        "--recovery-stall-s": "0.5",
    }

    assert cli.main(["gateway", *ENDPOINTS, *(x for kv in flags.items() for x in kv)]) == 0

    assert served[0].recovery_limits == RecoveryLimits(
        page_reports=50, peer_requests=64, queued_bytes=2**20, active_peers=4, stall_s=0.5
    )


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--recovery-page-reports", "0", "must be a positive whole number of reports, was '0'"),
        ("--recovery-peer-requests", "-3", "must be a positive whole number of requests, was '-3'"),
        ("--recovery-queued-bytes", "1.5", "must be a positive whole number of bytes, was '1.5'"),
        ("--recovery-active-peers", "many", "must be a positive whole number of peers, was 'many'"),
        ("--recovery-stall-s", "0", "must be a positive number of seconds, was '0'"),
        ("--recovery-stall-s", "nan", "must be a positive number of seconds, was 'nan'"),
        ("--recovery-stall-s", "inf", "must be a positive number of seconds, was 'inf'"),
    ],
)
def test_a_bad_recovery_flag_stops_yard_gateway_naming_the_flag(
    flag: str,
    value: str,
    message: str,
    served: list[GatewaySettings],
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert f"argument {flag}: {message}" in refusal(["gateway", *ENDPOINTS, flag, value], capsys)
    assert served == []


def test_serve_hands_the_recovery_limits_to_the_order_gateway(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    given: list[RecoveryLimits] = []

    class RefusedError(Exception):
        pass

    def gateway(**kwargs: Any) -> None:
        given.append(kwargs["recovery_limits"])
        raise RefusedError

    monkeypatch.setattr(serving, "OrderGateway", gateway)
    limits = RecoveryLimits(page_reports=7, stall_s=0.25)
    settings = GatewaySettings(
        store=f"sqlite:///{tmp_path / 'orders.db'}",
        orders="inproc://orders",
        replies="inproc://replies",
        recovery="inproc://recovery",
        data=None,
        symbols=(),
        paper=PaperConfig(require_session=False),
        recovery_limits=limits,
    )

    stop = threading.Event()
    try:
        with pytest.raises(RefusedError):
            serve(settings, stop=stop)
    finally:
        stop.set()  # ends serve's watch thread

    assert given == [limits]
