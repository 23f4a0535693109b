"""Hosts killed with SIGKILL at random moments and restarted on their journals lose nothing.

``YARD_CRASH_ROUNDS=50`` makes 50 kills instead of 5, over SQLite and MongoDB stores;
``YARD_CRASH_SEED`` replays a run's random moments.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.crash.deployment import (
    BACKENDS,
    HOSTS,
    Deployment,
    Scenario,
    crash_rounds,
    sample_day,
    store_for,
)
from tests.integration.crash.invariant import check_consistency

ROUNDS = crash_rounds()

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90 + 30 * ROUNDS)]


@pytest.mark.parametrize("backend", BACKENDS)
def test_hosts_killed_at_random_moments_resume_and_lose_nothing(
    backend: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    capsys: pytest.CaptureFixture[str],
) -> None:
    scenario = Scenario.begin(f"hosts killed {ROUNDS} times ({backend})")
    rng = scenario.rng
    store = store_for(backend, tmp_path, request)
    with Deployment(tmp_path, store=store, host_store=store, rng=rng) as rig:
        rig.start(sample_day())
        findings = rig.await_trading(HOSTS, "the start")
        for kill in range(1, ROUNDS + 1):
            host = rng.choice(sorted(HOSTS))
            rig.kill_when_busy([rig.hosts[host]], HOSTS[host])
            rig.hosts[host].start()
            findings += rig.await_trading([host], f"kill {kill} of {host}")
        findings += rig.settle()
        findings += rig.tracebacks()

    consistency = check_consistency(store, rig.journal_dirs.values())

    scenario.conclude(rig, findings, consistency, capsys)
