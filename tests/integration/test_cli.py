"""The yard command as a user runs it: a real subprocess in a fresh directory."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path
from typing import IO

import zmq

from gateways.store import OrderState, open_store
from tests.integration.cli_process import yard as _yard
from yard_actors import Fill, NewOrder, SessionState, SessionStatus, Side, decode, encode
from yard_actors.testing import quote
from yard_actors.wire.names import SESSION_TOPIC


def test_yard_help_lists_the_commands(tmp_path: Path) -> None:
    result = _yard("--help", cwd=tmp_path)

    assert result.returncode == 0
    assert "run" in result.stdout
    assert "replay" in result.stdout


def test_yard_run_trades_a_session_and_journals_it(tmp_path: Path) -> None:
    result = _yard("run", "--limit", "20000", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "yard run: per-robot summary" in out
    for robot in ("trend-si", "mm-si", "mm-rts", "spread"):
        assert f"│ {robot}" in out
    assert "20,000 events in" in out
    run_dir = tmp_path / "yard-data" / "run-0001"
    assert list((run_dir / "journal").glob("journal-*.yj"))
    with open_store(f"sqlite:///{run_dir / 'yard.db'}") as store:
        assert store.orders(robot="mm-si")
        assert store.trades()

    replayed = _yard("replay", "yard-data/run-0001/journal", "mm-si", cwd=tmp_path)

    assert replayed.returncode == 0, replayed.stderr
    assert replayed.stdout.rstrip().endswith("faithful")


def test_a_second_run_gets_a_directory_of_its_own(tmp_path: Path) -> None:
    for _ in range(2):
        assert _yard("run", "--limit", "500", "--quiet", cwd=tmp_path).returncode == 0

    assert sorted(p.name for p in (tmp_path / "yard-data").iterdir()) == ["run-0001", "run-0002"]


def test_a_config_with_a_mistake_stops_start_up_with_exit_2(tmp_path: Path) -> None:
    (tmp_path / "yard.toml").write_text('[paper]\nfee_per_lot = "lots"\n', encoding="utf-8")

    result = _yard("run", "yard.toml", cwd=tmp_path)

    assert result.returncode == 2
    assert "yard: yard.toml: paper.fee_per_lot: must be a decimal" in result.stderr
    assert not (tmp_path / "yard-data").exists()


def test_yard_init_writes_a_config_that_runs(tmp_path: Path) -> None:
    assert _yard("init", cwd=tmp_path).returncode == 0

    result = _yard("run", "yard.toml", "--limit", "3000", "--quiet", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "│ my-robot" in result.stdout
    assert (tmp_path / "yard-data" / "run-0001" / "yard.db").exists()  # a run folder each run


def test_yard_replay_of_an_unknown_robot_exits_2_with_a_message(tmp_path: Path) -> None:
    result = _yard("replay", str(tmp_path), "ghost", cwd=tmp_path)

    assert result.returncode == 2
    assert f"journal {tmp_path} has no robot named 'ghost'" in result.stderr


def test_pinning_to_a_cpu_that_does_not_exist_exits_2(tmp_path: Path) -> None:
    result = _yard("--cpu", "9999", "run", "--limit", "10", cwd=tmp_path)

    assert result.returncode == 2
    assert "yard: cannot pin to CPUs [9999]" in result.stderr


def test_yard_gateway_serves_orders_until_sigterm(tmp_path: Path) -> None:
    """On its defaults, those of ``yard run``: a session must be open, a lot costs 0.5."""
    urls = {name: f"ipc://{tmp_path}/{name}" for name in ("orders", "replies", "recovery", "data")}
    context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    feed, push, ask = context.socket(zmq.XPUB), context.socket(zmq.PUSH), context.socket(zmq.DEALER)
    feed.bind(urls["data"])
    gateway = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "yard_actors.app.cli",
            "gateway",
            "--store",
            f"sqlite:///{tmp_path}/g.db",
            "--orders",
            urls["orders"],
            "--replies",
            urls["replies"],
            "--recovery",
            urls["recovery"],
            "--data",
            urls["data"],
            "--symbols",
            "Si",
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        text=True,
    )
    opened = SessionStatus(ts=4, session="FORTS", state=SessionState.OPEN)
    market = quote("Si", 100, 101, ts=5)
    order = NewOrder(
        ts=6, client_order_id="r-1", robot="r", symbol="Si", side=Side.BUY, qty=1, price=market.ask
    )
    try:
        assert gateway.stdout is not None
        assert gateway.stdout.readline().startswith("yard gateway ready: orders=")
        while feed.poll(10_000) and feed.recv() != b"\x01Si":
            pass  # wait for the gateway's subscription to Si, so the quote reaches it
        feed.send_multipart([SESSION_TOPIC.encode(), encode(opened)])  # subscribed before Si
        feed.send_multipart([b"Si", encode(market)])
        push.connect(urls["orders"])
        push.send_multipart([b"r", encode(order)])
        ask.connect(urls["recovery"])
        reports: list[bytes] = []
        while len(reports) < 2:  # accepted, then filled: ask until both are in the store
            ask.send_multipart([b"replay", b"r", b"0"])
            assert ask.poll(5_000)
            reports = ask.recv_multipart()[2:]
    finally:
        gateway.send_signal(signal.SIGTERM)
        out, _ = gateway.communicate(timeout=30)
        for socket in (feed, push, ask):
            socket.close(linger=0)
        context.term()

    assert [type(decode(r)).__name__ for r in reports] == ["OrderAccepted", "Fill"]
    fill = decode(reports[1])
    assert isinstance(fill, Fill)
    assert fill.fee == Decimal("0.5")
    assert gateway.returncode == 0
    assert "yard gateway stopped: " in out
    with open_store(f"sqlite:///{tmp_path}/g.db") as store:
        record = store.order("r-1")
    assert record is not None
    assert record.state is OrderState.FILLED


def _yard_gateway(tmp_path: Path, *flags: str) -> tuple[subprocess.Popen[str], dict[str, str]]:
    """``yard gateway`` on ipc:// endpoints in ``tmp_path``, the repository importable."""
    urls = {name: f"ipc://{tmp_path}/{name}" for name in ("orders", "replies", "recovery")}
    endpoints = [f"--{name}={url}" for name, url in urls.items()]
    command = [sys.executable, "-m", "yard_actors.app.cli", "gateway", *endpoints]
    process = subprocess.Popen(
        [*command, f"--store=sqlite:///{tmp_path}/g.db", *flags],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline().startswith("yard gateway ready: orders=")
    return process, urls


def _lines(stream: IO[str]) -> queue.Queue[str]:
    """The lines of ``stream`` as they come, read by a daemon thread."""
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        for line in stream:
            lines.put(line)

    threading.Thread(target=read, daemon=True).start()
    return lines


def _line_with(lines: queue.Queue[str], *parts: str, timeout: float = 10.0) -> str | None:
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        try:
            line = lines.get(timeout=left)
        except queue.Empty:
            return None
        if all(part in line for part in parts):
            return line
    return None


def test_yard_gateway_whose_thread_dies_exits_non_zero_at_once_saying_why(tmp_path: Path) -> None:
    gateway, urls = _yard_gateway(
        tmp_path, "--exchange", "tests.integration.gateways.exchanges:Brittle"
    )
    context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    push = context.socket(zmq.PUSH)
    crash = NewOrder(ts=1, client_order_id="c-1", robot="r", symbol="CRASH", side=Side.BUY, qty=1)
    try:
        push.connect(urls["orders"])
        push.send_multipart([b"r", encode(crash)])
        _, err = gateway.communicate(timeout=20)  # no SIGTERM: it must end by itself
    finally:
        gateway.kill()
        push.close(linger=0)
        context.term()

    assert gateway.returncode == 2
    assert "the order gateway stopped on an unexpected error, RuntimeError: " in err
    assert "the exchange link's thread died" in err


def test_yard_gateway_logs_its_health_on_sigusr1(tmp_path: Path) -> None:
    gateway, urls = _yard_gateway(tmp_path, "--health-every", "0", "--no-require-session")
    assert gateway.stderr is not None
    lines = _lines(gateway.stderr)
    context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    push = context.socket(zmq.PUSH)
    order = NewOrder(
        ts=1, client_order_id="h-1", robot="r", symbol="Si", side=Side.BUY, qty=1, price=Decimal(9)
    )  # rests: no quote reaches this gateway
    try:
        push.connect(urls["orders"])
        push.send_multipart([b"r", b"not json"])
        push.send_multipart([b"r", encode(order)])
        health = None
        for _ in range(20):  # until the gateway has handled both, as its health line says
            gateway.send_signal(signal.SIGUSR1)
            health = _line_with(lines, "yard gateway health: commands 1,", timeout=0.5)
            if health is not None:
                break
    finally:
        gateway.send_signal(signal.SIGTERM)
        gateway.communicate(timeout=30)
        push.close(linger=0)
        context.term()

    assert health is not None
    assert "reports 1," in health
    assert "working_orders 1," in health
    assert "store_retries 0," in health
    assert "dropped_command_not_json 1" in health
    assert gateway.returncode == 0


def test_yard_gateway_logs_its_health_every_few_seconds_when_told(tmp_path: Path) -> None:
    gateway, _ = _yard_gateway(tmp_path, "--health-every", "0.2")
    assert gateway.stderr is not None
    lines = _lines(gateway.stderr)
    try:
        first = _line_with(lines, "yard gateway health: ")
        second = _line_with(lines, "yard gateway health: ")
    finally:
        gateway.send_signal(signal.SIGTERM)
        gateway.communicate(timeout=30)

    assert first is not None
    assert second is not None
    assert gateway.returncode == 0
