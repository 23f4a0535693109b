"""Default risk limits, end to end: a forged ``set_params qty=500`` trades nothing past them.

The attack of issue 12: a peer on the host's control endpoint told a robot to trade
500 lots, and with no limits by default it did. Here the host is built from a
config without ``[risk]``, as ``yard run`` builds it; the gateway, the paper exchange
and the SQLite store are real, and so is the attacker's client on the control endpoint.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import zmq

from gateways.feed import QuotePublisher
from gateways.order_gateway import OrderGateway
from gateways.paper import PaperConfig, PaperExchange
from gateways.store import open_store
from gateways.store.base import OrderRecord
from yard_actors import Host, RobotError
from yard_actors.ctl import Client, connect
from yard_actors.robot.risk import DEFAULT_LIMITS
from yard_actors.testing import quote, tick, wait_until

TS = 1_700_000_000_000_000_000
MS = 1_000_000


class Market:
    """A feed and a gateway (paper exchange, SQLite store) bound on ipc:// in ``directory``."""

    def __init__(self, directory: Path, store_path: Path) -> None:
        self.directory = directory
        self.context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
        self.feed = QuotePublisher(self.context, f"ipc://{directory}/data")
        self.store = open_store(f"sqlite:///{store_path}")
        self.gateway = OrderGateway(
            store=self.store,
            exchange=PaperExchange(PaperConfig(require_session=False)),
            orders=f"ipc://{directory}/orders",
            trades=f"ipc://{directory}/trades",
            recovery=f"ipc://{directory}/recovery",
            data=self.feed.endpoint,
            symbols=["Si"],
            context=self.context,
            heartbeat_ms=100,
        )
        self.ts = TS

    def config(self, journal: Path, robots: list[dict[str, Any]]) -> dict[str, Any]:
        """A host config over these endpoints, with no [risk]: yard's defaults apply."""
        endpoints = dict(self.gateway.endpoints)
        return {
            "endpoints": {
                "data": self.feed.endpoint,
                "orders": endpoints["orders"],
                "trades": endpoints["trades"],
                "recovery": endpoints["recovery"],
                "control": f"ipc://{self.directory}/control",
            },
            "journal_dir": str(journal),
            "robots": robots,
        }

    def quote(self, bid: int, ask: int) -> None:
        self.ts += MS
        self.feed.publish(quote("Si", bid, ask, ts=self.ts))

    def quote_until(self, bid: int, ask: int, condition: Callable[[], Any]) -> None:
        """Publish the same market until ``condition`` holds (10 s at most).

        An order can reach the gateway before the gateway's own copy of the quote that
        prompted it; it then rests, and only a later quote at that price fills it.
        """
        deadline = time.monotonic() + 10
        while not condition():
            assert time.monotonic() < deadline, "the condition did not hold within 10 s"
            self.quote(bid, ask)
            try:
                wait_until(condition, timeout=0.05)
            except AssertionError:
                continue

    def orders(self) -> list[OrderRecord]:
        """Every order the store holds; read once the gateway has stopped writing."""
        self.gateway.stop()
        return self.store.orders()

    def close(self) -> None:
        self.gateway.stop()
        self.feed.close()
        self.store.close()
        self.context.term()


@pytest.fixture
def market(tmp_path: Path) -> Iterator[Market]:
    # ipc:// paths are capped near 100 bytes: a short directory of its own, not tmp_path.
    with tempfile.TemporaryDirectory(prefix="yard-risk-") as directory:
        market = Market(Path(directory), tmp_path / "orders.db")
        try:
            yield market
        finally:
            market.close()


@pytest.fixture
def attacker(market: Market) -> Iterator[Client]:
    """A client of the host's control endpoint, as any process of its user could open one."""
    with connect(f"ipc://{market.directory}/control", context=market.context) as client:
        yield client


def _handled_control(host: Host, robot: str) -> bool:
    snapshot = host.snapshot(robot)
    return bool(snapshot["last_refusal"] or snapshot["params"]["qty"] == 500)


def _set_params(client: Client, host: Host, robot: str, **params: Any) -> str | None:
    """Send the control; once the robot handled it, None; the host's refusal if it refused."""
    try:
        client.set_params(robot, **params)
    except RobotError as exc:  # checked against the robot's params and limits: nothing sent
        return str(exc)
    wait_until(lambda: _handled_control(host, robot), what=f"{robot}'s control")
    return None


TREND = {
    "class": "robots.trend:TrendFollower",
    "name": "trend-si",
    "params": {"fast": 2, "slow": 3, "qty": 1},
}
BLIND = {"class": "tests.integration.risk_robots:Blind", "name": "blind", "params": {"qty": 1}}


def test_a_forged_set_params_qty_500_is_refused_and_no_order_past_the_limit_is_stored(
    market: Market,
    attacker: Client,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    config = market.config(tmp_path / "journal", [TREND, BLIND])
    with Host.from_config(config, source="yard.toml") as host:
        market.feed.wait_for_subscribers(["Si"], count=2)  # the host and the gateway

        refused = _set_params(attacker, host, "trend-si", qty=500)  # declared: refused outright
        taken = _set_params(attacker, host, "blind", qty=500)  # undeclared: its orders refused

        for n in range(3):  # a rising market: the trend follower buys at the ask, 90,003
            market.quote(90_000 + n, 90_001 + n)
        market.quote_until(90_002, 90_003, lambda: host.snapshot("trend-si")["positions"])
        host.wait_idle()  # blind has had the quotes that filled trend-si
        trend, blind = host.snapshot("trend-si"), host.snapshot("blind")

    stored = market.orders()
    assert stored, "the trend follower traded within its limits"
    assert max(order.qty for order in stored) <= 10 == DEFAULT_LIMITS.max_order_qty
    assert {order.robot for order in stored} == {"trend-si"}
    assert refused is not None
    assert "risk limit max_order_qty: param qty would be 500, over 10 lots per order" in refused
    assert taken is None
    assert trend["params"]["qty"] == 1
    assert trend["status"] == "running"
    assert trend["last_refusal"] is None  # refused on the host: nothing reached the robot
    assert trend["risk"]["limits"] == {
        "max_order_qty": 10,
        "max_position": 10,
        "max_orders_per_second": 10,
    }
    assert blind["status"] == "running"
    assert blind["params"]["qty"] == 500  # it declares nothing: only its orders are stopped
    assert blind["risk"]["refusals"]["max_order_qty"] >= 1
    assert "robots run with yard's conservative default risk limits" in caplog.text


SPAMMER = {"class": "tests.integration.risk_robots:Spammer", "name": "spammer"}


def test_orders_past_the_default_rate_are_refused_on_event_time(
    market: Market, tmp_path: Path
) -> None:
    config = market.config(tmp_path / "journal", [SPAMMER])
    with Host.from_config(config) as host:
        market.feed.wait_for_subscribers(["Si"], count=2)

        for n in range(30):  # 30 trade prints within 30 ms of event time
            market.feed.publish(tick("Si", 90_000, ts=TS + n * MS))
        wait_until(lambda: host.snapshot("spammer")["state"]["prints"] == 30, what="30 prints")
        spammer = host.snapshot("spammer")

    stored = market.orders()
    assert len(stored) == DEFAULT_LIMITS.max_orders_per_second == 10
    assert spammer["risk"]["refusals"] == {"max_orders_per_second": 20}
