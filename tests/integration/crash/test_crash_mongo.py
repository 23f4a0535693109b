"""The MongoDB server stopped and started again mid-session, under a gateway and two hosts.

The gateway keeps its store on nx-27017 (a MongoDB wire-protocol server) and the
hosts follow their fills by change stream (``store = "mongodb://..."``) as well as
on the trades endpoint. The server is this test's own, on a fixed port and data
directory, so that it comes back as it was. ``YARD_CRASH_ROUNDS`` (a long run)
stops it once more per ten rounds.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from tests.integration.crash.deployment import (
    HOSTS,
    START_S,
    Deployment,
    Scenario,
    YardProcess,
    crash_rounds,
    free_port,
    note,
    poll,
    sample_day,
)
from tests.integration.crash.invariant import check_consistency

OUTAGES = max(1, crash_rounds() // 10)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120 + 30 * OUTAGES)]


class MongoServer(YardProcess):
    """nx-27017 on a fixed port and data directory, so it can stop and come back as it was.

    Started as :func:`yard_actors.testing.mongo.nx_server` starts it, but that one
    picks a new port each time and stops for good.
    """

    def __init__(self, directory: Path, *, logs: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        logs.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        start = "import sys; from nx_27017 import main; sys.exit(main())"
        command = [
            *(sys.executable, "-c", start),
            *("--data-dir", str(directory / "data")),
            *("-p", str(self.port)),
            *("--pid-file", str(directory / "nx-27017.pid")),
            *("--log-file", str(directory / "nx-27017.log")),
        ]
        super().__init__("nx-27017", command, logs, ready=None)
        self.outages = 0

    def database_url(self, database: str) -> str:
        return f"mongodb://127.0.0.1:{self.port}/{database}?directConnection=true"

    def start(self, timeout: float = START_S) -> None:
        super().start(timeout)
        if not poll(self._answers, timeout):
            self.kill(count=False)
            msg = f"nx-27017 did not answer on port {self.port} within {timeout} s"
            raise RuntimeError(msg)

    def stop_for(self, seconds: float) -> None:
        """Stop the server (SIGTERM), leave it down ``seconds``, start it again as it was."""
        self.stop()
        self.outages += 1
        note(self.logs, f"nx-27017 stopped for {seconds:.2f} s")
        time.sleep(seconds)  # the outage itself, not a wait for something
        self.start()
        note(self.logs, "nx-27017 answers again")

    def _answers(self) -> bool:
        from pymongo import MongoClient  # noqa: PLC0415 - imported by the MongoDB test alone
        from pymongo.errors import PyMongoError  # noqa: PLC0415

        url = f"mongodb://127.0.0.1:{self.port}/?directConnection=true"
        client: MongoClient[dict[str, object]] = MongoClient(url, serverSelectionTimeoutMS=250)
        try:
            client.admin.command("ping")
        except PyMongoError:
            return False
        finally:
            client.close()
        return True


def test_a_mongodb_outage_mid_session_is_ridden_out_and_loses_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = Scenario.begin(f"MongoDB server stopped {OUTAGES} times")
    rng = scenario.rng
    server = MongoServer(tmp_path / "nx-27017", logs=tmp_path / "logs")
    server.start()
    store = server.database_url("yard")
    try:
        with Deployment(tmp_path, store=store, host_store=store, rng=rng) as rig:
            rig.start(sample_day())
            findings = rig.await_trading(HOSTS, "the start")
            for outage in range(1, OUTAGES + 1):
                rig.trade_for(rng.randint(1, 300))
                server.stop_for(rng.uniform(0.5, 3.0))
                findings += rig.await_trading(HOSTS, f"MongoDB outage {outage}")
            findings += rig.settle()
            findings += rig.tracebacks()

        consistency = check_consistency(store, rig.journal_dirs.values())
    finally:
        server.stop()

    also = f"{server.outages} MongoDB outages, "
    scenario.conclude(rig, findings, consistency, capsys, also=also)
