"""Remote control: ``yard ctl`` and ``yard_actors.ctl`` against a host's control endpoint.

Over tcp the host is another process (``yard run --role host``) keyed as a deployment
is (``yard keys``), trading through a keyed feed and paper gateway in this process;
each ``yard ctl`` is a process of its own. A client without keys, or with a key the
host does not trust, is refused, counted, and the host serves on. Over ipc the host
runs here and the importable client drives every call, malformed requests included.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import zmq

from gateways.feed import QuotePublisher
from gateways.order_gateway import OrderGateway
from gateways.paper import PaperConfig, PaperExchange
from gateways.store import OrderStore, open_store
from tests.integration.crash.processes import REPO, YardProcess, free_port
from yard_actors import Robot, RobotError
from yard_actors.ctl import Client, connect
from yard_actors.errors import GatewayError, YardError
from yard_actors.host.control_server import ControlServer
from yard_actors.host.table import RobotTable
from yard_actors.journal.reader import read_robot
from yard_actors.net import GATEWAY, LOCAL_ONLY, Security
from yard_actors.testing import quote, wait_until
from yard_actors.testing.live import LiveHost, live_host
from yard_actors.wire.codec import decode
from yard_actors.wire.control_protocol import decode_reply, encode_request
from yard_actors.wire.events import Control

TS = 1_700_000_000_000_000_000
ANY = "tcp://127.0.0.1:*"
CALL_S = 120  # the most a `yard ctl` process may take, start-up included, on a loaded machine
ROBOTS = """
[[robots]]
class = "robots.market_maker:MarketMaker"
name = "mm-si"
symbols = ["Si"]
params = { half_spread_ticks = 3, max_position = 5 }

[[robots]]
class = "robots.market_maker:MarketMaker"
name = "mm-2"
symbols = ["Si"]
params = { half_spread_ticks = 5, max_position = 5 }
"""


def _yard(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "yard_actors.app.cli", *args],
        capture_output=True,
        text=True,
        timeout=CALL_S,
        check=False,
        env=env,
    )


class Deployment:
    """Keys made by ``yard keys``; a keyed feed and paper gateway here; a host process."""

    def __init__(self, root: Path) -> None:
        self.keys, self.rogue = root / "keys", root / "rogue"
        made = _yard("keys", str(self.keys), *_names("feed", GATEWAY, "host", "controller"))
        assert made.returncode == 0, made.stderr
        made = _yard("keys", str(self.rogue), "--name", "controller")  # same name, other key
        assert made.returncode == 0, made.stderr
        (self.rogue / "host.key").write_bytes((self.keys / "host.key").read_bytes())
        self.contexts = [zmq.Context(), zmq.Context()]
        self.feed = QuotePublisher(
            self.contexts[0], ANY, security=Security.from_keys(self.keys, "feed")
        )
        store = f"sqlite:///{root}/orders.db"
        self.store = open_store(store)
        self.gateway = OrderGateway(
            store=self.store,
            exchange=PaperExchange(PaperConfig(require_session=False)),
            orders=ANY,
            trades=ANY,
            recovery=ANY,
            data=self.feed.endpoint,
            symbols=["Si"],
            context=self.contexts[1],
            heartbeat_ms=100,
            security=Security.from_keys(self.keys, GATEWAY),
        )
        self.reader: OrderStore = open_store(store)
        self.journal = root / "journal"
        self.control = f"tcp://127.0.0.1:{free_port()}"
        config = root / "yard.toml"
        config.write_text(self._config(root, store), encoding="utf-8")
        logs = root / "logs"
        logs.mkdir()
        command = [sys.executable, "-m", "yard_actors.app.cli", "run", str(config)]
        self.host = YardProcess("host", [*command, "--role", "host"], logs, ready="yard host")
        self.ts = TS

    def _config(self, root: Path, store: str) -> str:
        endpoints = {"data": self.feed.endpoint, **self.gateway.endpoints}
        return (
            f'store = "{store}"\njournal_dir = "{self.journal}"\n[endpoints]\n'
            + "".join(f'{name} = "{endpoints[name]}"\n' for name in ("data", "orders"))
            + "".join(f'{name} = "{endpoints[name]}"\n' for name in ("trades", "recovery"))
            + f'control = "{self.control}"\n[security]\n'
            + f'secret_key = "{self.keys / "host.key_secret"}"\npublic_keys = "{self.keys}"\n'
            + ROBOTS
        )

    def ctl(self, *args: str, keys: Path | None = None) -> subprocess.CompletedProcess[str]:
        """``yard ctl`` as the controller (or with the controller key of ``keys``)."""
        keyed = ("--keys", str(keys or self.keys), "--key", "controller")
        return _yard("ctl", "--endpoint", self.control, *keyed, "--timeout", "10", *args)

    def quote_until(self, condition: Any, timeout: float = 30.0) -> None:
        def publish_and_check() -> bool:
            self.ts += 1_000_000
            self.feed.publish(quote("Si", 90_000, 90_001, bid_size=10, ask_size=10, ts=self.ts))
            return bool(condition())

        wait_until(publish_and_check, timeout=timeout, what="the market's answer")

    def close(self) -> None:
        self.host.kill(count=False)
        self.gateway.stop()
        self.feed.close()
        self.reader.close()
        self.store.close()
        for context in self.contexts:
            context.term()


def _names(*names: str) -> list[str]:
    return [flag for name in names for flag in ("--name", name)]


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[Deployment]:
    made = Deployment(tmp_path)
    try:
        made.host.start()
        made.feed.wait_for_subscribers(["Si"], count=2)  # the host and the gateway
        yield made
    finally:
        made.close()


def test_yard_ctl_shows_pauses_sets_params_and_halts_a_host_in_another_process(
    deployment: Deployment,
) -> None:
    def both_quoting() -> bool:
        return {o.robot for o in deployment.reader.open_orders()} == {"mm-si", "mm-2"}

    deployment.quote_until(both_quoting)

    status = deployment.ctl("status")
    paused = deployment.ctl("pause", "mm-si")
    snapshot = deployment.ctl("snapshot", "mm-si")
    params = deployment.ctl("params", "mm-si", "max_position=3", "tick_size=0.5")
    unknown = deployment.ctl("pause", "nobody")
    halted = deployment.ctl("halt")
    deployment.quote_until(lambda: not deployment.reader.open_orders())
    after = deployment.ctl("status")
    stopped = deployment.host.stop()  # SIGTERM: the journal is closed whole
    journaled = [
        (event.action.value, event.sender)
        for entry in read_robot(deployment.journal, "mm-si").entries
        if entry.kind == "event" and isinstance(event := decode(entry.payload), Control)
    ]

    assert status.returncode == 0, status.stderr
    assert "mm-si" in status.stdout
    assert "mm-2" in status.stdout
    assert paused.returncode == 0, paused.stderr
    assert paused.stdout.startswith("mm-si paused")
    assert json.loads(snapshot.stdout)["status"] == "paused"
    assert params.returncode == 0, params.stderr
    assert '"max_position": 3' in params.stdout
    assert '"tick_size": "0.5"' in params.stdout
    assert unknown.returncode == 1
    assert unknown.stdout == ""
    assert "no robot named 'nobody' on this host (robots: mm-2, mm-si)" in unknown.stderr
    assert halted.returncode == 0, halted.stderr
    assert after.returncode == 0, after.stderr
    assert after.stdout.count("halted") + after.stdout.count("paused") >= 2
    assert stopped is None  # the host ran until told to stop, and stopped cleanly
    assert journaled == [
        ("pause", "controller"),  # each with the name of the key that sent it
        ("set_params", "controller"),
        ("halt", "controller"),
    ]


def test_clients_without_keys_or_with_a_wrong_key_are_refused_counted_and_the_host_serves_on(
    deployment: Deployment,
) -> None:
    outsider: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    plain = outsider.socket(zmq.DEALER)  # plain ZeroMQ: no keys at all
    plain.setsockopt(zmq.LINGER, 0)
    try:
        plain.connect(deployment.control)
        plain.send(encode_request(1, "halt", {}))
        answered = plain.poll(1000)
    finally:
        plain.close()
        outsider.term()
    wrong = deployment.ctl("halt", keys=deployment.rogue)
    stats = deployment.ctl("stats")
    status = deployment.ctl("status")

    assert not answered
    assert wrong.returncode == 1
    assert "refused this client: it does not trust this client's key" in wrong.stderr
    assert deployment.control in wrong.stderr
    assert stats.returncode == 0, stats.stderr
    counted = json.loads(stats.stdout)
    assert counted["refused"].get("unknown_key", 0) >= 1  # the wrong key
    without_keys = counted["refused"].get("no_keys", 0) + counted["refused"].get("bad_handshake", 0)
    assert without_keys >= 1
    assert counted["received"] == 1  # the stats call: neither refused peer got a request in
    assert status.returncode == 0, status.stderr
    assert "running" in status.stdout
    assert "halted" not in status.stdout
    assert deployment.host.running


def test_yard_ctl_without_keys_for_tcp_is_a_usage_error_that_says_how_to_make_them() -> None:
    result = _yard("ctl", "--endpoint", "tcp://127.0.0.1:1", "status")

    assert result.returncode == 2
    assert "without CURVE keys" in result.stderr
    assert "yard keys" in result.stderr


# --- the importable client, over ipc --------------------------------------------------------


@pytest.fixture
def ipc_host(tmp_path: Path) -> Iterator[LiveHost]:
    # ipc:// paths are capped near 100 bytes: a short directory of its own, not tmp_path.
    with (
        tempfile.TemporaryDirectory(prefix="yard-ctl-") as sockets,
        live_host(tmp_path / "journal", transport="ipc", ipc_dir=Path(sockets)) as live,
    ):
        live.add_robot("robots.market_maker:MarketMaker", name="mm-si", symbols=["Si"])
        live.add_robot("robots.trend:TrendFollower", name="trend-si", symbols=["Si"])
        yield live


@pytest.fixture
def client(ipc_host: LiveHost) -> Iterator[Client]:
    with connect(ipc_host.host.endpoints["control"], timeout=10) as made:
        yield made


def test_the_client_makes_every_call_of_the_host_over_ipc(
    ipc_host: LiveHost, client: Client
) -> None:
    table = client.robots()
    paused = client.pause("mm-si")
    status = client.snapshot("mm-si")["status"]
    resumed = client.resume("mm-si")
    params = client.set_params("mm-si", max_position=2)
    failure = client.failure("mm-si")
    added = client.add_robot(
        "robots.market_maker:MarketMaker", name="mm-3", symbols=["Si"], params={"qty": 1}
    )
    names = [row["name"] for row in client.robots()]
    removed = client.remove_robot("mm-3")
    halted = client.halt()

    assert isinstance(table, RobotTable)
    assert [row["name"] for row in table] == ["mm-si", "trend-si"]
    assert set(table[0]) == set(ipc_host.host.robots()[0])  # the same columns as the host's
    assert "mm-si" in str(table)
    assert paused.startswith("mm-si paused")
    assert status == "paused"
    assert resumed.startswith("mm-si resumed")
    assert params["max_position"] == 2
    assert failure is None
    assert added == "mm-3"
    assert names == ["mm-si", "trend-si", "mm-3"]
    assert removed == []
    assert halted.robots == 2
    assert str(halted)
    assert [row["name"] for row in ipc_host.host.robots()] == ["mm-si", "trend-si"]


def test_an_unknown_robot_raises_the_hosts_error_class_with_its_message(
    ipc_host: LiveHost, client: Client
) -> None:
    with pytest.raises(RobotError) as local:
        ipc_host.host.snapshot("nobody")
    with pytest.raises(RobotError) as remote:
        client.snapshot("nobody")

    assert str(remote.value) == str(local.value)
    assert str(remote.value) == "no robot named 'nobody' on this host (robots: mm-si, trend-si)"


def test_the_control_socket_file_is_its_owners_only(ipc_host: LiveHost) -> None:
    path = Path(ipc_host.host.endpoints["control"].removeprefix("ipc://"))

    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_malformed_requests_are_answered_counted_and_the_endpoint_serves_on(
    ipc_host: LiveHost, client: Client
) -> None:
    context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    raw = context.socket(zmq.DEALER)
    raw.setsockopt(zmq.LINGER, 0)
    raw.connect(ipc_host.host.endpoints["control"])
    answers = []
    try:
        for frames in (
            [b"\xff\xfe"],
            [b'{"v":1,"id":5,"call":"explode","args":{}}'],
            [b'{"v":2,"id":6,"call":"robots"}'],
            [b'{"v":1,"id":7,"call":"pause","args":{}}'],
            [b"one", b"frame too many"],
        ):
            raw.send_multipart(frames)
            assert raw.poll(10_000), f"no answer to {frames!r}"
            answers.append(decode_reply(raw.recv()))
    finally:
        raw.close()
        context.term()
    table = client.robots()
    dropped = ipc_host.host.intake_stats()["control"].dropped

    assert [(a.ok, a.id, a.kind) for a in answers] == [
        (False, None, "DecodeError"),
        (False, 5, "DecodeError"),
        (False, 6, "DecodeError"),
        (False, 7, "DecodeError"),
        (False, None, "DecodeError"),
    ]
    assert "unknown call 'explode'" in answers[1].error
    assert "pause: argument 'name' is missing" in answers[3].error
    assert dropped == {
        "not_json": 1,
        "unknown_call": 1,
        "bad_version": 1,
        "bad_args": 1,
        "bad_frames": 1,
    }
    assert len(table) == 2


class Hoarder(Robot):
    """A robot whose snapshot is about 1 MB: larger than a yard socket's default frame."""

    symbols = ("Si",)

    def on_start(self) -> None:
        self.notes = [f"{n:09d}" * 10 for n in range(10_000)]


def test_a_reply_larger_than_a_sockets_default_frame_limit_arrives_whole(
    ipc_host: LiveHost, client: Client
) -> None:
    ipc_host.add_robot(Hoarder, name="hoarder")

    snapshot = client.snapshot("hoarder")

    assert len(json.dumps(snapshot)) > Security().max_message_size
    assert snapshot["state"]["notes"][-1] == "000009999" * 10


def test_a_host_that_does_not_answer_is_an_error_naming_its_url_within_the_timeout() -> None:
    with tempfile.TemporaryDirectory(prefix="yard-ctl-") as directory:
        url = f"ipc://{directory}/nobody"
        with connect(url, timeout=0.5) as silent, pytest.raises(GatewayError) as raised:
            silent.robots()

    assert str(raised.value).startswith(f"no answer from the host at {url} to robots within 0.5 s")


class BuggyHost:
    """Stands in for a Host whose ``robots()`` has a bug; its ``snapshot`` works."""

    def robots(self) -> list[dict[str, Any]]:
        return [{"name": "a", "ratio": 1 / 0}]

    def snapshot(self, name: str) -> dict[str, Any]:
        return {"name": name}


def test_a_call_that_fails_on_a_bug_is_answered_logged_and_the_endpoint_serves_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    server = ControlServer(BuggyHost(), "inproc://ctl-bug", context=context, security=LOCAL_ONLY)
    try:
        with connect(server.url, context=context) as buggy:
            with pytest.raises(YardError) as raised:
                buggy.robots()
            after = buggy.snapshot("a")
    finally:
        server.stop()
        context.term()

    assert type(raised.value) is YardError
    assert str(raised.value) == "robots failed on the host: ZeroDivisionError: division by zero"
    assert "ZeroDivisionError" in caplog.text  # the whole traceback, on the host's side
    assert after == {"name": "a"}
    assert server.stats().failed == 1
