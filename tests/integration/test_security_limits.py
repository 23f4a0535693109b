"""A frame over the size limit costs the gateway nothing: ZeroMQ cuts its sender off.

``yard gateway`` runs as a process of its own, keyed, so its memory is its own to read
(``/proc/PID/status``). A trusted peer sends one 64 MB frame on ``orders``: ZeroMQ reads
its length, sees it over ``--max-message-size`` and drops the connection before reading
the body, so the gateway's peak memory barely moves; another host's order still gets
its answer.
"""

from __future__ import annotations

import re
import signal
import socket
import struct
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import zmq

from yard_actors import (
    CancelReply,
    Fill,
    NewOrder,
    OrderAccepted,
    OrderRejected,
    Side,
    decode,
    encode,
)
from yard_actors.net import GATEWAY, Security, connect, make_keys
from yard_actors.wire.frames import send
from yard_actors.wire.names import RECOVERY_REGISTER, RECOVERY_REGISTERED

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc (Linux)"),
]

Context = zmq.Context[zmq.Socket[bytes]]
ROOT = Path(__file__).parents[2]
LIMIT = 256 * 1024
HUGE = 64 * 1024 * 1024
GROWTH_BOUND = 16 * 1024 * 1024  # a quarter of the frame: the body was never read


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _peak_kb(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    assert match is not None, status
    return int(match.group(1))


@pytest.fixture
def keys(tmp_path: Path) -> Path:
    make_keys(tmp_path / "keys", [GATEWAY, "host-a", "host-b"])
    return tmp_path / "keys"


@pytest.fixture
def gateway(keys: Path, tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], dict[str, str]]]:
    urls = {name: f"tcp://127.0.0.1:{_free_port()}" for name in ("orders", "trades", "recovery")}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "yard_actors.app.cli",
            *("gateway", "--store", f"sqlite:///{tmp_path / 'yard.db'}"),
            *("--orders", urls["orders"], "--replies", urls["trades"]),
            *("--recovery", urls["recovery"]),  # where a keyed host registers its robots
            *("--symbols", "Si", "--no-require-session"),
            *("--secret-key", str(keys / "gateway.key_secret"), "--public-keys", str(keys)),
            *("--max-message-size", str(LIMIT)),
        ],
        cwd=ROOT,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().startswith("yard gateway ready"), process.stderr
        yield process, urls
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)


@pytest.fixture
def context() -> Iterator[Context]:
    context: Context = zmq.Context()
    yield context
    context.term()


def _socket(context: Context, kind: int, url: str, keys: Path, name: str) -> zmq.Socket[bytes]:
    made = context.socket(kind)
    made.setsockopt(zmq.LINGER, 0)
    connect(made, url, Security.from_keys(keys, name), server=GATEWAY)
    return made


def test_an_oversized_frame_cuts_its_sender_off_and_the_gateway_keeps_serving(
    gateway: tuple[subprocess.Popen[str], dict[str, str]], context: Context, keys: Path
) -> None:
    process, urls = gateway
    flooder = _socket(context, zmq.PUSH, urls["orders"], keys, "host-a")
    flooder.monitor("inproc://flooder", zmq.EVENT_CONNECTED | zmq.EVENT_DISCONNECTED)
    events = context.socket(zmq.PAIR)
    events.connect("inproc://flooder")
    pusher = _socket(context, zmq.PUSH, urls["orders"], keys, "host-b")
    reports = _socket(context, zmq.SUB, urls["trades"], keys, "host-b")
    registrar = _socket(context, zmq.DEALER, urls["recovery"], keys, "host-b")
    try:
        registrar.send_multipart([RECOVERY_REGISTER, b"beta"])  # beta is host-b's robot
        assert registrar.poll(10_000), "the gateway did not answer the registration"
        assert registrar.recv_multipart() == [RECOVERY_REGISTERED, b"host-b", b"beta", b""]
        reports.subscribe(b"beta")
        before = _peak_kb(process.pid)
        flooder.send(b"x" * HUGE)  # one frame, as a host would send a command
        seen: list[int] = []
        while zmq.EVENT_DISCONNECTED not in seen:
            assert events.poll(10_000), f"the gateway did not cut the sender off ({seen})"
            seen.append(struct.unpack("=HI", events.recv_multipart()[0][:6])[0])
        order = NewOrder(
            ts=1,
            client_order_id="beta-1",
            robot="beta",
            symbol="Si",
            side=Side.BUY,
            qty=1,
            price=Decimal(90_000),
        )
        # The SUB may join after the first answer (ZeroMQ's slow joiner): the order is
        # sent again under the same id until an answer comes; the store keeps one.
        answer = None
        for _ in range(50):
            send(pusher, b"beta", encode(order))
            if reports.poll(200):
                _, payload = reports.recv_multipart()
                answer = decode(payload)
                break
        after = _peak_kb(process.pid)
    finally:
        for made in (flooder, events, pusher, reports, registrar):
            made.close()

    assert answer is not None
    assert isinstance(answer, OrderAccepted | OrderRejected | CancelReply | Fill), answer
    assert answer.client_order_id == "beta-1"
    assert (after - before) * 1024 < GROWTH_BOUND, f"peak {before} kB -> {after} kB"
    assert process.poll() is None
