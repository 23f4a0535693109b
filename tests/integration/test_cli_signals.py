"""Stopping the yard command as an operator does: real signals to real processes.

Each test waits for a sign that the process is at work (journal records, market
data on a socket, a ready line) before it signals, so the signal lands mid-run,
not during start-up; every wait has a wide timeout.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import zmq

_YARD = (sys.executable, "-m", "yard_actors.app.cli")
_START_S = 90.0  # start-up on a loaded 2-core machine: imports alone can take seconds
_STOP_S = 60.0


def _start(*args: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "yard_actors.app.cli", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=_STOP_S)


def _wait_until(ready: Callable[[], bool], process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + _START_S
    while not ready():
        assert process.poll() is None, "the process ended before it was at work"
        assert time.monotonic() < deadline, "the process did not get to work in time"
        time.sleep(0.1)


def _journal_bytes(run_dir: Path) -> int:
    return sum(p.stat().st_size for p in run_dir.glob("journal/journal-*.yj"))


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_stops_yard_run_cleanly_with_the_summary_of_what_ran(
    tmp_path: Path, processes: list[subprocess.Popen[str]], signum: int, code: int
) -> None:
    run = _start("run", "--speed", "50", "--quiet", cwd=tmp_path)
    processes.append(run)
    _wait_until(lambda: _journal_bytes(tmp_path / "yard-data" / "run-0001") > 64_000, run)

    run.send_signal(signum)
    out, err = run.communicate(timeout=_STOP_S)

    assert run.returncode == code, err
    assert "Traceback" not in err
    assert "yard run: per-robot summary" in out
    assert "│ mm-si" in out
    name = signal.Signals(signum).name
    assert f"yard run: stopped by {name} after " in out
    assert f"yard run: {name}: stopping; the summary follows" in err


def test_ctrl_c_stops_yard_feed_cleanly_saying_what_it_published(
    tmp_path: Path, processes: list[subprocess.Popen[str]]
) -> None:
    url = f"ipc://{tmp_path}/data"
    context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    market = context.socket(zmq.SUB)
    try:
        market.setsockopt(zmq.SUBSCRIBE, b"")
        market.connect(url)
        feed = _start("feed", "--bind", url, "--speed", "1", cwd=tmp_path)
        processes.append(feed)
        assert market.poll(int(_START_S * 1000)), "no market data from yard feed"

        feed.send_signal(signal.SIGINT)
        out, err = feed.communicate(timeout=_STOP_S)
    finally:
        market.close(linger=0)
        context.term()

    assert feed.returncode == 130, err
    assert "Traceback" not in err
    assert out.startswith("yard feed: ")
    assert out.rstrip().endswith("stopped before the end (interrupted)")


def test_ctrl_c_stops_yard_gateway_cleanly(
    tmp_path: Path, processes: list[subprocess.Popen[str]]
) -> None:
    urls = [f"--{name}=ipc://{tmp_path}/{name}" for name in ("orders", "replies")]
    gateway = _start("gateway", *urls, f"--store=sqlite:///{tmp_path}/g.db", cwd=tmp_path)
    processes.append(gateway)
    assert gateway.stdout is not None
    assert gateway.stdout.readline().startswith("yard gateway ready")

    gateway.send_signal(signal.SIGINT)
    out, err = gateway.communicate(timeout=_STOP_S)

    assert gateway.returncode == 0, err
    assert "Traceback" not in err
    assert "yard gateway stopped" in out


def test_yard_replay_into_a_pipe_whose_reader_left_is_silent(tmp_path: Path) -> None:
    ran = subprocess.run(
        [sys.executable, "-m", "yard_actors.app.cli", "run", "--limit", "2000", "--quiet"],
        cwd=tmp_path,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    read, write = os.pipe()
    os.close(read)  # the reader (`head`) has gone before a line is written
    try:
        replay = subprocess.run(
            [*_YARD, "replay", "yard-data/run-0001", "mm-si", "--snapshot"],
            cwd=tmp_path,
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        os.close(write)

    assert replay.stderr == ""
    assert replay.returncode == 141  # 128 + SIGPIPE, as a shell reports it
