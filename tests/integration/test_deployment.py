"""One config, four processes: a feed, a gateway and two hosts over tcp on loopback.

Keyed as README's deployment is: ``yard keys`` makes a key pair for each process, the
config's ``[security]`` names the hosts' trust, ``--secret-key`` each one's own key.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from gateways.store import open_store
from yard_actors.testing import wait_until

pytestmark = pytest.mark.usefixtures("each_runtime")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


CONFIG = """
store = "sqlite:///{store}"
[endpoints]
data = "tcp://127.0.0.1:{data}"
orders = "tcp://127.0.0.1:{orders}"
trades = "tcp://127.0.0.1:{trades}"
recovery = "tcp://127.0.0.1:{recovery}"
control = "tcp://127.0.0.1:*"

[security]
secret_key = "keys/host-a.key_secret"
public_keys = "keys"

[[robots]]
class = "tests.integration.order_robots:Taker"
name = "alpha"
symbols = ["Si"]
params = {{ target = 3 }}

[[robots]]
class = "tests.integration.order_robots:Taker"
name = "beta"
symbols = ["Si"]
params = {{ target = 3 }}
"""


def _yard(*args: str, cwd: Path) -> subprocess.Popen[str]:
    # The robots live in this repository's tests package: put it on the path.
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
    return subprocess.Popen(
        [sys.executable, "-m", "yard_actors.app.cli", *args],
        cwd=cwd,
        text=True,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def test_feed_gateway_and_two_hosts_in_their_own_processes_trade(tmp_path: Path) -> None:
    ports = {name: _free_port() for name in ("data", "orders", "trades", "recovery")}
    store = tmp_path / "yard.db"
    (tmp_path / "yard.toml").write_text(CONFIG.format(store=store, **ports), encoding="utf-8")
    url = {name: f"tcp://127.0.0.1:{port}" for name, port in ports.items()}
    names = ("feed", "gateway", "host-a", "host-b")
    made = _yard("keys", "keys", *(arg for name in names for arg in ("--name", name)), cwd=tmp_path)
    assert made.communicate(timeout=60)[1] == ""
    assert made.returncode == 0
    keyed = {name: ["--secret-key", f"keys/{name}.key_secret"] for name in names}
    trusting = ["--public-keys", "keys"]
    processes = {
        "gateway": _yard(
            "gateway",
            "--store",
            f"sqlite:///{store}",
            "--orders",
            url["orders"],
            "--replies",
            url["trades"],
            "--recovery",
            url["recovery"],
            "--data",
            url["data"],
            "--symbols",
            "Si",
            *keyed["gateway"],
            *trusting,
            cwd=tmp_path,
        ),
    }
    try:
        assert processes["gateway"].stdout is not None
        assert processes["gateway"].stdout.readline().startswith("yard gateway ready")
        for name, key in (("alpha", "host-a"), ("beta", "host-b")):
            host = _yard(
                "run",
                "yard.toml",
                "--role",
                "host",
                "--robots",
                name,
                "--journal-dir",
                str(tmp_path / f"journal-{name}"),
                *keyed[key],
                cwd=tmp_path,
            )
            processes[name] = host
            assert host.stdout is not None
            assert host.stdout.readline().strip() == f"yard host ready: {name}"
        processes["feed"] = _yard(
            "feed",
            "--bind",
            url["data"],
            "--wait-for",
            "3",
            *keyed["feed"],
            *trusting,
            cwd=tmp_path,
        )
        with open_store(f"sqlite:///{store}") as reader:
            wait_until(
                lambda: all(len(reader.trades(robot=n)) >= 3 for n in ("alpha", "beta")),
                timeout=60,
                what="three fills for each robot",
            )
            trades = {n: reader.trades(robot=n) for n in ("alpha", "beta")}
    finally:
        outputs = {}
        for name, process in processes.items():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
            outputs[name] = process.communicate(timeout=60)[0]

    for name in ("alpha", "beta"):
        assert {t.fill.client_order_id.split("-")[0] for t in trades[name]} == {name}
        table = outputs[name]
        assert f"{name}" in table
        assert re.search(r"Si:\+?3\b", table), table
        other = "beta" if name == "alpha" else "alpha"
        assert other not in table  # each host hosts, and hears of, its own robot only
    assert processes["gateway"].returncode == 0
