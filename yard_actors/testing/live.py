"""The live kit: a real host with real actors and sockets, a test feed and a test gateway.

Over ``tcp://`` the kit makes a throwaway set of CURVE keys (``feed``, ``gateway``,
``host``, ``controller``) and gives each part its own, as a deployment does. The
controller is a :class:`yard_actors.ctl.Client` on the host's control endpoint.
"""

from __future__ import annotations

import itertools
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pykka
import zmq

from yard_actors import net
from yard_actors.ctl import Client
from yard_actors.host.host import Host
from yard_actors.net import FEED, GATEWAY, LOCAL_ONLY, Security
from yard_actors.robot.robot import Robot
from yard_actors.wire.codec import decode, encode
from yard_actors.wire.events import (
    CancelOrder,
    CancelReply,
    Command,
    Control,
    Fill,
    MarketEvent,
    NewOrder,
    OrderAccepted,
    OrderRejected,
    SessionStatus,
)
from yard_actors.wire.names import SESSION_TOPIC, SYSTEM_TOPIC

_bench_ids = itertools.count(1)


def _wait_for_subscription(
    xpub: zmq.Socket[bytes],
    seen: set[bytes],
    topic: bytes,
    timeout: float,
    *,
    present: bool = True,
) -> None:
    def note(frame: bytes) -> None:
        if frame[:1] == b"\x01":
            seen.add(frame[1:])
        elif frame[:1] == b"\x00":
            seen.discard(frame[1:])

    while xpub.poll(0):  # first what is already queued: an unsubscribe may be waiting
        note(xpub.recv())
    deadline = time.monotonic() + timeout
    while (topic in seen) is not present:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not xpub.poll(int(remaining * 1000)):
            state = "no subscriber" if present else "still a subscriber"
            msg = f"{state} for topic {topic!r} after {timeout} s"
            raise TimeoutError(msg)
        note(xpub.recv())


class TestFeed:
    """A market-data publisher bound on the data endpoint (XPUB, so it sees subscriptions)."""

    __test__ = False  # not a pytest test class

    def __init__(
        self, context: zmq.Context[zmq.Socket[bytes]], url: str, security: Security = LOCAL_ONLY
    ) -> None:
        self._socket = context.socket(zmq.XPUB)
        self._socket.setsockopt(zmq.LINGER, 0)
        self._socket.setsockopt(zmq.SNDHWM, 1_000_000)
        try:
            self.endpoint = net.bind(self._socket, url, security)
        except BaseException:
            self._socket.close()
            raise
        self._seen: set[bytes] = set()

    def wait_for(self, topic: str, timeout: float = 5.0) -> None:
        _wait_for_subscription(self._socket, self._seen, topic.encode(), timeout)

    def wait_gone(self, topic: str, timeout: float = 5.0) -> None:
        """Block until nobody subscribes to ``topic`` any more (after removing its robots)."""
        _wait_for_subscription(self._socket, self._seen, topic.encode(), timeout, present=False)

    def publish(self, event: MarketEvent | SessionStatus) -> None:
        topic = SESSION_TOPIC if isinstance(event, SessionStatus) else event.symbol
        self.send_raw(topic.encode(), encode(event))

    def send_raw(self, *frames: bytes) -> None:
        self._socket.send_multipart(frames)

    def close(self) -> None:
        self._socket.close()


class TestGateway:
    """The gateway's two sockets: orders in (PULL) and replies out (XPUB), driven by the test."""

    __test__ = False

    def __init__(
        self,
        context: zmq.Context[zmq.Socket[bytes]],
        orders: str,
        trades: str,
        security: Security = LOCAL_ONLY,
    ) -> None:
        self._orders = context.socket(zmq.PULL)
        self._orders.setsockopt(zmq.LINGER, 0)
        self._trades = context.socket(zmq.XPUB)
        self._trades.setsockopt(zmq.LINGER, 0)
        try:
            self.orders_endpoint = net.bind(self._orders, orders, security)
            self.trades_endpoint = net.bind(self._trades, trades, security)
        except BaseException:
            self.close()
            raise
        self._seen: set[bytes] = set()

    def wait_for(self, robot: str, timeout: float = 5.0) -> None:
        _wait_for_subscription(self._trades, self._seen, robot.encode(), timeout)

    def next_command(self, timeout: float = 5.0) -> Command:
        if not self._orders.poll(int(timeout * 1000)):
            msg = f"no command reached the gateway within {timeout} s"
            raise TimeoutError(msg)
        topic, payload = self._orders.recv_multipart()
        command = decode(payload)
        if not isinstance(command, NewOrder | CancelOrder) or command.robot != topic.decode():
            msg = f"the gateway got {command!r} under topic {topic!r}, not a robot's command"
            raise AssertionError(msg)
        return command

    def commands(self, count: int, timeout: float = 5.0) -> list[Command]:
        return [self.next_command(timeout) for _ in range(count)]

    def has_command(self, timeout: float = 0.05) -> bool:
        return bool(self._orders.poll(int(timeout * 1000)))

    def reply(self, event: OrderAccepted | OrderRejected | CancelReply | Fill) -> None:
        self.send_raw(event.robot.encode(), encode(event))

    def send_raw(self, *frames: bytes) -> None:
        self._trades.send_multipart(frames)

    def close(self) -> None:
        self._orders.close()
        self._trades.close()


class LiveHost:
    """A real host with a test feed, a test gateway and a controller, all over inproc.

    ``ctl``: a client of the host's control endpoint, as ``yard ctl`` uses one.
    """

    def __init__(
        self,
        host: Host,
        feed: TestFeed,
        gateway: TestGateway,
        ctl: Client,
        controller: zmq.Socket[bytes],
    ) -> None:
        self.host = host
        self.feed = feed
        self.gateway = gateway
        self.ctl = ctl
        self._controller = controller

    def add_robot(
        self,
        robot_class: type[Robot] | str,
        *,
        name: str,
        symbols: Sequence[str] | None = None,
        params: Any = None,
        restore: bool = True,
    ) -> pykka.ActorRef[Any]:
        """Add a robot and wait until its data and trades subscriptions are live."""
        ref = self.host.add_robot(
            robot_class, name=name, symbols=symbols, params=params, restore=restore
        )
        symbols_now = self.host.snapshot(name)["symbols"]
        for symbol in symbols_now:
            self.feed.wait_for(symbol)
        self.feed.wait_for(SESSION_TOPIC)
        self.feed.wait_for(SYSTEM_TOPIC)
        self.gateway.wait_for(name)
        return ref

    def publish(self, event: MarketEvent | SessionStatus) -> None:
        self.feed.publish(event)

    def reply(self, event: OrderAccepted | OrderRejected | CancelReply | Fill) -> None:
        self.gateway.reply(event)

    def control(self, event: Control) -> None:
        """Have the host obey ``event`` (journaled, at its ``ts``), as :meth:`Host.control`."""
        self.host.control(event.robot, event.action, event.params, ts=event.ts)

    def send_control_raw(self, *frames: bytes) -> None:
        """Send frames as they are to the control endpoint (a DEALER's; its answer is dropped)."""
        self._controller.send_multipart(frames)

    def next_command(self, timeout: float = 5.0) -> Command:
        return self.gateway.next_command(timeout)

    def wait_idle(self, timeout: float = 5.0) -> None:
        self.host.wait_idle(timeout)

    def snapshot(self, name: str) -> dict[str, Any]:
        return self.host.snapshot(name)


def _urls(transport: str, bench: int, ipc_dir: Path | None) -> dict[str, str]:
    kinds = ("data", "orders", "trades", "control")
    if transport == "inproc":
        return {kind: f"inproc://yard-test-{bench}-{kind}" for kind in kinds}
    if transport == "ipc":
        if ipc_dir is None:
            msg = "transport 'ipc' needs ipc_dir, a directory for the socket files"
            raise ValueError(msg)
        return {kind: f"ipc://{ipc_dir}/yard-{bench}-{kind}" for kind in kinds}
    if transport == "tcp":
        return {kind: "tcp://127.0.0.1:*" for kind in kinds}
    msg = f"transport must be inproc, ipc or tcp, was {transport!r}"
    raise ValueError(msg)


_KEY_NAMES = (FEED, GATEWAY, "host", "controller")


@contextmanager
def _keyring(transport: str) -> Iterator[dict[str, Security]]:
    """Each part's :class:`Security`: over tcp, throwaway keys in a directory removed after."""
    if transport != "tcp":
        yield dict.fromkeys(_KEY_NAMES, LOCAL_ONLY)
        return
    with tempfile.TemporaryDirectory(prefix="yard-test-keys-") as directory:
        net.make_keys(Path(directory), _KEY_NAMES)
        yield {name: Security.from_keys(directory, name) for name in _KEY_NAMES}


@contextmanager
def live_host(
    journal_dir: str | Path | None,
    *,
    transport: str = "inproc",
    ipc_dir: Path | None = None,
    **host_kwargs: Any,
) -> Iterator[LiveHost]:
    """Start a host wired to a test feed and gateway; stop it all on exit.

    ``transport`` picks ``inproc`` (default), ``ipc`` (sockets in ``ipc_dir``) or
    ``tcp`` (free ports on 127.0.0.1, each part with CURVE keys of its own, made for
    the occasion): the host code is the same for all three.
    """
    urls = _urls(transport, next(_bench_ids), ipc_dir)
    with _keyring(transport) as security:  # removed after the context's end
        context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
        sockets: list[Any] = []
        host: Host | None = None
        try:
            feed = TestFeed(context, urls["data"], security[FEED])
            sockets.append(feed)
            gateway = TestGateway(context, urls["orders"], urls["trades"], security[GATEWAY])
            sockets.append(gateway)
            host = Host(
                data=feed.endpoint,
                orders=gateway.orders_endpoint,
                trades=gateway.trades_endpoint,
                control=urls["control"],
                context=context,
                journal_dir=journal_dir,
                security=security["host"],
                **host_kwargs,
            )
            control = host.endpoints["control"]
            ctl = Client(control, keys=security["controller"], context=context)
            sockets.append(ctl)
            controller = context.socket(zmq.DEALER)
            controller.setsockopt(zmq.LINGER, 0)
            sockets.append(controller)
            net.connect(controller, control, security["controller"], server="host")
            yield LiveHost(host, feed, gateway, ctl, controller)
        finally:
            if host is not None:
                host.stop()
            for item in sockets:
                item.close()
            context.term()


@contextmanager
def run_robot(
    robot_class: type[Robot] | str,
    *,
    name: str = "robot",
    symbols: Sequence[str] | None = None,
    params: Any = None,
    journal_dir: str | Path | None = None,
) -> Iterator[LiveHost]:
    """Run one robot in a real actor on a live host; the shortest actor-level test."""
    with live_host(journal_dir) as live:
        live.add_robot(robot_class, name=name, symbols=symbols, params=params)
        yield live
