"""A failed robot restarted from its journal: state as if it never failed, intensity, quarantine.

Real parts: a Host with its journal files, the order gateway with the paper exchange and a
SQLite store (:class:`~tests.integration.test_orders.Market`), Pykka actors, ZeroMQ inproc.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateways.store import OrderState, open_store
from tests.integration.restart_robots import Counter
from tests.integration.test_orders import TS, Market
from yard_actors import Host, decode, replay
from yard_actors.errors import RobotError
from yard_actors.host.supervision_config import SupervisionConfig
from yard_actors.journal import iter_records
from yard_actors.testing import wait_until

POISON_BID = 66


@pytest.fixture
def market(tmp_path: Path) -> Iterator[Market]:
    market = Market(open_store(f"sqlite:///{tmp_path}/orders.db"), "inproc", tmp_path)
    yield market
    market.close()


@pytest.fixture(autouse=True)
def _well_behaved() -> Iterator[None]:
    yield
    Counter.crash_once = set()
    Counter.crash_at = 100
    Counter.fail_on_start = set()
    Counter.poison_bid = None
    Counter.slow_start = 0.0


def _state(host: Host, name: str) -> dict[str, Any]:
    return host.snapshot(name)["state"]  # type: ignore[no-any-return]


def _feed(market: Market, host: Host, names: list[str], quotes: int, bid: int = 100) -> None:
    """Publish quotes until ``quotes`` have been; each order is filled before the next one.

    The robots order on their 5th, 15th ... quote; the gateway has that quote before the
    order arrives, so the order rests until the next quote, which fills it.
    """
    while _published(market) < quotes:
        market.quote(bid, bid + 1)
        host.wait_idle()
        sent = [_orders_sent(host, n) for n in names]
        if sent != [len(_state(host, n)["fills"]) for n in names]:
            _fill(market, host, names, sent, bid)


def _fill(market: Market, host: Host, names: list[str], sent: list[int], bid: int) -> None:
    wait_until(lambda: [len(market.store.orders(robot=n)) for n in names] == sent)
    market.quote(bid, bid + 1)
    wait_until(lambda: [len(_state(host, n)["fills"]) for n in names] == sent, 10.0)


def _orders_sent(host: Host, name: str) -> int:
    return int(host.snapshot(name)["order_seq"])


def _published(market: Market) -> int:
    return (market.ts - TS) // 1_000_000


def _quotes_seen(host: Host, name: str) -> int:
    return int(_state(host, name)["quotes"])


def test_a_robot_that_raises_on_its_100th_quote_is_restarted_equal_to_an_uncrashed_twin(
    market: Market, tmp_path: Path
) -> None:
    Counter.crash_once = {"flaky"}
    with market.host(tmp_path / "journal") as host:
        host.add_robot(Counter, name="flaky")
        host.add_robot(Counter, name="twin")
        market.wait_for(hosts=1)

        _feed(market, host, ["flaky", "twin"], 150)
        row = {r["name"]: r for r in host.robots()}["flaky"]
        host.wait_idle()
        flaky, twin = host.snapshot("flaky"), host.snapshot("twin")

    assert (row["status"], row["restarts"], row["quarantined"], row["error"]) == (
        "running",
        1,
        0,
        None,
    )
    # What legitimately differs is the name, which is also in each client order id.
    assert json.loads(json.dumps(flaky).replace("flaky", "twin")) == twin
    assert flaky["state"]["quotes"] == _published(market)
    coids = [order.client_order_id for order in market.store.orders(robot="flaky")]
    assert len(coids) == len(set(coids)) == len(flaky["state"]["fills"])
    restarts = [r for r in iter_records(tmp_path / "journal") if r.kind == "restart"]
    assert [r.robot for r in restarts] == ["flaky"]


def _row(host: Host, name: str) -> dict[str, Any]:
    return {r["name"]: r for r in host.robots()}[name]


def test_a_poison_event_is_quarantined_after_two_failures_and_the_robot_runs_on(
    market: Market, tmp_path: Path
) -> None:
    journal = tmp_path / "journal"
    Counter.poison_bid = str(POISON_BID)
    with market.host(journal) as host:
        host.add_robot(Counter, name="victim")
        market.wait_for(hosts=1)
        _feed(market, host, ["victim"], 20)
        market.quote(POISON_BID, POISON_BID + 1)  # fails it live, then in its replay
        _feed(market, host, ["victim"], 40)
        host.wait_idle()
        row = _row(host, "victim")
        snapshot = host.snapshot("victim")

    assert (row["status"], row["restarts"], row["quarantined"], row["error"]) == (
        "running",
        1,
        1,
        None,
    )
    assert snapshot["state"]["quotes"] == _published(market) - 1  # all but the poison
    [quarantine] = [r for r in iter_records(journal) if r.kind == "quarantine"]
    assert quarantine.robot == "victim"
    [poison] = [r for r in iter_records(journal) if r.kind == "event" and r.seq == quarantine.seq]
    assert poison.payload is not None
    assert decode(poison.payload).bid == POISON_BID  # type: ignore[union-attr]
    replayed = replay(journal, "victim")  # yard replay skips it too
    assert replayed.skipped == (quarantine.seq,)
    assert replayed.robot.snapshot()["state"] == snapshot["state"]
    assert replayed.robot.status.value == "running"


def test_a_robot_failing_past_its_intensity_stays_failed_saying_why(
    market: Market, tmp_path: Path
) -> None:
    Counter.crash_once = {"doomed"}
    supervision = SupervisionConfig(max_restarts=2, within_s=30)
    with market.host(tmp_path / "journal", supervision=supervision) as host:
        host.add_robot(Counter, name="doomed")
        host.add_robot(Counter, name="bystander")
        market.wait_for(hosts=1)
        Counter.fail_on_start = {"doomed"}  # every rebuild of it fails from now on
        _feed(market, host, ["bystander"], 110)
        host.wait_idle()
        wait_until(lambda: (_row(host, "doomed")["error"] or "").startswith("failed 3 times"))
        doomed, bystander = _row(host, "doomed"), _row(host, "bystander")

        Counter.fail_on_start = set()  # fixed: restart(name) brings it back on demand
        sentence = host.restart("doomed")
        _feed(market, host, ["bystander"], 120)
        host.wait_idle()
        after = _row(host, "doomed")

    assert (doomed["status"], doomed["restarts"]) == ("failed", 2)
    assert doomed["error"] == (
        "failed 3 times within 30 s; not restarted: RuntimeError in on_start: cannot start"
    )
    assert (bystander["status"], bystander["restarts"]) == ("running", 0)
    assert sentence.startswith("doomed restarted from ")
    assert (after["status"], after["restarts"], after["error"]) == ("running", 3, None)


def test_restart_on_demand_rebuilds_a_running_robot_from_its_journal(
    market: Market, tmp_path: Path
) -> None:
    with market.host(tmp_path / "journal") as host:
        host.add_robot(Counter, name="steady")
        market.wait_for(hosts=1)
        _feed(market, host, ["steady"], 30)
        host.wait_idle()
        before = host.snapshot("steady")

        sentence = host.restart("steady", sender="tester")
        after = host.snapshot("steady")
        _feed(market, host, ["steady"], 40)  # and it runs on with live events
        host.wait_idle()
        later = host.snapshot("steady")
        row = _row(host, "steady")

    assert sentence.startswith("steady restarted from ")
    assert after == before
    assert later["state"]["quotes"] == _published(market)
    assert (row["status"], row["restarts"]) == ("running", 1)
    coids = [order.client_order_id for order in market.store.orders(robot="steady")]
    assert len(coids) == len(set(coids)) == len(later["state"]["fills"])
    [note] = [r.note for r in iter_records(tmp_path / "journal") if r.kind == "restart"]
    assert note is not None
    assert (note["sender"], note["cause"]) == ("tester", "asked by tester")


def test_restart_of_an_unknown_robot_names_the_known_ones(market: Market, tmp_path: Path) -> None:
    with market.host(tmp_path / "journal") as host:
        host.add_robot(Counter, name="steady")
        with pytest.raises(
            RobotError, match=r"no robot named 'nope' on this host \(robots: steady\)"
        ):
            host.restart("nope")


def test_an_order_only_the_replay_produced_is_asked_about_at_the_gateway_never_sent(
    market: Market, tmp_path: Path
) -> None:
    # It raises on its 15th quote, where it would buy: live, nothing is sent; its replay
    # buys there. That order is not sent late: the gateway, asked, calls it lost in transit.
    Counter.crash_once, Counter.crash_at = {"flaky"}, 15
    with market.host(tmp_path / "journal", reply_timeout=0.3) as host:
        host.add_robot(Counter, name="flaky")
        market.wait_for(hosts=1)
        _feed(market, host, [], 14)
        market.quote(100, 101)  # the 15th: it fails, and is restarted
        wait_until(lambda: _row(host, "flaky")["restarts"] == 1)
        wait_until(lambda: host.snapshot("flaky")["open_orders"] == [], 10.0)
        _feed(market, host, [], 24)
        market.quote(100, 101)  # the 25th: flaky-3 goes out
        wait_until(lambda: len(market.store.orders(robot="flaky")) == 3)

    orders = {o.client_order_id: o for o in market.store.orders(robot="flaky")}
    assert sorted(orders) == ["flaky-1", "flaky-2", "flaky-3"]
    assert orders["flaky-2"].state is OrderState.REJECTED
    rejected = [
        r.report for r in market.store.reports("flaky") if r.report.client_order_id == "flaky-2"
    ]
    assert [getattr(r, "reason", None) for r in rejected] == ["lost in transit"]


def test_events_arriving_during_a_restart_are_handled_after_it_in_order_and_others_run_on(
    market: Market, tmp_path: Path
) -> None:
    Counter.crash_once, Counter.crash_at = {"flaky"}, 3
    with market.host(tmp_path / "journal") as host:
        host.add_robot(Counter, name="flaky")
        host.add_robot(Counter, name="bystander")
        market.wait_for(hosts=1)
        Counter.slow_start = 3.0  # the rebuild takes 3 s: what comes meanwhile must wait
        for bid in range(1000, 1003):  # the third fails flaky
            market.quote(bid, bid + 1)
        wait_until(lambda: _row(host, "flaky")["status"] == "restarting")
        for bid in range(1003, 1103):  # reach flaky's mailbox during its rebuild
            market.quote(bid, bid + 1)
        # the bystander (pooled: on the same worker) handles them all meanwhile
        wait_until(lambda: _row(host, "bystander")["events_in"] >= 103)
        during = _row(host, "flaky")["status"]
        host.wait_idle(timeout=10.0)  # waits for the rebuild too
        wait_until(lambda: _all_accepted(host.snapshot("flaky")))  # its orders rest, above
        flaky = host.snapshot("flaky")
        row = _row(host, "flaky")

    assert during == "restarting"
    assert flaky["state"]["bids"] == list(range(1000, 1103))  # none lost, none twice, in order
    assert (row["status"], row["restarts"]) == ("running", 1)
    assert replay(tmp_path / "journal", "flaky").robot.snapshot() == flaky


def _all_accepted(snapshot: dict[str, Any]) -> bool:
    orders = snapshot["open_orders"]
    return len(orders) == snapshot["order_seq"] and all(o["state"] == "accepted" for o in orders)
