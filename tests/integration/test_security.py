"""CURVE on every tcp endpoint: a keyed deployment trades, and nobody else gets in.

A feed, an order gateway (SQLite store, paper exchange) and a host, each with its own
ZeroMQ context and its own key, as three processes would be, over loopback tcp. Peers
without keys, or with a key nobody trusts, are refused by ZeroMQ before a frame reaches
the component: nothing is stored, nothing delivered, each refusal counted.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import zmq

from gateways.feed import QuotePublisher, serve_feed
from gateways.order_gateway import OrderGateway
from gateways.paper import PaperConfig, PaperExchange
from gateways.store import OrderStore, open_store
from tests.integration.order_robots import Taker
from yard_actors import ConfigError, Host, NewOrder, Side, encode
from yard_actors.net import GATEWAY, LOCAL_ONLY, Security, connect, make_keys, refusals
from yard_actors.testing import quote, wait_until
from yard_actors.wire.control_protocol import encode_request
from yard_actors.wire.frames import send

Context = zmq.Context[zmq.Socket[bytes]]
TS = 1_700_000_000_000_000_000
ANY = "tcp://127.0.0.1:*"
QUIET_MS = 300  # a refused peer's message is given this long to arrive anyway: it must not


@pytest.fixture
def keys(tmp_path: Path) -> Path:
    make_keys(tmp_path / "keys", ["feed", "gateway", "host-a", "controller"])
    make_keys(tmp_path / "strangers", ["mallory"])
    return tmp_path / "keys"


class Deployment:
    """A keyed feed, gateway and host in one process, each in a context of its own."""

    def __init__(self, keys: Path, tmp_path: Path) -> None:
        self.keys = keys
        self.contexts: dict[str, Context] = {n: zmq.Context() for n in ("feed", "gateway")}
        self.store: OrderStore = open_store(f"sqlite:///{tmp_path}/orders.db")
        self.feed = QuotePublisher(
            self.contexts["feed"], ANY, security=Security.from_keys(keys, "feed")
        )
        self.gateway = OrderGateway(
            store=self.store,
            exchange=PaperExchange(PaperConfig(require_session=False)),
            orders=ANY,
            trades=ANY,
            recovery=ANY,
            data=self.feed.endpoint,
            symbols=["Si"],
            context=self.contexts["gateway"],
            heartbeat_ms=100,
            security=Security.from_keys(keys, GATEWAY),
        )
        self.endpoints = {"data": self.feed.endpoint, **self.gateway.endpoints}
        self.ts = TS

    def host(self, journal: Path, **extra: Any) -> Host:
        return Host(
            data=self.endpoints["data"],
            orders=self.endpoints["orders"],
            trades=self.endpoints["trades"],
            recovery=self.endpoints["recovery"],
            control=ANY,
            journal_dir=journal,
            security=Security.from_keys(self.keys, "host-a"),
            **extra,
        )

    def quote_until(self, condition: Any, timeout: float = 15.0) -> None:
        """Publish a steady market until ``condition`` holds (see test_orders.Market)."""

        def publish_and_check() -> bool:
            self.ts += 1_000_000
            self.feed.publish(quote("Si", 90_000, 90_001, bid_size=10, ask_size=10, ts=self.ts))
            return bool(condition())

        wait_until(publish_and_check, timeout=timeout, what="the market's answer")

    def close(self) -> None:
        self.gateway.stop()
        self.feed.close()
        self.store.close()
        for context in self.contexts.values():
            context.term()


@pytest.fixture
def deployment(keys: Path, tmp_path: Path) -> Iterator[Deployment]:
    made = Deployment(keys, tmp_path)
    yield made
    made.close()


@pytest.fixture
def outsider() -> Iterator[Context]:
    """The context of a peer that is not part of the deployment."""
    context: Context = zmq.Context()
    yield context
    context.term()


def _refused(context: Context) -> int:
    """Peers refused in ``context``. One without keys counts as ``no_keys``, or as
    ``bad_handshake`` when it hangs up before the endpoint notices the mismatch."""
    return sum(refusals(context).values())


def _order(robot: str, n: int = 1) -> bytes:
    order = NewOrder(
        ts=TS, client_order_id=f"{robot}-forged-{n}", robot=robot, symbol="Si", side=Side.BUY, qty=5
    )
    return encode(order)


def _push(context: Context, url: str, security: Security | None) -> zmq.Socket[bytes]:
    """A PUSH to ``url``: plain ZeroMQ if ``security`` is None, else CURVE with its keys."""
    push = context.socket(zmq.PUSH)
    push.setsockopt(zmq.LINGER, 0)
    if security is None:
        push.connect(url)
    else:
        connect(push, url, security, server=GATEWAY)
    return push


def test_a_keyed_host_trades_through_a_keyed_gateway_and_feed(
    deployment: Deployment, tmp_path: Path
) -> None:
    with deployment.host(tmp_path / "journal") as host:
        host.add_robot(Taker, name="taker", params={"target": 3})
        deployment.feed.wait_for_subscribers(["Si"], count=2)  # the gateway and the host

        deployment.quote_until(lambda: len(host.snapshot("taker")["state"]["fills"]) == 3)
        fills = host.snapshot("taker")["state"]["fills"]

    assert [t.fill.client_order_id for t in deployment.store.trades(robot="taker")] == fills
    assert refusals(deployment.contexts["gateway"]) == {}
    assert refusals(deployment.contexts["feed"]) == {}


def test_an_order_from_a_peer_without_keys_is_refused_counted_and_never_stored(
    deployment: Deployment, outsider: Context
) -> None:
    push = _push(outsider, deployment.endpoints["orders"], None)
    try:
        send(push, b"mm-si", _order("mm-si"))
        wait_until(
            lambda: _refused(deployment.contexts["gateway"]) >= 1,
            what="the gateway refusing a peer without keys",
        )
    finally:
        push.close()

    assert deployment.gateway.stats["commands"] == 0
    assert deployment.store.orders(robot="mm-si") == []


def test_an_order_from_a_peer_with_an_untrusted_key_is_refused_counted_and_never_stored(
    deployment: Deployment, outsider: Context, keys: Path
) -> None:
    mallory = Security(secret_key=keys.parent / "strangers/mallory.key_secret", public_keys=keys)
    push = _push(outsider, deployment.endpoints["orders"], mallory)
    try:
        send(push, b"mm-si", _order("mm-si"))
        wait_until(
            lambda: refusals(deployment.contexts["gateway"]).get("unknown_key", 0) >= 1,
            what="the gateway refusing an untrusted key",
        )
    finally:
        push.close()

    assert deployment.gateway.stats["commands"] == 0
    assert deployment.store.orders(robot="mm-si") == []


def test_a_subscriber_without_keys_hears_nothing_of_the_market_or_of_the_reports(
    deployment: Deployment, outsider: Context, tmp_path: Path
) -> None:
    eavesdroppers = []
    for endpoint in ("data", "trades"):
        sub = outsider.socket(zmq.SUB)
        sub.setsockopt(zmq.LINGER, 0)
        sub.subscribe(b"")
        sub.connect(deployment.endpoints[endpoint])
        eavesdroppers.append(sub)
    try:
        with deployment.host(tmp_path / "journal") as host:
            host.add_robot(Taker, name="taker", params={"target": 1})
            deployment.feed.wait_for_subscribers(["Si"], count=2)
            deployment.quote_until(lambda: len(host.snapshot("taker")["state"]["fills"]) == 1)
        heard = [sub.poll(QUIET_MS) for sub in eavesdroppers]
    finally:
        for sub in eavesdroppers:
            sub.close()

    assert heard == [0, 0]
    assert _refused(deployment.contexts["feed"]) >= 1
    assert _refused(deployment.contexts["gateway"]) >= 1


def test_a_control_from_a_peer_without_keys_never_reaches_the_robot(
    deployment: Deployment, outsider: Context, keys: Path, tmp_path: Path
) -> None:
    with deployment.host(tmp_path / "journal") as host:
        host.add_robot(Taker, name="taker", params={"target": 1})
        plain = outsider.socket(zmq.DEALER)  # a controller without keys
        plain.setsockopt(zmq.LINGER, 0)
        plain.connect(host.endpoints["control"])
        try:
            plain.send(encode_request(1, "halt", {}))
            wait_until(
                lambda: _refused(host.context) >= 1,
                what="the host refusing a controller without keys",
            )
            host.wait_idle()
            status = host.snapshot("taker")["status"]
            received = host.intake_stats()["control"].received
            answered = plain.poll(0)
        finally:
            plain.close()

    assert status == "running"
    assert received == 0
    assert not answered


def test_a_component_told_to_bind_tcp_without_keys_refuses_to_start_naming_the_fix(
    tmp_path: Path, outsider: Context
) -> None:
    fix = r"without CURVE keys: .*Make keys with `yard keys keys --name feed"
    with pytest.raises(ConfigError, match=fix):
        QuotePublisher(outsider, ANY)
    store = open_store(f"sqlite:///{tmp_path}/orders.db")
    try:
        with pytest.raises(ConfigError, match=fix):
            OrderGateway(
                store=store,
                exchange=PaperExchange(),
                orders=ANY,
                trades=ANY,
                context=outsider,
            )
    finally:
        store.close()
    with pytest.raises(ConfigError, match=fix):
        Host(
            data="inproc://data",
            orders="inproc://orders",
            trades="inproc://trades",
            control=ANY,
            journal_dir=None,
            context=outsider,
        )


def test_yard_feed_without_keys_on_tcp_exits_2_saying_how_to_make_them(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = serve_feed([], "tcp://127.0.0.1:*", wait_for=0, security=LOCAL_ONLY)

    assert code == 2
    assert "yard keys" in capsys.readouterr().err


def test_allow_insecure_tcp_starts_with_a_warning(
    outsider: Context, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="yard_actors.net"):
        feed = QuotePublisher(outsider, ANY, security=Security(allow_insecure_tcp=True))
        feed.close()

    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "without CURVE keys (allow_insecure_tcp)" in warning.getMessage()
