"""A clean stop, then a second trading day on the same store and journals.

A long run (``YARD_CRASH_ROUNDS``) plays it over a MongoDB store too.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gateways.sample import SAMPLE_DATE
from tests.integration.crash.deployment import (
    BACKENDS,
    HOSTS,
    Deployment,
    Scenario,
    csv_day,
    next_trading_day,
    sample_day,
    store_for,
)
from tests.integration.crash.invariant import check_consistency

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

DAY_REPORTS = 400  # each day trades at least this much before it ends


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_second_day_on_the_same_store_and_journals_trades_and_stays_consistent(
    backend: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    capsys: pytest.CaptureFixture[str],
) -> None:
    scenario = Scenario.begin(f"a clean restart for a second day ({backend})")
    rng = scenario.rng
    store = store_for(backend, tmp_path, request)
    second = csv_day(tmp_path / "market", seed=8, day=next_trading_day(SAMPLE_DATE), hours=4)
    with Deployment(tmp_path, store=store, host_store=store, rng=rng) as rig:
        rig.start(sample_day())
        findings = rig.await_trading(HOSTS, "the start of the first day")
        findings += rig.trade_for(DAY_REPORTS)
        rig.stop_feed()
        rig.wait_quiet()
        findings += rig.stop_all()
        rig.start(second)
        findings += rig.await_trading(HOSTS, "the start of the second day")
        findings += rig.trade_for(DAY_REPORTS)
        findings += rig.settle()
        findings += rig.tracebacks()

    consistency = check_consistency(store, rig.journal_dirs.values())

    scenario.conclude(rig, findings, consistency, capsys)
