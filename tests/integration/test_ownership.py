"""Robots bound to their host's key: a keyed host acts, reads and recovers for its own robots only.

A feed and an order gateway (SQLite store, paper exchange), each with a ZeroMQ context
and a key of its own, as two processes would be, over loopback tcp with CURVE; hosts
with the keys ``host-a`` and ``host-b``, both trusted by the gateway. A host registers
each robot under its key when it adds it. The other key, played by a real ``Host`` or by
raw keyed sockets, is refused everything about a robot it does not own: its commands
(nothing stored), its recovery requests (nothing answered), its subscriptions to the
robot's reports (nothing heard), and a second registration of the name.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import zmq

from gateways.feed import QuotePublisher
from gateways.order_gateway import OrderGateway
from gateways.paper import PaperConfig, PaperExchange
from gateways.store import OrderStore, open_store
from tests.integration.order_robots import Taker
from yard_actors import CancelOrder, ConfigError, Host, NewOrder, RobotError, Side, encode
from yard_actors.net import GATEWAY, Security, connect, make_keys
from yard_actors.testing import quote, wait_until
from yard_actors.wire.frames import send
from yard_actors.wire.names import (
    RECOVERY_REGISTER,
    RECOVERY_REGISTERED,
    RECOVERY_REPLAY,
    RECOVERY_REPORTS,
    RECOVERY_RESOLVE,
    SEQS_TOPIC,
    owner_seqs_topic,
)

Context = zmq.Context[zmq.Socket[bytes]]
TS = 1_700_000_000_000_000_000
ANY = "tcp://127.0.0.1:*"
QUIET_MS = 500  # a refused peer's answer is given this long to arrive anyway: it must not
WAIT_S = 20.0  # for what must happen: wide, it ends as soon as it does


@pytest.fixture
def keys(tmp_path: Path) -> Path:
    make_keys(tmp_path / "keys", ["feed", "gateway", "host-a", "host-b"])
    return tmp_path / "keys"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Rig:
    """A keyed feed and gateway, each in a context of its own; hosts of either key.

    :meth:`restart_gateway` stops the gateway and starts another on the same store file
    (and the same endpoints), as a process restarted would.
    """

    def __init__(self, keys: Path, tmp_path: Path) -> None:
        self.keys = keys
        self.tmp_path = tmp_path
        self.store_url = f"sqlite:///{tmp_path}/orders.db"
        self.feed_context: Context = zmq.Context()
        self.feed = QuotePublisher(
            self.feed_context, ANY, security=Security.from_keys(keys, "feed")
        )
        self.urls = {n: f"tcp://127.0.0.1:{_free_port()}" for n in ("orders", "trades", "recovery")}
        self.context: Context | None = None
        self._store: OrderStore | None = None
        self.gateway: OrderGateway | None = None
        self.hosts: list[Host] = []
        self.sockets: list[zmq.Socket[bytes]] = []
        self.peer_context: Context = zmq.Context()  # the raw sockets' of either key
        self.ts = TS

    def start_gateway(self) -> OrderGateway:
        self.context = zmq.Context()
        self._store = open_store(self.store_url)
        self.gateway = OrderGateway(
            store=self._store,
            exchange=PaperExchange(PaperConfig(require_session=False)),
            data=self.feed.endpoint,
            symbols=["Si"],
            context=self.context,
            heartbeat_ms=100,
            security=Security.from_keys(self.keys, GATEWAY),
            orders=self.urls["orders"],
            trades=self.urls["trades"],
            recovery=self.urls["recovery"],
        )
        return self.gateway

    def stop_gateway(self) -> None:
        if self.gateway is not None:
            self.gateway.stop()
        if self._store is not None:
            self._store.close()
        if self.context is not None:
            self.context.term()
        self.gateway = self._store = self.context = None

    def restart_gateway(self) -> OrderGateway:
        self.stop_gateway()
        return self.start_gateway()

    @property
    def store(self) -> OrderStore:
        """The running gateway's store."""
        assert self._store is not None
        return self._store

    @property
    def stats(self) -> dict[str, int]:
        assert self.gateway is not None
        return self.gateway.health()

    def host(self, key: str, **extra: Any) -> Host:
        host = Host(
            data=self.feed.endpoint,
            control=ANY,
            journal_dir=self.tmp_path / f"journal-{key}",  # a key's host restarts on it
            security=Security.from_keys(self.keys, key),
            orders=self.urls["orders"],
            trades=self.urls["trades"],
            recovery=self.urls["recovery"],
            **extra,
        )
        self.hosts.append(host)
        return host

    def peer(self, kind: int, endpoint: str, key: str) -> zmq.Socket[bytes]:
        """A raw socket holding ``key``, connected to the gateway's ``endpoint``."""
        peer = self.peer_context.socket(kind)
        peer.setsockopt(zmq.LINGER, 0)
        connect(peer, self.urls[endpoint], Security.from_keys(self.keys, key), server=GATEWAY)
        self.sockets.append(peer)
        return peer

    def trade(self, host: Host, robot: str, fills: int, subscribers: int = 2) -> None:
        """Publish a steady market until ``robot`` holds ``fills`` fills."""
        self.feed.wait_for_subscribers(["Si"], count=subscribers, timeout=WAIT_S)

        def publish_and_check() -> bool:
            self.ts += 1_000_000
            self.feed.publish(quote("Si", 90_000, 90_001, bid_size=10, ask_size=10, ts=self.ts))
            return len(host.snapshot(robot)["state"]["fills"]) >= fills

        wait_until(publish_and_check, timeout=WAIT_S, what=f"{robot}'s fills")

    def close(self) -> None:
        for peer in self.sockets:
            peer.close()
        for host in self.hosts:
            host.stop()
        self.stop_gateway()
        self.feed.close()
        self.feed_context.term()
        self.peer_context.term()


@pytest.fixture
def rig(keys: Path, tmp_path: Path) -> Iterator[Rig]:
    made = Rig(keys, tmp_path)
    made.start_gateway()
    yield made
    made.close()


def _order(robot: str, client_order_id: str) -> bytes:
    order = NewOrder(
        ts=TS, client_order_id=client_order_id, robot=robot, symbol="Si", side=Side.BUY, qty=5
    )
    return encode(order)


def _answer(dealer: zmq.Socket[bytes]) -> list[bytes]:
    assert dealer.poll(int(WAIT_S * 1000)), "the gateway did not answer"
    return dealer.recv_multipart()


def test_a_keyed_host_registers_its_robot_under_its_key_and_trades(rig: Rig) -> None:
    host = rig.host("host-a")
    host.add_robot(Taker, name="taker", params={"target": 2})

    rig.trade(host, "taker", fills=2)

    assert rig.store.robot_owners() == {"taker": "host-a"}
    assert len(rig.store.trades(robot="taker")) == 2
    assert not {k: v for k, v in rig.stats.items() if k.endswith("not_owner")}


def test_a_command_for_a_robot_another_key_owns_is_refused_counted_and_never_stored(
    rig: Rig,
) -> None:
    rig.host("host-a").add_robot(Taker, name="taker", params={"target": 0})
    push = rig.peer(zmq.PUSH, "orders", "host-b")

    send(push, b"taker", _order("taker", "taker-forged-1"))
    cancel = CancelOrder(ts=TS, client_order_id="taker-forged-1", robot="taker")
    send(push, b"taker", encode(cancel))
    send(push, b"nobody", _order("nobody", "nobody-1"))  # a robot no key registered
    wait_until(
        lambda: rig.stats.get("dropped_command_not_owner", 0) >= 3,
        timeout=WAIT_S,
        what="the gateway refusing another key's commands",
    )

    assert rig.store.order("taker-forged-1") is None
    assert rig.store.order("nobody-1") is None
    assert rig.stats["commands"] == 0  # none reached the exchange


def test_a_second_host_registering_a_name_another_key_owns_is_refused_with_a_clear_error(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    rig.host("host-a").add_robot(Taker, name="taker", params={"target": 0})
    other = rig.host("host-b")

    with caplog.at_level(logging.ERROR, logger="yard_actors.host.registrations"):
        with pytest.raises(RobotError, match="registered to key host-a; a robot runs under one"):
            other.add_robot(Taker, name="taker")
        with pytest.raises(RobotError, match="taker2 and robot taker of key host-a begin alike"):
            other.add_robot(Taker, name="taker2")
        with pytest.raises(RobotError, match="tak and robot taker of key host-a begin alike"):
            other.add_robot(Taker, name="tak")
    other.add_robot(Taker, name="buyer", params={"target": 0})

    assert [row["name"] for row in other.robots()] == ["buyer"]
    assert len([r for r in caplog.records if "refused to register" in r.getMessage()]) == 3
    assert rig.store.robot_owners() == {"taker": "host-a", "buyer": "host-b"}
    assert rig.stats["dropped_recovery_register_refused"] == 3


def test_recovery_for_another_hosts_robot_is_refused_and_counted(rig: Rig) -> None:
    host = rig.host("host-a")
    host.add_robot(Taker, name="taker", params={"target": 1})
    rig.trade(host, "taker", fills=1)
    [filled] = host.snapshot("taker")["state"]["fills"]
    dealer = rig.peer(zmq.DEALER, "recovery", "host-b")

    dealer.send_multipart([RECOVERY_REPLAY, b"taker", b"0"])
    dealer.send_multipart([RECOVERY_RESOLVE, b"taker", filled.encode(), b"taker-ghost"])
    wait_until(
        lambda: rig.stats.get("dropped_recovery_not_owner", 0) >= 2,
        timeout=WAIT_S,
        what="the gateway refusing another key's recovery requests",
    )
    heard = dealer.poll(QUIET_MS)
    # the same socket, for a robot of its own: answered, so the refusals were not a dead line
    dealer.send_multipart([RECOVERY_REGISTER, b"mine"])
    registered = _answer(dealer)
    dealer.send_multipart([RECOVERY_REPLAY, b"mine", b"0"])
    replayed = _answer(dealer)

    assert heard == 0
    assert rig.store.order("taker-ghost") is None  # no stand-in stored as lost in transit
    assert registered == [RECOVERY_REGISTERED, b"host-b", b"mine", b""]
    assert replayed == [RECOVERY_REPORTS, b"mine"]


def test_a_keyed_host_subscribing_to_another_hosts_robot_hears_none_of_its_reports(
    rig: Rig,
) -> None:
    spy = rig.peer(zmq.SUB, "trades", "host-b")
    for topic in (b"taker", b"", b"t", b"$", SEQS_TOPIC.encode()):
        spy.subscribe(topic)
    wait_until(
        lambda: rig.stats.get("dropped_subscription_not_owner", 0) >= 4,
        timeout=WAIT_S,
        what="the gateway refusing host-b's subscriptions",
    )
    owner = rig.peer(zmq.SUB, "trades", "host-a")  # the owner's own, for contrast
    owner.subscribe(SEQS_TOPIC.encode())
    host_a, host_b = rig.host("host-a"), rig.host("host-b")
    host_a.add_robot(Taker, name="taker", params={"target": 2})
    host_b.add_robot(Taker, name="buyer", params={"target": 1})

    rig.trade(host_a, "taker", fills=2, subscribers=3)
    rig.trade(host_b, "buyer", fills=1, subscribers=3)
    owner_heartbeats, _ = _heard(owner, "host-a")
    spy_heartbeats, spy_heard = _heard(spy, "host-b")

    assert [set(beat) for beat in owner_heartbeats] == [{"taker"}] * len(owner_heartbeats)
    assert [set(beat) for beat in spy_heartbeats] == [{"buyer"}] * len(spy_heartbeats)
    assert spy_heard == []
    assert rig.stats["dropped_subscription_not_owner"] == 4


def _heard(sub: zmq.Socket[bytes], key: str) -> tuple[list[dict[str, int]], list[list[bytes]]]:
    """Everything ``sub`` heard so far and for QUIET_MS more (at least two heartbeats):
    the heartbeats on ``key``'s own topic, and every other message."""
    beats: list[dict[str, int]] = []
    others: list[list[bytes]] = []
    topic = owner_seqs_topic(key).encode()
    quiet_until = time.monotonic() + QUIET_MS / 1000
    while len(beats) < 2 or time.monotonic() < quiet_until:
        assert sub.poll(int(WAIT_S * 1000)), f"no heartbeat on {topic!r}"
        frames = sub.recv_multipart()
        if frames[0] == topic:
            beats.append(orjson.loads(frames[1]))
        else:
            others.append(frames)
    return beats, others


def test_ownership_survives_a_gateway_restart_on_the_same_store(rig: Rig) -> None:
    first = rig.host("host-a")
    first.add_robot(Taker, name="taker", params={"target": 1})
    rig.trade(first, "taker", fills=1)
    first.stop()

    rig.restart_gateway()
    other = rig.host("host-b")
    with pytest.raises(RobotError, match="registered to key host-a"):
        other.add_robot(Taker, name="taker")
    with pytest.raises(RobotError, match="robot taker of key host-a begin alike"):
        other.add_robot(Taker, name="taker2")
    push = rig.peer(zmq.PUSH, "orders", "host-b")
    send(push, b"taker", _order("taker", "taker-forged-1"))
    wait_until(
        lambda: rig.stats.get("dropped_command_not_owner", 0) >= 1,
        timeout=WAIT_S,
        what="the restarted gateway refusing host-b's command",
    )
    again = rig.host("host-a")
    again.add_robot(Taker, name="taker", params={"target": 2})
    rig.trade(again, "taker", fills=2, subscribers=4)

    assert rig.store.order("taker-forged-1") is None
    assert rig.store.robot_owners() == {"taker": "host-a"}
    assert len(rig.store.trades(robot="taker")) == 2


def test_a_robot_added_before_its_gateway_is_up_registers_when_it_comes_and_trades(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    rig.stop_gateway()
    host = rig.host("host-a", ask_timeout=1.0)
    with caplog.at_level(logging.WARNING, logger="yard_actors.host.registrations"):
        host.add_robot(Taker, name="taker", params={"target": 1})  # waits 1 s, goes on

    rig.start_gateway()
    rig.trade(host, "taker", fills=1, subscribers=1)

    assert any("has not answered its registration" in r.getMessage() for r in caplog.records)
    assert rig.store.robot_owners() == {"taker": "host-a"}


def test_a_robot_the_gateway_refuses_after_it_started_is_halted(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    rig.host("host-a").add_robot(Taker, name="taker", params={"target": 0})
    rig.stop_gateway()
    late = rig.host("host-b", ask_timeout=1.0)
    late.add_robot(Taker, name="taker", params={"target": 1})  # unanswered: it starts

    with caplog.at_level(logging.ERROR, logger="yard_actors.host.registrations"):
        rig.start_gateway()
        wait_until(
            lambda: late.snapshot("taker")["status"] == "halted",
            timeout=WAIT_S,
            what="the robot refused late being halted",
        )

    assert any("refused to register it" in r.getMessage() for r in caplog.records)


def test_a_keyed_gateway_without_a_recovery_endpoint_refuses_to_start_saying_why(
    keys: Path, tmp_path: Path
) -> None:
    context: Context = zmq.Context()
    store = open_store(f"sqlite:///{tmp_path}/alone.db")
    try:
        with pytest.raises(ConfigError, match="register their robots on the recovery endpoint"):
            OrderGateway(
                store=store,
                exchange=PaperExchange(),
                orders=ANY,
                trades=ANY,
                context=context,
                security=Security.from_keys(keys, GATEWAY),
            )
    finally:
        store.close()
        context.term()
