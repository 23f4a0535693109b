"""Many robots in one host: 1,000 under a 1,024-file limit; 100 stop within a second."""

from __future__ import annotations

import os
import resource
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from yard_actors import Quote, Robot
from yard_actors.robot.robot import HandlerResult
from yard_actors.testing import live_host, quote, wait_until

pytestmark = pytest.mark.usefixtures("each_runtime")

TS = 1_700_000_000_000_000_000


class Counter(Robot):
    symbols = ("Si",)

    def on_start(self) -> None:
        self.quotes = 0

    def on_quote(self, quote: Quote) -> HandlerResult:
        self.quotes += 1
        return None


@pytest.fixture
def open_file_limit_1024() -> Iterator[None]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(1024, hard), hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


@pytest.mark.slow
@pytest.mark.usefixtures("open_file_limit_1024")
def test_a_thousand_robots_start_receive_their_data_and_stop(tmp_path: Path) -> None:
    before = set(threading.enumerate())
    with live_host(tmp_path) as live:
        for n in range(1000):
            live.host.add_robot(Counter, name=f"r{n:04d}", symbols=["Si" if n % 2 else "RTS"])
        live.feed.wait_for("Si")
        live.feed.wait_for("RTS")
        for n in range(10):
            live.publish(quote("Si", 100 + n, 101 + n, ts=TS + n))
            live.publish(quote("RTS", 1000 + n, 1010 + n, ts=TS + n))
        wait_until(
            lambda: {row["events_in"] for row in live.host.robots()} == {10},
            timeout=30,
            what="10 quotes reaching each of 1,000 robots",
        )
        open_files = len(os.listdir("/proc/self/fd"))

        rows = live.host.robots()

    assert len(rows) == 1000
    assert {row["events_in"] for row in rows} == {10}
    assert open_files < 200
    assert set(threading.enumerate()) <= before


def test_a_host_with_a_hundred_robots_stops_within_a_second(tmp_path: Path) -> None:
    before = set(threading.enumerate())
    with live_host(tmp_path) as live:
        for n in range(100):
            live.host.add_robot(Counter, name=f"r{n:03d}")
        live.feed.wait_for("Si")
        live.publish(quote("Si", 100, 101, ts=TS))
        live.wait_idle()

        started = time.perf_counter()
        live.host.stop()
        took = time.perf_counter() - started

    assert took < 1.0
    assert set(threading.enumerate()) <= before
