"""Orders nobody answered are resolved with the gateway: real sockets, real processes.

A host asks the gateway's recovery endpoint about an order with no report (``resolve``,
``docs/wire.md`` 4a) after ``reply_timeout``, at once for a restored robot's unanswered
orders, and at once when its link to the gateway comes back after a drop. The first
tests play the gateway on raw sockets to see the host's side alone; the last ones run
``yard gateway`` and a host as processes and kill them. Plain tcp (``allow_insecure_tcp``):
these tests are about what is said, not who may say it (tests/integration/test_security.py).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from gateways.store import OrderState, open_store
from tests.integration.order_rig import (  # noqa: F401 - the *_fixture: pytest finds them
    ROOT,
    FakeGateway,
    Feed,
    Gateway,
    context_fixture,
    fake_gateway_fixture,
    feed_fixture,
    real_gateway_fixture,
    rig_host,
    unread_bytes,
)
from tests.integration.order_robots import Taker
from tests.integration.reconcile_robots import SlowBidder
from yard_actors import Host, NewOrder, OrderRejected, replay
from yard_actors.testing import wait_until
from yard_actors.wire.names import LOST_IN_TRANSIT, RECOVERY_RESOLVE


def _lost(order: NewOrder, seq: int) -> OrderRejected:
    return OrderRejected(
        ts=order.ts,
        client_order_id=order.client_order_id,
        robot=order.robot,
        reason=LOST_IN_TRANSIT,
        seq=seq,
    )


def _send_one_order(host: Host, feed: Feed, gateway: FakeGateway) -> NewOrder:
    host.add_robot(Taker, name="taker", params={"target": 1})
    feed.publisher.wait_for_subscribers(["Si"])
    feed.publish()
    return gateway.next_order()


# --- the host's side, against a gateway played on raw sockets ------------------------------------


def test_an_unanswered_order_is_asked_about_every_reply_timeout_until_a_report_comes(
    feed: Feed, gateway: FakeGateway, tmp_path: Path
) -> None:
    with rig_host(feed, gateway.urls, tmp_path / "journal", reply_timeout=0.5) as host:
        order = _send_one_order(host, feed, gateway)
        first = gateway.next_resolve(timeout=5)
        asked_at = time.monotonic()
        second = gateway.next_resolve(timeout=5)
        asked_again_after = time.monotonic() - asked_at

        gateway.report(_lost(order, seq=1))
        wait_until(lambda: host.snapshot("taker")["open_orders"] == [], what="the rejection")
        after_the_report = gateway.next_resolve(timeout=1.0)
        row = host.robots().by_name("taker")

    assert first == second == [RECOVERY_RESOLVE, b"taker", b"taker-1"]
    assert asked_again_after >= 0.4
    assert after_the_report is None
    assert row["awaiting"] == 0
    result = replay(tmp_path / "journal", "taker")
    assert result.faithful
    assert [e.reason for e in result.events if isinstance(e, OrderRejected)] == [LOST_IN_TRANSIT]


def test_a_restored_robot_asks_at_once_about_the_orders_its_journal_has_no_reply_for(
    feed: Feed, gateway: FakeGateway, tmp_path: Path
) -> None:
    journal = tmp_path / "journal"
    with rig_host(feed, gateway.urls, journal, reply_timeout=60) as host:
        order = _send_one_order(host, feed, gateway)

    with rig_host(feed, gateway.urls, journal, reply_timeout=60) as host:
        started = time.monotonic()
        host.add_robot(Taker, name="taker", params={"target": 1})
        asked = gateway.next_resolve(timeout=5)
        waited = time.monotonic() - started
        awaiting = host.robots().by_name("taker")["awaiting"]
        gateway.report(_lost(order, seq=1))
        wait_until(lambda: host.snapshot("taker")["open_orders"] == [], what="the rejection")

    assert asked == [RECOVERY_RESOLVE, b"taker", b"taker-1"]
    assert waited < 5
    assert awaiting == 1
    assert replay(journal, "taker").faithful


def test_orders_sent_before_the_link_to_the_gateway_dropped_are_asked_about_when_it_is_back(
    feed: Feed, gateway: FakeGateway, tmp_path: Path
) -> None:
    with rig_host(feed, gateway.urls, tmp_path / "journal", reply_timeout=60) as host:
        _send_one_order(host, feed, gateway)

        gateway.restart_orders()
        asked = gateway.next_resolve(timeout=5)

    assert asked == [RECOVERY_RESOLVE, b"taker", b"taker-1"]


# --- with `yard gateway` and hosts as processes ---------------------------------------------------


def _quote_until(feed: Feed, condition: Any, timeout: float = 10.0) -> None:
    """Publish the market again until ``condition`` holds (the next order fills)."""
    deadline = time.monotonic() + timeout
    while True:
        feed.publish()
        try:
            wait_until(condition, timeout=0.05)
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            continue
        return


def _yard_replay(journal: Path, robot: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "yard_actors.app.cli", "replay", str(journal), robot],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        text=True,
        capture_output=True,
        timeout=60,
        check=False,
    )


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads /proc/net/tcp (Linux)")
def test_an_order_a_killed_gateway_never_read_comes_back_lost_in_transit_once_it_is_back(
    feed: Feed, real_gateway: Gateway, tmp_path: Path
) -> None:
    journal = tmp_path / "journal"
    reply_timeout = 2.0
    with rig_host(feed, real_gateway.urls, journal, reply_timeout=reply_timeout) as host:
        host.add_robot(Taker, name="taker", params={"target": 1})
        feed.publisher.wait_for_subscribers(["Si"], count=2)  # the host and the gateway
        real_gateway.signal(signal.SIGSTOP)  # it reads nothing more...
        feed.publish()
        orders_port = int(real_gateway.urls["orders"].rsplit(":", 1)[1])
        wait_until(lambda: unread_bytes(orders_port) > 0, what="taker-1 in the gateway's kernel")
        real_gateway.kill()  # ...and dies with taker-1 unread

        real_gateway.start()
        back = time.monotonic()
        wait_until(
            lambda: host.snapshot("taker")["open_orders"] == [],
            timeout=reply_timeout + 5,
            what="the lost order's rejection",
        )
        answered_after = time.monotonic() - back
        with open_store(real_gateway.store) as store:
            lost = [r.report for r in store.reports("taker")]
        _quote_until(feed, lambda: host.snapshot("taker")["positions"].get("Si", {}).get("qty"))
        row = host.robots().by_name("taker")

    assert answered_after < reply_timeout + 1
    assert [(type(r), r.client_order_id, getattr(r, "reason", None)) for r in lost[:1]] == [
        (OrderRejected, "taker-1", LOST_IN_TRANSIT)
    ]
    assert row["awaiting"] == 0
    result = replay(journal, "taker")
    assert [e.client_order_id for e in result.events if isinstance(e, OrderRejected)] == ["taker-1"]
    verdict = _yard_replay(journal, "taker")
    assert verdict.returncode == 0, verdict.stdout + verdict.stderr
    assert "faithful" in verdict.stdout


def test_a_host_killed_mid_burst_restarts_with_no_order_the_gateway_did_not_get(
    feed: Feed, real_gateway: Gateway, tmp_path: Path
) -> None:
    # Where the kill lands is up to the machine: it may find every journaled quote handled
    # (or the journal's tail not yet written), and then no order is left unsent. Each
    # attempt must keep every invariant; up to three attempts for one that lands mid-burst.
    lost: set[str] = set()
    for attempt, name in enumerate(("bidder", "bidder-b", "bidder-c")):
        lost = _kill_mid_burst(feed, real_gateway, tmp_path / f"attempt-{attempt}", name)
        if lost:
            break
    assert lost, "in three attempts the kill never left an order unsent: it did not land mid-burst"


def _kill_mid_burst(feed: Feed, real_gateway: Gateway, directory: Path, name: str) -> set[str]:
    """Kill a host mid-burst, restart it, check the invariants; the orders lost in transit."""
    journal = directory / "journal"
    host = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.integration.host_process",
            *("--data", feed.url),
            *("--orders", real_gateway.urls["orders"]),
            *("--trades", real_gateway.urls["trades"]),
            *("--recovery", real_gateway.urls["recovery"]),
            *("--control", "tcp://127.0.0.1:*"),
            *("--journal", str(journal)),
            *("--robot", name),
            *("--robot-class", "tests.integration.reconcile_robots:SlowBidder"),
            *("--fills", "1000", "--timeout", "120"),
            "--allow-insecure-tcp",
        ],
        cwd=ROOT,
        text=True,
        stdout=subprocess.PIPE,
    )
    try:
        assert host.stdout is not None
        assert host.stdout.readline().strip() == "ready"
        feed.publisher.wait_for_subscribers(["Si"], count=2)
        for _ in range(500):  # one burst: the robot takes 1 ms a quote, an order every 5th
            feed.publish()
        with open_store(real_gateway.store) as store:
            wait_until(lambda: len(store.orders(robot=name)) >= 10, timeout=30)
        host.kill()  # mid-burst: journaled quotes unhandled, sent orders unjournaled
        host.communicate(timeout=30)
    finally:
        if host.poll() is None:
            host.kill()
            host.communicate(timeout=30)

    with rig_host(feed, real_gateway.urls, journal, reply_timeout=2.0) as restarted:
        restarted.add_robot(SlowBidder, name=name)

        def settled() -> bool:
            orders = restarted.snapshot(name)["open_orders"]
            return all(o["state"] == "accepted" for o in orders)

        wait_until(settled, timeout=30, what="every restored order answered")
        snapshot = restarted.snapshot(name)
        awaiting = restarted.robots().by_name(name)["awaiting"]
    with open_store(real_gateway.store) as store:
        stored = {o.client_order_id: o for o in store.orders(robot=name)}
        lost = {
            r.report.client_order_id
            for r in store.reports(name)
            if isinstance(r.report, OrderRejected) and r.report.reason == LOST_IN_TRANSIT
        }

    robot_open = {o["client_order_id"] for o in snapshot["open_orders"]}
    store_open = {c for c, o in stored.items() if o.state is OrderState.ACCEPTED}
    made = {f"{name}-{n}" for n in range(1, snapshot["order_seq"] + 1)}
    assert awaiting == 0
    assert robot_open == store_open  # the robot and the store agree on what works
    assert lost.isdisjoint(robot_open)
    assert made == set(stored) | lost  # every order the robot made is known to the gateway
    verdict = _yard_replay(journal, name)
    assert verdict.returncode == 0, verdict.stdout + verdict.stderr
    assert "faithful" in verdict.stdout
    return lost
