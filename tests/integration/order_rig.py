"""The rig of the order-recovery tests: a feed, a gateway played on raw sockets, ``yard gateway``.

Shared by tests/integration/test_reconcile.py (orders nobody answered) and
tests/integration/test_lost_cancel.py (cancels lost on the way): a quote
:class:`Feed` over tcp, a :class:`FakeGateway` whose three sockets the test
plays, a :class:`Gateway` that runs ``yard gateway`` as a process on fixed tcp
ports over a SQLite store, and :func:`rig_host`, a :class:`Host` wired to
them. Plain tcp (``allow_insecure_tcp``): these tests are about what is said,
not who may say it (tests/integration/test_security.py).

The fixtures are named apart from their functions (``context``, ``feed``,
``gateway``, ``real_gateway``); a test module imports those it uses (``# noqa:
F401``: pytest finds them by their names, the module never calls them). Each stops
what it started; every wait has a timeout.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import zmq

from gateways.feed import QuotePublisher
from yard_actors import Host, NewOrder, decode, encode
from yard_actors.net import Security, bind
from yard_actors.testing import quote, wait_until
from yard_actors.wire.frames import send
from yard_actors.wire.names import RECOVERY_REPLAY, RECOVERY_REPORTS

__all__ = [
    "INSECURE",
    "ROOT",
    "TS",
    "FakeGateway",
    "Feed",
    "Gateway",
    "context_fixture",
    "fake_gateway_fixture",
    "feed_fixture",
    "real_gateway_fixture",
    "rig_host",
    "unread_bytes",
    "yard",
]

TS = 1_700_000_000_000_000_000
ROOT = Path(__file__).parents[2]
INSECURE = Security(allow_insecure_tcp=True)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Feed:
    """A quote feed over tcp; ``publish`` sends the next quote of a steady market."""

    def __init__(self, context: zmq.Context[zmq.Socket[bytes]]) -> None:
        self.publisher = QuotePublisher(
            context, f"tcp://127.0.0.1:{_free_port()}", security=INSECURE
        )
        self.url = self.publisher.endpoint
        self.ts = TS

    def publish(self, bid: int = 90_000, ask: int = 90_001) -> None:
        self.ts += 1_000_000
        self.publisher.publish(quote("Si", bid, ask, ts=self.ts))


class FakeGateway:
    """The gateway's three sockets on tcp, played by the test: it reads, it never answers.

    Replays asked for are answered with no reports; ``resolve`` requests are kept.
    """

    def __init__(self, context: zmq.Context[zmq.Socket[bytes]]) -> None:
        self.context = context
        self.urls = {n: f"tcp://127.0.0.1:{_free_port()}" for n in ("orders", "trades", "recovery")}
        self.orders = self._bound(zmq.PULL, self.urls["orders"])
        self.trades = self._bound(zmq.PUB, self.urls["trades"])
        self.recovery = self._bound(zmq.ROUTER, self.urls["recovery"])

    def _bound(self, kind: int, url: str) -> zmq.Socket[bytes]:
        sock = self.context.socket(kind)
        sock.setsockopt(zmq.LINGER, 0)
        try:
            bind(sock, url, INSECURE)
        except zmq.ZMQError:
            sock.close()
            raise
        return sock

    def next_order(self, timeout: float = 5.0) -> NewOrder:
        assert self.orders.poll(int(timeout * 1000)), f"no command within {timeout} s"
        _, payload = self.orders.recv_multipart()
        order = decode(payload)
        assert isinstance(order, NewOrder)
        return order

    def next_resolve(self, timeout: float) -> list[bytes] | None:
        """The next ``resolve`` request within ``timeout`` s (without the identity), or None."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            if not self.recovery.poll(max(1, int(left * 1000))):
                return None
            identity, *frames = self.recovery.recv_multipart()
            if frames[0] == RECOVERY_REPLAY:
                self.recovery.send_multipart([identity, RECOVERY_REPORTS, frames[1]])
                continue
            return frames
        return None

    def report(self, report: Any) -> None:
        """Publish ``report`` (an order update with its robot) on ``trades``."""
        send(self.trades, report.robot.encode(), encode(report))

    def restart_orders(self) -> None:
        """Close the orders socket (the host's link drops) and bind it again (it comes back)."""
        self.orders.close()

        def bound_again() -> bool:
            try:
                self.orders = self._bound(zmq.PULL, self.urls["orders"])
            except zmq.ZMQError:
                return False
            return True

        wait_until(bound_again, what="the orders endpoint bound again")

    def close(self) -> None:
        for sock in (self.orders, self.trades, self.recovery):
            sock.close()


def yard(*args: str) -> subprocess.Popen[str]:
    """``yard ARGS...`` as a process from the repository, its stdout piped."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "yard_actors.app.cli", *args],
        cwd=ROOT,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
    )


class Gateway:
    """``yard gateway`` as a process on fixed tcp ports, with its SQLite store."""

    def __init__(self, store: Path, data: str) -> None:
        self.store = f"sqlite:///{store}"
        self.data = data
        self.urls = {n: f"tcp://127.0.0.1:{_free_port()}" for n in ("orders", "trades", "recovery")}
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> None:
        self.process = yard(
            "gateway",
            *("--store", self.store),
            *("--orders", self.urls["orders"]),
            *("--replies", self.urls["trades"]),
            *("--recovery", self.urls["recovery"]),
            *("--data", self.data),
            *("--symbols", "Si"),
            "--no-require-session",
            "--allow-insecure-tcp",
        )
        assert self.process.stdout is not None
        assert self.process.stdout.readline().startswith("yard gateway ready")

    def signal(self, number: int) -> None:
        assert self.process is not None
        self.process.send_signal(number)

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.communicate(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.send_signal(signal.SIGTERM)
            self.process.communicate(timeout=30)


def rig_host(
    feed: Feed, urls: dict[str, str], journal: Path, reply_timeout: float, **extra: Any
) -> Host:
    """A host on ``feed`` and the gateway at ``urls``, journaling under ``journal``."""
    return Host(
        data=feed.url,
        orders=urls["orders"],
        trades=urls["trades"],
        recovery=urls["recovery"],
        control="tcp://127.0.0.1:*",
        journal_dir=journal,
        reply_timeout=reply_timeout,
        security=INSECURE,
        **extra,
    )


def unread_bytes(port: int) -> int:
    """Bytes the kernel holds unread on established tcp connections to local ``port``."""
    unread = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, state, queues = fields[1], fields[3], fields[4]
        if int(local.split(":")[1], 16) == port and state == "01":
            unread += int(queues.split(":")[1], 16)
    return unread


@pytest.fixture(name="context")
def context_fixture() -> Iterator[zmq.Context[zmq.Socket[bytes]]]:
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    yield ctx
    ctx.term()


@pytest.fixture(name="feed")
def feed_fixture(context: zmq.Context[zmq.Socket[bytes]]) -> Iterator[Feed]:
    made = Feed(context)
    yield made
    made.publisher.close()


@pytest.fixture(name="gateway")
def fake_gateway_fixture(context: zmq.Context[zmq.Socket[bytes]]) -> Iterator[FakeGateway]:
    made = FakeGateway(context)
    yield made
    made.close()


@pytest.fixture(name="real_gateway")
def real_gateway_fixture(feed: Feed, tmp_path: Path) -> Iterator[Gateway]:
    made = Gateway(tmp_path / "orders.db", feed.url)
    made.start()
    yield made
    made.stop()
