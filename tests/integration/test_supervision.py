"""The supervision API on a real Host, gateway, SQLite store and paper exchange.

pause (events still handled, new orders held), resume, set_params checked before anything
is sent, remove_robot cancelling its working orders first, halt() leaving no working order
in the store, and every control journaled with its sender and replayed identically.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest

from gateways.store import OrderState, open_store
from tests.integration.order_robots import Ladder, Taker
from tests.integration.test_orders import Market
from yard_actors import Control, Host, Quote, Robot, RobotError, decode, replay
from yard_actors.journal import read_robot
from yard_actors.robot.risk import RiskLimits
from yard_actors.robot.robot import HandlerResult
from yard_actors.testing import live_host, quote, wait_until


def _positive(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if value <= 0:
        msg = f"{attribute.name} must be positive, was {value}"
        raise ValueError(msg)


@attrs.frozen(kw_only=True)
class RestParams:
    qty: int = attrs.field(default=1, validator=_positive)
    away: int = 100  # how far below the bid it rests, so nothing fills
    orders: int = 1  # how many working orders it keeps


class Rester(Robot):
    """Keeps ``orders`` bids resting ``away`` below the bid, sending one for each missing."""

    symbols = ("Si",)
    params_class = RestParams
    order_qty_params = ("qty",)

    def on_start(self) -> None:
        self.quotes = 0

    def on_quote(self, quote: Quote) -> HandlerResult:
        self.quotes += 1
        p = self.params
        missing = p.orders - len(self.open_orders())
        return [self.buy("Si", p.qty, quote.bid - p.away - n) for n in range(missing)]


@pytest.fixture
def market(tmp_path: Path) -> Iterator[Market]:
    made = Market(open_store(f"sqlite:///{tmp_path}/orders.db"), "inproc", tmp_path)
    yield made
    made.close()


@pytest.fixture
def host(market: Market, tmp_path: Path) -> Iterator[Host]:
    with market.host(tmp_path / "journal", risk=RiskLimits(max_order_qty=5)) as made:
        yield made


def _working(market: Market, robot: str | None = None) -> list[Any]:
    return list(market.store.open_orders(robot))


def _controls(journal: Path, robot: str) -> list[Control]:
    events = [decode(e.payload) for e in read_robot(journal, robot).entries if e.kind == "event"]
    return [event for event in events if isinstance(event, Control)]


def test_a_paused_robot_counts_its_events_and_holds_its_orders(market: Market, host: Host) -> None:
    host.add_robot(Rester, name="rester")
    market.wait_for(hosts=1)

    answer = host.pause("rester")
    for _ in range(3):
        market.quote(90_000, 90_001)
    wait_until(lambda: host.robots().by_name("rester")["held"] == 3, what="3 orders held")

    row = host.robots().by_name("rester")
    snapshot = host.snapshot("rester")
    assert answer == "rester paused: events still handled and journaled, new orders held"
    assert (row["status"], row["events_in"], row["open_orders"]) == ("paused", 4, 0)
    assert snapshot["state"]["quotes"] == 3  # the quotes reached its handler
    assert [o["client_order_id"] for o in snapshot["held"]["last"]] == [
        "rester-1",
        "rester-2",
        "rester-3",
    ]
    assert market.store.orders(robot="rester") == []  # held: nothing reached the gateway
    assert host.pause("rester") == "rester is paused already; nothing sent"

    assert host.resume("rester") == "rester resumed from paused: it trades again"
    market.quote_until(90_000, 90_001, lambda: len(_working(market, "rester")) == 1)
    assert host.robots().by_name("rester")["held"] == 3


def test_set_params_is_checked_before_it_is_sent(
    market: Market, host: Host, tmp_path: Path
) -> None:
    host.add_robot(Rester, name="rester")
    market.wait_for(hosts=1)

    assert host.set_params("rester", qty=3) == {"qty": 3, "away": 100, "orders": 1}
    with pytest.raises(RobotError, match="param qty would be 50, over 5 lots per order"):
        host.set_params("rester", qty=50)
    with pytest.raises(RobotError, match="qty must be positive, was -1; nothing sent"):
        host.set_params("rester", qty=-1)
    with pytest.raises(RobotError, match="colour"):
        host.set_params("rester", colour="red")
    with pytest.raises(RobotError, match="send decimals as strings"):
        host.set_params("rester", qty=Decimal(2))
    with pytest.raises(RobotError, match="needs at least one param"):
        host.set_params("rester")
    market.quote_until(90_000, 90_001, lambda: len(_working(market, "rester")) == 1)
    snapshot = host.snapshot("rester")
    host.stop()

    [order] = _working(market, "rester")
    assert order.qty == 3
    assert snapshot["params"] == {"qty": 3, "away": 100, "orders": 1}
    assert (snapshot["last_refusal"], snapshot["risk"]["refusals"]) == (None, {})
    assert [(c.action.value, c.params) for c in _controls(tmp_path / "journal", "rester")] == [
        ("set_params", {"qty": 3})  # the refused ones were never sent
    ]


def test_remove_robot_cancels_its_working_orders_first_and_names_them(
    market: Market, host: Host
) -> None:
    host.add_robot(Ladder, name="ladder", params={"rungs": 3})
    host.add_robot(Rester, name="rester")
    market.wait_for(hosts=1)
    market.quote(90_000, 90_001)
    wait_until(lambda: len(_working(market)) == 4, what="4 orders working")

    cancelled = host.remove_robot("ladder")

    assert sorted(cancelled) == ["ladder-1", "ladder-2", "ladder-3"]
    assert {o.state for o in market.store.orders(robot="ladder")} == {OrderState.CANCELLED}
    assert [row["name"] for row in host.robots()] == ["rester"]
    assert len(_working(market, "rester")) == 1  # another robot's order is left alone


def test_halt_cancels_every_working_order_and_halts_every_robot(market: Market, host: Host) -> None:
    host.add_robot(Ladder, name="low", params={"rungs": 4})
    host.add_robot(Ladder, name="lower", params={"rungs": 4})
    host.add_robot(Rester, name="rester")
    market.wait_for(hosts=1)
    market.quote(90_000, 90_001)
    wait_until(lambda: len(_working(market)) == 9, what="9 orders working")

    report = host.halt()

    assert (report.cancelled, report.robots, report.unconfirmed) == (9, 3, 0)
    assert str(report).startswith(
        "halted 3 robots; the gateway confirmed 9 cancels, no working order is left"
    )
    assert _working(market) == []
    assert {row["status"] for row in host.robots()} == {"halted"}
    assert {row["open_orders"] for row in host.robots()} == {0}
    with pytest.raises(RobotError, match="cannot pause rester: it is halted; nothing sent"):
        host.pause("rester")
    market.quote(90_010, 90_011)  # a halted robot trades no more
    host.wait_idle()
    assert len(market.store.orders()) == 9


def test_an_unknown_robot_name_lists_the_robots_there_are(market: Market, host: Host) -> None:
    host.add_robot(Rester, name="rester")
    host.add_robot(Ladder, name="ladder")
    expected = r"no robot named 'nobody' on this host \(robots: ladder, rester\)"

    for call in (host.pause, host.resume, host.remove_robot, host.snapshot):
        with pytest.raises(RobotError, match=expected):
            call("nobody")
    with pytest.raises(RobotError, match=expected):
        host.set_params("nobody", qty=2)


def test_every_control_is_journaled_with_its_sender_and_replayed_identically(
    market: Market, host: Host, tmp_path: Path
) -> None:
    host.add_robot(Rester, name="rester")
    market.wait_for(hosts=1)
    host.pause("rester", sender="ops-key")
    market.quote(90_000, 90_001)
    # the quote comes over the feed, the controls straight from here: let it arrive first
    wait_until(lambda: host.robots().by_name("rester")["held"] == 1, what="1 order held")
    host.set_params("rester", qty=2, sender="ops-key")
    host.resume("rester")
    market.quote_until(90_000, 90_001, lambda: len(_working(market, "rester")) == 1)
    host.wait_idle()
    live = host.snapshot("rester")
    host.stop()

    controls = _controls(tmp_path / "journal", "rester")
    replayed = replay(tmp_path / "journal", "rester")

    assert [(c.action.value, c.sender) for c in controls] == [
        ("pause", "ops-key"),
        ("set_params", "ops-key"),
        ("resume", "local"),
    ]
    assert replayed.faithful
    assert replayed.robot.snapshot() == live
    assert live["held"]["count"] == 1


def test_the_robots_row_marks_an_open_position_at_the_last_quote(
    market: Market, host: Host
) -> None:
    host.add_robot(Taker, name="taker", params={"target": 1})
    market.wait_for(hosts=1)
    market.quote_until(
        90_000, 90_001, lambda: host.robots().by_name("taker")["position"] == {"Si": 1}
    )

    market.quote(90_010, 90_012)  # mid 90,011: 10 over the 90,001 it paid

    wait_until(lambda: host.robots().by_name("taker")["upnl"] == "10", what="upnl marked")
    row = host.robots().by_name("taker")
    assert (row["open_orders"], row["held"], row["restarts"], row["quarantined"]) == (0, 0, 0, 0)


def test_halt_says_so_when_the_gateway_does_not_answer_in_time(tmp_path: Path) -> None:
    with live_host(tmp_path) as live:  # a test gateway that reads orders and answers nothing
        live.add_robot(Rester, name="rester", params={"orders": 2})
        live.publish(quote("Si", 90_000, 90_001, ts=1_700_000_000_000_000_000))
        live.gateway.commands(2)
        wait_until(lambda: live.host.robots().by_name("rester")["open_orders"] == 2)

        report = live.host.halt(timeout=0.5)
        cancels = live.gateway.commands(2)

        with pytest.raises(RobotError, match="the gateway has not answered the cancels of"):
            live.host.remove_robot("rester", timeout=0.2)
        row = live.host.robots().by_name("rester")  # still there, halted, its cancels pending

    assert (report.cancelled, report.robots, report.unconfirmed) == (0, 1, 2)
    assert "2 working orders had no answer after" in str(report)
    assert sorted(c.client_order_id for c in cancels) == ["rester-1", "rester-2"]
    assert (row["status"], row["open_orders"], row["cancelling"]) == ("halted", 2, 2)
