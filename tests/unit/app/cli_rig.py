"""What the tests of the ``yard`` command share: endpoints to parse, a caught ``serve``, a refusal.

Used by test_cli.py, test_security_flags.py and test_gateway_recovery_flags.py. The
``served`` fixture is named apart from its function: a test module imports
``served_fixture`` (``# noqa: F401``: pytest finds it by its name).
"""

from __future__ import annotations

from typing import Final

import pytest

from gateways.serve import GatewaySettings
from yard_actors.app import cli

__all__ = ["ENDPOINTS", "refusal", "served_fixture"]

ENDPOINTS: Final = ["--orders", "inproc://orders", "--replies", "inproc://replies"]
"""The endpoints ``yard gateway`` must be given, none of which it opens while parsing."""


@pytest.fixture(name="served")
def served_fixture(monkeypatch: pytest.MonkeyPatch) -> list[GatewaySettings]:
    """What ``yard gateway`` would serve, caught instead of served."""
    caught: list[GatewaySettings] = []
    monkeypatch.setattr(cli, "serve", caught.append)
    return caught


def refusal(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run ``yard ARGV``, which argparse must refuse (exit 2); what it wrote on stderr."""
    with pytest.raises(SystemExit) as stopped:
        cli.main(argv)
    assert stopped.value.code == 2
    return capsys.readouterr().err
