"""``yard gateway --config`` takes the market data of the symbols its config trades.

The gateway is a real process; the feed's side of ``data`` is an XPUB socket here, so
the test hears each topic the gateway subscribes to. A deployment trading BR (and GOLD
through a robot class beside the config that declares it) must get BR and GOLD prices
without ``--symbols``; an explicit ``--symbols`` wins; without ``--config`` the gateway
takes the demo's Si and RTS, as before.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import zmq

from yard_actors.wire.names import SESSION_TOPIC

START_S = 60.0  # the most a gateway process may take to start and subscribe, on a loaded machine

CONFIG = """
[[robots]]
class = "robots.market_maker:MarketMaker"
name = "mm-br"
symbols = ["BR"]
params = { half_spread_ticks = 3, max_position = 5 }

[[robots]]
class = "gold_robot:GoldWatcher"
name = "gold"
"""

GOLD_ROBOT = """
from yard_actors import Robot


class GoldWatcher(Robot):
    symbols = ("GOLD",)
"""


@pytest.fixture
def sockets() -> Iterator[Path]:
    # ipc:// paths are capped near 100 bytes: a short directory of its own, not tmp_path.
    with tempfile.TemporaryDirectory(prefix="yard-gw-") as folder:
        yield Path(folder)


@pytest.fixture
def feed(sockets: Path) -> Iterator[tuple[str, zmq.Socket[bytes]]]:
    """The feed's end of ``data``: an XPUB that hands the test each subscription."""
    context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    socket = context.socket(zmq.XPUB)
    socket.setsockopt(zmq.LINGER, 0)
    url = f"ipc://{sockets}/data"
    socket.bind(url)
    try:
        yield url, socket
    finally:
        socket.close()
        context.term()


def _subscriptions(
    args: list[str], *, cwd: Path, sockets: Path, feed: tuple[str, zmq.Socket[bytes]]
) -> set[str]:
    """Run ``yard gateway ARGS`` on ``feed`` until it has subscribed to the session
    topic and then nothing for a moment; stop it; return the symbols it subscribed to."""
    url, xpub = feed
    command = [
        *("gateway", "--store", f"sqlite:///{cwd / 'yard.db'}", "--data", url),
        *("--orders", f"ipc://{sockets}/orders", "--replies", f"ipc://{sockets}/trades"),
        *args,
    ]
    process = subprocess.Popen(
        [sys.executable, "-m", "yard_actors.app.cli", *command],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    topics: set[str] = set()
    try:
        deadline = time.monotonic() + START_S
        quiet_until = None  # once the session topic is in, a second with nothing more
        while quiet_until is None or time.monotonic() < quiet_until:
            left = deadline - time.monotonic()
            assert process.poll() is None, "the gateway ended before it subscribed"
            assert left > 0, f"no subscription to {SESSION_TOPIC} in {START_S} s: {topics}"
            if xpub.poll(int(min(left, 1.0) * 1000)):
                frame = xpub.recv()
                if frame[:1] == b"\x01":
                    topics.add(frame[1:].decode())
            if SESSION_TOPIC in topics and quiet_until is None:
                quiet_until = time.monotonic() + 1.0
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=START_S)
    assert process.returncode == 0, err
    return {t for t in topics if not t.startswith("$")}  # $session, $ready/...: the wire's own


def test_with_a_config_the_gateway_takes_the_symbols_its_robots_trade(
    tmp_path: Path, sockets: Path, feed: tuple[str, zmq.Socket[bytes]]
) -> None:
    (tmp_path / "yard.toml").write_text(CONFIG, encoding="utf-8")
    (tmp_path / "gold_robot.py").write_text(GOLD_ROBOT, encoding="utf-8")

    topics = _subscriptions(["--config", "yard.toml"], cwd=tmp_path, sockets=sockets, feed=feed)

    assert topics == {"BR", "GOLD"}  # the robots' own, and a class's beside the config


def test_symbols_given_win_over_the_config(
    tmp_path: Path, sockets: Path, feed: tuple[str, zmq.Socket[bytes]]
) -> None:
    (tmp_path / "yard.toml").write_text(CONFIG, encoding="utf-8")
    (tmp_path / "gold_robot.py").write_text(GOLD_ROBOT, encoding="utf-8")
    args = ["--config", "yard.toml", "--symbols", "Si,BR"]

    topics = _subscriptions(args, cwd=tmp_path, sockets=sockets, feed=feed)

    assert topics == {"Si", "BR"}


def test_without_a_config_the_gateway_takes_the_demos_si_and_rts(
    tmp_path: Path, sockets: Path, feed: tuple[str, zmq.Socket[bytes]]
) -> None:
    topics = _subscriptions([], cwd=tmp_path, sockets=sockets, feed=feed)

    assert topics == {"Si", "RTS"}
