"""The gateway killed with SIGKILL, alone or with a host, and restarted on the same store.

``YARD_CRASH_ROUNDS`` (a long run) kills once more per five rounds, over SQLite and
MongoDB stores; ``YARD_CRASH_SEED`` replays a run's random moments.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.crash.deployment import (
    BACKENDS,
    HOSTS,
    Deployment,
    Scenario,
    YardProcess,
    crash_rounds,
    sample_day,
    start_together,
    store_for,
)
from tests.integration.crash.invariant import check_consistency

KILLS = max(1, crash_rounds() // 5)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90 + 30 * KILLS)]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("with_a_host", [False, True], ids=["gateway", "gateway+host"])
def test_a_gateway_killed_alone_or_with_a_host_resumes_on_its_store_and_loses_nothing(
    with_a_host: bool,
    backend: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    capsys: pytest.CaptureFixture[str],
) -> None:
    who = "gateway and a host" if with_a_host else "gateway"
    scenario = Scenario.begin(f"{who} killed {KILLS} times ({backend})")
    rng = scenario.rng
    store = store_for(backend, tmp_path, request)
    with Deployment(tmp_path, store=store, host_store=store, rng=rng) as rig:
        rig.start(sample_day())
        findings = rig.await_trading(HOSTS, "the start")
        for kill in range(1, KILLS + 1):
            victims: list[YardProcess] = [rig.gateway]
            what = "the gateway"
            if with_a_host:  # picked at random each time
                host = rng.choice(sorted(HOSTS))
                victims.append(rig.hosts[host])
                what += f" and {host}"
            rig.kill_when_busy(victims, rig.robots)
            start_together(rng.sample(victims, k=len(victims)))  # either may serve first
            findings += rig.await_trading(HOSTS, f"kill {kill} of {what}")
        findings += rig.settle()
        findings += rig.tracebacks()

    consistency = check_consistency(store, rig.journal_dirs.values())

    scenario.conclude(rig, findings, consistency, capsys)
