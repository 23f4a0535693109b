"""A real ``yard gateway`` process and the peers that flood it, for the flood tests.

:class:`LocalGateway` is an :class:`OrderGateway` in the test's process, on
``ipc://`` endpoints over a SQLite file. :class:`GatewayProcess` runs ``yard
gateway`` with the paper exchange and a SQLite store on ``ipc://`` endpoints (a
socket file only its owner may open: no keys needed), logging to files, and
reads its memory (``VmRSS``) and its health line (SIGUSR1). :class:`OrderClient`
times an order's round trip as a host would see it: a NewOrder pushed on
``orders``, its acceptance read on ``trades``. :func:`fill_history` writes a
robot's long report history into the store before the gateway starts. Every
wait has a timeout.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import zmq

from gateways.order_gateway import OrderGateway
from gateways.paper import PaperConfig, PaperExchange
from gateways.store import OrderState, OrderStore, SQLiteOrderStore
from yard_actors.wire.codec import decode, encode
from yard_actors.wire.events import NewOrder, OrderAccepted, Side

__all__ = [
    "TS",
    "GatewayProcess",
    "LocalGateway",
    "OrderClient",
    "fill_history",
    "new_order",
    "read_replies",
    "silent_peer",
]

TS = 1_700_000_000_000_000_000
REPO = Path(__file__).resolve().parents[3]
_START_S = 30.0
_HEALTH = re.compile(r"yard gateway health: (.*)$")
_stamps = itertools.count(1)


def new_order(client_order_id: str, robot: str) -> NewOrder:
    """A resting buy of one lot (the paper exchange has no quote: it accepts and rests)."""
    return NewOrder(
        ts=TS + next(_stamps),
        client_order_id=client_order_id,
        robot=robot,
        symbol="Si",
        side=Side.BUY,
        qty=1,
        price=Decimal(100),
    )


def fill_history(path: Path, robot: str, count: int) -> str:
    """Store ``count`` reports of ``robot``; return the id of the order the first is about.

    That order is stored too (accepted), so a resolve naming it is answered
    with the whole history; the other reports name orders the store does not hold.
    """
    first = f"{robot}-0"
    with SQLiteOrderStore(path, checkpoint_interval_s=None) as store, store.batch():
        store.add_pending(new_order(first, robot))
        store.transition(first, OrderState.ACCEPTED, ts=TS, exchange_order_id="X0")
        for n in range(count):
            accepted = OrderAccepted(
                ts=TS + n, client_order_id=f"{robot}-{n}", robot=robot, exchange_order_id=f"X{n}"
            )
            store.add_report(robot, accepted)
    return first


def silent_peer(context: zmq.Context[zmq.Socket[bytes]], url: str) -> zmq.Socket[bytes]:
    """A DEALER on ``url`` that will never read: it takes one message, the kernel a few KB."""
    peer = context.socket(zmq.DEALER)
    peer.setsockopt(zmq.LINGER, 0)
    peer.setsockopt(zmq.RCVHWM, 1)
    peer.setsockopt(zmq.RCVBUF, 4096)
    peer.connect(url)
    return peer


def read_replies(peer: zmq.Socket[bytes], count: int, timeout: float = 30.0) -> list[list[bytes]]:
    """Recovery reply messages off ``peer`` until they hold ``count`` reports in all."""
    deadline = time.monotonic() + timeout
    replies: list[list[bytes]] = []
    while sum(len(reply) - 2 for reply in replies) < count:
        left = deadline - time.monotonic()
        got = sum(len(reply) - 2 for reply in replies)
        assert left > 0, f"{got} of {count} reports came in {len(replies)} replies"
        if peer.poll(int(left * 1000) + 1):
            replies.append(peer.recv_multipart())
    return replies


class LocalGateway:
    """An :class:`OrderGateway` in this process over the SQLite file ``store``, on ipc://.

    ``store_class`` opens the file (a subclass may break a call on purpose);
    ``options`` go to the gateway (``recovery_limits=...``). :meth:`close` stops it
    and closes its store; the caller's ``context`` is the caller's to end.
    """

    def __init__(
        self,
        context: zmq.Context[zmq.Socket[bytes]],
        store: Path,
        *,
        store_class: Callable[[Path], OrderStore] = SQLiteOrderStore,
        **options: Any,
    ) -> None:
        self._sockets = Path(tempfile.mkdtemp(prefix="yf-", dir="/tmp"))
        urls = {name: f"ipc://{self._sockets / name}" for name in ("orders", "trades", "recovery")}
        opened = store_class(store)
        try:
            self.gateway = OrderGateway(
                store=opened,
                exchange=PaperExchange(PaperConfig(require_session=False)),
                orders=urls["orders"],
                trades=urls["trades"],
                recovery=urls["recovery"],
                context=context,
                heartbeat_ms=50,
                **options,
            )
        except BaseException:
            opened.close()
            shutil.rmtree(self._sockets, ignore_errors=True)
            raise
        self.urls = self.gateway.endpoints

    def close(self) -> None:
        self.gateway.stop()
        self.gateway.store.close()
        shutil.rmtree(self._sockets, ignore_errors=True)


class GatewayProcess:
    """``yard -v gateway`` on ipc:// endpoints in a directory of its own; a context manager."""

    def __init__(self, store: Path, logs: Path) -> None:
        self._sockets = Path(tempfile.mkdtemp(prefix="yf-", dir="/tmp"))  # ipc paths are short
        self.urls = {
            name: f"ipc://{self._sockets / name}" for name in ("orders", "trades", "recovery")
        }
        self.stdout, self.stderr = logs / "gateway.out", logs / "gateway.err"
        command = [
            *(sys.executable, "-m", "yard_actors.app.cli", "-v", "gateway"),
            *("--store", f"sqlite:///{store}", "--no-require-session", "--health-every", "0"),
            *("--orders", self.urls["orders"], "--replies", self.urls["trades"]),
            *("--recovery", self.urls["recovery"]),
        ]
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        with self.stdout.open("wb") as out, self.stderr.open("wb") as err:
            self._process = subprocess.Popen(command, env=env, stdout=out, stderr=err)
        deadline = time.monotonic() + _START_S
        while "yard gateway ready" not in self.stdout.read_text():
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.close()
                msg = f"yard gateway did not start; its stderr:\n{self.stderr.read_text()[-3000:]}"
                raise RuntimeError(msg)
            time.sleep(0.05)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def rss_mb(self) -> float:
        """The process's resident memory now, in MB (``VmRSS`` of /proc/PID/status)."""
        status = Path(f"/proc/{self._process.pid}/status").read_text()
        kb = next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:"))
        return int(kb) / 1024

    def health(self, timeout: float = 10.0) -> dict[str, int]:
        """The counters of a health line asked for now (SIGUSR1)."""
        before = self.stderr.read_text().count("yard gateway health:")
        self._process.send_signal(signal.SIGUSR1)
        deadline = time.monotonic() + timeout
        while len(lines := self._health_lines()) <= before:
            assert time.monotonic() < deadline, "yard gateway logged no health line"
            time.sleep(0.05)
        pairs = (item.rsplit(" ", 1) for item in lines[-1].split(", "))
        return {name: int(value) for name, value in pairs}

    def _health_lines(self) -> list[str]:
        text = self.stderr.read_text(errors="replace")
        return [m.group(1) for line in text.splitlines() if (m := _HEALTH.search(line))]

    def log_lines(self) -> list[str]:
        return self.stderr.read_text(errors="replace").splitlines()

    def close(self) -> None:
        """SIGTERM, then SIGKILL if it has not ended within 10 s; remove the socket files."""
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(10)
        shutil.rmtree(self._sockets, ignore_errors=True)


class OrderClient:
    """A host's two order sockets: PUSH on ``orders``, SUB (its robot) on ``trades``."""

    def __init__(
        self, context: zmq.Context[zmq.Socket[bytes]], urls: dict[str, str], robot: str = "timer"
    ) -> None:
        self.robot = robot
        self.push = context.socket(zmq.PUSH)
        self.trades = context.socket(zmq.SUB)
        for socket in (self.push, self.trades):
            socket.setsockopt(zmq.LINGER, 0)
        self.trades.subscribe(robot.encode())
        self.trades.connect(urls["trades"])
        self.push.connect(urls["orders"])
        self._ids = itertools.count(1)

    def close(self) -> None:
        self.push.close()
        self.trades.close()

    def send(self, frames: list[bytes]) -> None:
        self.push.send_multipart(frames)

    def round_trip(self, timeout: float = 5.0) -> float | None:
        """Seconds from sending a new order to reading its acceptance; None if none came."""
        order = new_order(f"{self.robot}-{next(self._ids)}", self.robot)
        start = time.perf_counter()
        self.push.send_multipart([self.robot.encode(), encode(order)])
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            if not self.trades.poll(int(left * 1000) + 1):
                break
            _, payload = self.trades.recv_multipart()
            report = decode(payload)
            if getattr(report, "client_order_id", None) == order.client_order_id:
                return time.perf_counter() - start
        return None

    def warm_up(self, timeout: float = 20.0) -> None:
        """Until an order's acceptance arrives (the SUB hears nothing before it connects)."""
        deadline = time.monotonic() + timeout
        while self.round_trip(0.5) is None:
            assert time.monotonic() < deadline, "no order came back from the gateway"
