"""The order path end to end: robot → gateway → store → paper exchange → reports back.

Real parts throughout: Pykka actors, ZeroMQ sockets, a SQLite file or a MongoDB
wire-protocol server, and for the cross-process case real host processes.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import zmq

from gateways.feed import QuotePublisher
from gateways.order_gateway import OrderGateway
from gateways.paper import PaperConfig, PaperExchange
from gateways.store import OrderState, open_store
from gateways.store.base import OrderStore
from tests.integration.order_robots import Ladder, Taker
from yard_actors import Host, NewOrder, Side, encode, replay
from yard_actors.net import LOCAL_ONLY, Security, make_keys
from yard_actors.testing import quote, wait_until
from yard_actors.wire.frames import send

TS = 1_700_000_000_000_000_000
_hosts = itertools.count(1)


class Market:
    """A feed, a gateway with the paper exchange, and the store, wired over one transport.

    Over tcp each part has CURVE keys of its own, in ``tmp_path/keys`` (:attr:`keys`),
    with keys for hosts named ``alpha`` and ``beta`` beside them.
    """

    def __init__(self, store: OrderStore, transport: str, tmp_path: Path) -> None:
        self.context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
        any_port = "tcp://127.0.0.1:*" if transport == "tcp" else None
        self.keys = tmp_path / "keys"
        security = {"feed": LOCAL_ONLY, "gateway": LOCAL_ONLY}
        if transport == "tcp":
            make_keys(self.keys, ["feed", "gateway", "alpha", "beta"])
            security = {name: Security.from_keys(self.keys, name) for name in security}

        def url(name: str) -> str:
            return any_port or f"inproc://yard-orders-{id(self)}-{name}"

        self.feed = QuotePublisher(self.context, url("data"), security=security["feed"])
        self.data = self.feed.endpoint
        self.store = store
        self.gateway = OrderGateway(
            store=store,
            exchange=PaperExchange(PaperConfig(require_session=False)),
            orders=url("orders"),
            trades=url("trades"),
            recovery=url("recovery"),
            data=self.data,
            symbols=["Si"],
            context=self.context,
            heartbeat_ms=100,
            security=security["gateway"],
        )
        self.endpoints = dict(self.gateway.endpoints)
        self.ts = TS

    def host(self, journal: Path, **extra: Any) -> Host:
        control = f"inproc://yard-control-{next(_hosts)}"
        return Host(
            data=self.data,
            orders=self.endpoints["orders"],
            trades=self.endpoints["trades"],
            recovery=self.endpoints["recovery"],
            control=control,
            journal_dir=journal,
            context=self.context,
            **extra,
        )

    def wait_for(self, hosts: int) -> None:
        """Until the gateway and ``hosts`` hosts subscribe to Si, quotes could be lost."""
        self.feed.wait_for_subscribers(["Si"], count=hosts + 1)

    def quote(self, bid: int, ask: int, size: int = 10) -> None:
        self.ts += 1_000_000
        self.feed.publish(quote("Si", bid, ask, bid_size=size, ask_size=size, ts=self.ts))

    def quote_until(self, bid: int, ask: int, condition: Any, timeout: float = 10.0) -> None:
        """Publish the same market until ``condition`` holds.

        An order can reach the gateway before the gateway's own copy of the quote
        that prompted it; it then rests at its limit, and only a later quote at
        the same price fills it. Repeating the market is what a live feed does.
        """
        deadline = time.monotonic() + timeout
        while True:
            self.quote(bid, ask)
            try:
                wait_until(condition, timeout=0.05)
            except AssertionError:
                if time.monotonic() > deadline:
                    raise
                continue
            return

    def close(self) -> None:
        self.gateway.stop()
        self.feed.close()
        self.store.close()
        self.context.term()


@pytest.fixture
def sqlite_market(tmp_path: Path) -> Iterator[Market]:
    market = Market(open_store(f"sqlite:///{tmp_path}/orders.db"), "inproc", tmp_path)
    yield market
    market.close()


def _robot_state(host: Host, name: str) -> dict[str, Any]:
    return host.snapshot(name)


def test_an_order_travels_to_the_exchange_and_its_fill_comes_back(
    sqlite_market: Market, tmp_path: Path
) -> None:
    market = sqlite_market
    with market.host(tmp_path / "journal") as host:
        host.add_robot(Taker, name="taker", params={"target": 1})
        market.wait_for(hosts=1)

        market.quote_until(
            90_000,
            90_001,
            lambda: _robot_state(host, "taker")["positions"].get("Si", {}).get("qty") == 1,
        )

        snapshot = _robot_state(host, "taker")
    [order] = market.store.orders(robot="taker")
    assert order.state is OrderState.FILLED
    assert (order.filled_qty, order.avg_price) == (1, Decimal(90_001))
    assert [change.state for change in order.history] == [
        OrderState.NEW,
        OrderState.PENDING,
        OrderState.ACCEPTED,
        OrderState.FILLED,
    ]
    assert snapshot["state"]["fills"] == ["taker-1"]
    assert snapshot["open_orders"] == []
    assert [r.seq for r in market.store.reports("taker")] == [1, 2]


def test_a_repeated_order_id_makes_no_second_order(sqlite_market: Market, tmp_path: Path) -> None:
    market = sqlite_market
    order = NewOrder(
        ts=TS,
        client_order_id="x-1",
        robot="x",
        symbol="Si",
        side=Side.BUY,
        qty=1,
        price=Decimal(1),
    )
    push = market.context.socket(zmq.PUSH)
    push.setsockopt(zmq.LINGER, 0)
    push.connect(market.endpoints["orders"])
    try:
        for _ in range(3):
            send(push, b"x", encode(order))
        wait_until(lambda: market.gateway.stats["commands"] == 3)
    finally:
        push.close()

    assert len(market.store.orders(robot="x")) == 1
    assert market.gateway.stats["duplicate_orders"] == 2
    assert [type(r.report).__name__ for r in market.store.reports("x")] == ["OrderAccepted"]


def test_a_restarted_host_gets_every_fill_exactly_once(
    sqlite_market: Market, tmp_path: Path
) -> None:
    market = sqlite_market
    journal = tmp_path / "journal"
    with market.host(journal) as host:
        host.add_robot(Ladder, name="ladder", params={"rungs": 5})
        market.wait_for(hosts=1)
        market.quote(100, 101)  # rests bids at 99, 98, 97, 96, 95
        wait_until(lambda: len(market.store.open_orders("ladder")) == 5)
        market.quote(98, 98)  # fills the bids at 99 and 98
        wait_until(lambda: len(_robot_state(host, "ladder")["state"]["fills"]) == 2)

    market.quote(95, 95)  # the host is down: the bids at 97, 96, 95 fill unseen
    wait_until(lambda: len(market.store.trades(robot="ladder")) == 5)

    with market.host(journal) as host:
        host.add_robot(Ladder, name="ladder", params={"rungs": 5})
        wait_until(lambda: len(_robot_state(host, "ladder")["state"]["fills"]) == 5)
        market.quote(94, 95)  # the heartbeat and live traffic bring nothing twice
        host.wait_idle()
        snapshot = _robot_state(host, "ladder")
        stats = host.intake_stats()["trades"]

    assert sorted(snapshot["state"]["fills"]) == sorted(
        t.fill.trade_id for t in market.store.trades(robot="ladder")
    )
    assert len(set(snapshot["state"]["fills"])) == 5
    assert snapshot["positions"]["Si"]["qty"] == 5
    assert snapshot["open_orders"] == []
    assert stats.delivered == 3  # only the three fills it missed: 5 acceptances, 2 fills came live
    assert replay(journal, "ladder").faithful


def test_two_hosts_in_their_own_processes_get_only_their_own_fills(tmp_path: Path) -> None:
    market = Market(open_store(f"sqlite:///{tmp_path}/orders.db"), "tcp", tmp_path)
    processes = []
    try:
        for name in ("alpha", "beta"):
            command = [
                sys.executable,
                "-m",
                "tests.integration.host_process",
                "--data",
                market.data,
                "--orders",
                market.endpoints["orders"],
                "--trades",
                market.endpoints["trades"],
                "--recovery",
                market.endpoints["recovery"],
                "--control",
                "tcp://127.0.0.1:*",
                "--journal",
                str(tmp_path / name),
                "--robot",
                name,
                "--robot-class",
                "tests.integration.order_robots:Taker",
                "--fills",
                "3",
                *("--keys", str(market.keys), "--key-name", name),
            ]
            processes.append(
                subprocess.Popen(
                    command, stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parents[2]
                )
            )
        for process in processes:
            assert process.stdout is not None
            assert process.stdout.readline().strip() == "ready"
        market.wait_for(hosts=2)
        snapshots = []
        market.quote_until(
            90_000, 90_001, lambda: all(p.poll() is not None for p in processes), timeout=60
        )
        for process in processes:
            out, _ = process.communicate(timeout=60)
            assert process.returncode == 0
            snapshots.append(json.loads(out.strip().splitlines()[-1]))
        trades = {name: market.store.trades(robot=name) for name in ("alpha", "beta")}
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
        market.close()

    for snapshot in snapshots:
        name = snapshot["name"]
        assert snapshot["positions"]["Si"]["qty"] == 3
        assert [coid.split("-")[0] for coid in snapshot["state"]["fills"]] == [name] * 3
        assert {t.fill.client_order_id for t in trades[name]} == set(snapshot["state"]["fills"])


@pytest.fixture
def mongo_market(mongo_url: str, tmp_path: Path) -> Iterator[Market]:
    market = Market(open_store(mongo_url), "inproc", tmp_path)
    yield market
    market.close()


def test_a_fill_reaches_its_robot_by_the_change_stream_alone(
    mongo_market: Market, mongo_url: str, tmp_path: Path
) -> None:
    market = mongo_market
    silent = market.context.socket(zmq.PUB)  # a trades endpoint nobody publishes on
    silent.bind(f"inproc://yard-silent-{id(market)}")
    try:
        host = Host(
            data=market.data,
            orders=market.endpoints["orders"],
            trades=f"inproc://yard-silent-{id(market)}",
            control="inproc://yard-cs-control",
            store=mongo_url,
            journal_dir=tmp_path / "journal",
            context=market.context,
        )
        with host:
            host.add_robot(Taker, name="taker", params={"target": 2})
            market.wait_for(hosts=1)
            market.quote_until(
                90_000, 90_001, lambda: len(_robot_state(host, "taker")["state"]["fills"]) == 2
            )
            snapshot = _robot_state(host, "taker")
    finally:
        silent.close()

    assert snapshot["state"]["fills"] == ["taker-1", "taker-2"]
    assert snapshot["positions"]["Si"]["qty"] == 2


def test_with_mongodb_both_paths_deliver_each_fill_once_across_a_restart(
    mongo_market: Market, mongo_url: str, tmp_path: Path
) -> None:
    market = mongo_market
    journal = tmp_path / "journal"
    with market.host(journal, store=mongo_url) as host:
        host.add_robot(Ladder, name="ladder", params={"rungs": 5})
        market.wait_for(hosts=1)
        market.quote(100, 101)
        wait_until(lambda: len(market.store.open_orders("ladder")) == 5)
        market.quote(98, 98)
        wait_until(lambda: len(_robot_state(host, "ladder")["state"]["fills"]) == 2)
        wait_until(lambda: host.intake_stats()["trades"].dropped.get("duplicate", 0) >= 2)

    market.quote(95, 95)  # the host is down: three more fills, seen by nobody
    wait_until(lambda: len(market.store.trades(robot="ladder")) == 5)

    with market.host(journal, store=mongo_url) as host:
        host.add_robot(Ladder, name="ladder", params={"rungs": 5})
        wait_until(lambda: len(_robot_state(host, "ladder")["state"]["fills"]) == 5)
        market.quote(94, 95)
        host.wait_idle()
        snapshot = _robot_state(host, "ladder")

    assert len(snapshot["state"]["fills"]) == len(set(snapshot["state"]["fills"])) == 5
    assert snapshot["positions"]["Si"]["qty"] == 5
    assert replay(journal, "ladder").faithful
