"""``yard run --role host`` logs its health: every ``--health-every`` seconds and on SIGUSR1."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest
import zmq

from yard_actors.app.cli import main
from yard_actors.testing import quote
from yard_actors.testing.live import TestFeed

CONFIG = """
[endpoints]
data = "ipc://{tmp}/data"
orders = "ipc://{tmp}/orders"
trades = "ipc://{tmp}/trades"
control = "ipc://{tmp}/control"

[[robots]]
class = "tests.integration.order_robots:Taker"
name = "alpha"
symbols = ["Si"]
"""

YARD_HOST = (sys.executable, "-m", "yard_actors.app.cli", "run", "yard.toml", "--role", "host")
ROBOT_LINE = re.compile(
    r"health: robot alpha running: ([\d,]+) events in, ([\d,]+) commands out, mailbox \d+$"
)


class HostProcess:
    """``yard run yard.toml --role host`` with its output read line by line on two threads."""

    def __init__(self, tmp_path: Path, *args: str) -> None:
        (tmp_path / "yard.toml").write_text(CONFIG.format(tmp=tmp_path), encoding="utf-8")
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}  # the robot's package
        self.process = subprocess.Popen(
            [*YARD_HOST, "--journal-dir", str(tmp_path / "journal"), *args],
            cwd=tmp_path,
            env=env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.out: queue.Queue[str] = queue.Queue()
        self.err: queue.Queue[str] = queue.Queue()
        assert self.process.stdout is not None
        assert self.process.stderr is not None
        self._readers = [
            threading.Thread(target=_read, args=(self.process.stdout, self.out), daemon=True),
            threading.Thread(target=_read, args=(self.process.stderr, self.err), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def next_line(self, lines: queue.Queue[str], timeout: float = 10.0) -> str:
        try:
            return lines.get(timeout=timeout)
        except queue.Empty:
            msg = f"the host wrote no line within {timeout} s"
            raise AssertionError(msg) from None

    def health_round(self, timeout: float = 10.0) -> list[str]:
        """The next round of health lines: the robot's, then the three intakes'."""
        lines: list[str] = []
        deadline = time.monotonic() + timeout
        while len(lines) < 4:
            line = self.next_line(self.err, max(0.0, deadline - time.monotonic()))
            if "health: " in line:
                lines.append(line[line.index("health: ") :])
        return lines

    def stop(self) -> tuple[int, str]:
        """SIGTERM; the exit status and what it printed after ``ready``."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=60)
        self._close()
        return code, "\n".join(self.out.queue)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)
        self._close()

    def _close(self) -> None:
        for reader in self._readers:
            reader.join(timeout=10)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


def _read(stream: IO[str], lines: queue.Queue[str]) -> None:
    for line in stream:
        lines.put(line.rstrip("\n"))


@pytest.fixture
def start(tmp_path: Path) -> Iterator[type[HostProcess]]:
    """Start host processes (``start(tmp_path, *flags)``); each is stopped after the test."""
    started: list[HostProcess] = []

    class Started(HostProcess):
        def __init__(self, tmp_path: Path, *args: str) -> None:
            super().__init__(tmp_path, *args)
            started.append(self)

    yield Started
    for host in started:
        host.kill()


def test_sigusr1_logs_the_health_and_the_host_keeps_running(
    tmp_path: Path, start: type[HostProcess]
) -> None:
    host = start(tmp_path, "--health-every", "0")
    assert host.next_line(host.out) == "yard host ready: alpha"

    host.process.send_signal(signal.SIGUSR1)
    first = host.health_round()
    host.process.send_signal(signal.SIGUSR1)
    second = host.health_round()
    running = host.process.poll() is None
    code, table = host.stop()

    assert ROBOT_LINE.fullmatch(first[0]), first[0]
    intakes = {line.split(" on ")[0]: line for line in first[1:]}
    assert sorted(intakes) == [
        "health: control intake",
        "health: data intake",
        "health: trades intake",
    ]
    assert intakes["health: data intake"].endswith(
        "0 received, 0 delivered, 0 unrouted, dropped: none"
    )
    assert second == first
    assert running
    assert code == 0
    assert "alpha" in table


def test_the_host_logs_its_health_every_so_often_with_drops_by_reason(
    tmp_path: Path, start: type[HostProcess]
) -> None:
    context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    feed = TestFeed(context, f"ipc://{tmp_path}/data")
    try:
        host = start(tmp_path, "--health-every", "0.2")
        assert host.next_line(host.out) == "yard host ready: alpha"
        feed.wait_for("Si")
        feed.send_raw(b"Si", b"{not json")
        feed.publish(quote("Si", 90000, 90001))
        rounds = [host.health_round()]
        while "not_json" not in "".join(rounds[-1]) and len(rounds) < 50:
            rounds.append(host.health_round())
        code, _ = host.stop()
    finally:
        feed.close()
        context.term()

    robot = rounds[-1][0]
    data = next(line for line in rounds[-1] if line.startswith("health: data intake"))
    match = ROBOT_LINE.fullmatch(robot)
    assert match is not None, robot
    assert match.group(1) == "1"
    assert re.search(r"2 received, 1 delivered, 0 unrouted, dropped: not_json 1$", data), data
    assert code == 0


def test_a_health_interval_that_is_not_a_number_of_seconds_is_refused(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "--role", "host", "--health-every", "-1"])

    assert exit_info.value.code == 2
    expected = "argument --health-every: must be a number of seconds, 0 (only on SIGUSR1) or more"
    assert f"{expected}, was '-1'" in capsys.readouterr().err
