"""A cancel lost on the way to the gateway is sent again: real sockets, real processes.

A host keeps each cancel it sends until its answer arrives (``host/in_flight.py``) and
sends it again, as it was, after ``reply_timeout``, when its link to the gateway comes
back after a drop, and when a robot is restored awaiting an answer to it. The first
tests play the gateway on raw sockets to see the host's side alone; the last one runs
``yard gateway`` as a process and kills it with the cancel unread.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import pytest

from gateways.store import OrderState, open_store
from tests.integration.cancel_robots import RestThenCancel
from tests.integration.order_rig import (  # noqa: F401 - the *_fixture: pytest finds them
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
from yard_actors import CancelOrder, CancelReply, Host, NewOrder, decode, replay
from yard_actors.journal import read_robot
from yard_actors.testing import accepted, cancelled, wait_until

ROBOT = "canceller"


def _next_payload(gateway: FakeGateway, timeout: float) -> bytes | None:
    """The payload of the next command the gateway reads within ``timeout`` s, or None."""
    if not gateway.orders.poll(int(timeout * 1000)):
        return None
    _, payload = gateway.orders.recv_multipart()
    return payload


def _working_order(host: Host, feed: Feed, gateway: FakeGateway) -> NewOrder:
    """Add the robot, have it rest an order, accept it (seq 1) and wait until it works."""
    host.add_robot(RestThenCancel, name=ROBOT)
    feed.publisher.wait_for_subscribers(["Si"])
    feed.publish()
    order = gateway.next_order()
    gateway.report(attrs.evolve(accepted(order), seq=1))
    wait_until(
        lambda: [o["state"] for o in host.snapshot(ROBOT)["open_orders"]] == ["accepted"],
        what="the order working",
    )
    return order


def _report_until(gateway: FakeGateway, report: Any, condition: Callable[[], bool]) -> None:
    """Publish ``report`` every 0.1 s until ``condition`` holds (10 s at most)."""
    deadline = time.monotonic() + 10
    while True:
        gateway.report(report)
        try:
            wait_until(condition, timeout=0.1)
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            continue
        return


def _open(host: Host) -> list[Any]:
    return list(host.snapshot(ROBOT)["open_orders"])


def _cancel_reply(order: NewOrder, seq: int) -> CancelReply:
    return attrs.evolve(cancelled(order), seq=seq)


def _journaled_cancels(journal: Path) -> list[bytes]:
    entries = read_robot(journal, ROBOT).entries
    return [e.payload for e in entries if e.kind == "command" and b'"CancelOrder"' in e.payload]


def _drained(gateway: FakeGateway, quiet: float) -> list[bytes]:
    """Every command the gateway reads until none comes for ``quiet`` seconds."""
    payloads = []
    while (payload := _next_payload(gateway, quiet)) is not None:
        payloads.append(payload)
    return payloads


# --- the host's side, against a gateway played on raw sockets ------------------------------------


def test_an_unanswered_cancel_is_sent_again_as_it_was_every_reply_timeout_until_answered(
    feed: Feed, gateway: FakeGateway, tmp_path: Path
) -> None:
    journal = tmp_path / "journal"
    with rig_host(feed, gateway.urls, journal, reply_timeout=1.0) as host:
        order = _working_order(host, feed, gateway)
        feed.publish()
        first = _next_payload(gateway, timeout=5)
        again = _next_payload(gateway, timeout=5)
        cancelling = host.robots().by_name(ROBOT).get("cancelling")

        gateway.report(_cancel_reply(order, seq=2))
        wait_until(lambda: host.snapshot(ROBOT)["open_orders"] == [], what="the cancel answered")
        late = _drained(gateway, quiet=3.0)  # copies sent before the answer came; then none
        row = host.robots().by_name(ROBOT)

    assert first is not None
    assert isinstance(decode(first), CancelOrder)
    assert again == first  # the same bytes, not a new command
    assert all(payload == first for payload in late)
    assert cancelling == 1
    assert (row["awaiting"], row["cancelling"]) == (0, 0)
    assert _journaled_cancels(journal) == [first]  # journaled once, when the robot sent it
    assert replay(journal, ROBOT).faithful


def test_a_cancel_sent_before_the_link_to_the_gateway_dropped_is_sent_again_when_it_is_back(
    feed: Feed, gateway: FakeGateway, tmp_path: Path
) -> None:
    with rig_host(feed, gateway.urls, tmp_path / "journal", reply_timeout=60) as host:
        _working_order(host, feed, gateway)
        feed.publish()
        first = _next_payload(gateway, timeout=5)

        gateway.restart_orders()
        again = _next_payload(gateway, timeout=10)

    assert first is not None
    assert isinstance(decode(first), CancelOrder)
    assert again == first


def test_a_robot_restored_awaiting_the_answer_to_a_cancel_sends_it_again_at_once(
    feed: Feed, gateway: FakeGateway, tmp_path: Path
) -> None:
    journal = tmp_path / "journal"
    with rig_host(feed, gateway.urls, journal, reply_timeout=60) as host:
        order = _working_order(host, feed, gateway)
        feed.publish()
        first = _next_payload(gateway, timeout=5)

    with rig_host(feed, gateway.urls, journal, reply_timeout=60) as host:
        host.add_robot(RestThenCancel, name=ROBOT)
        again = _next_payload(gateway, timeout=5)
        cancelling = host.robots().by_name(ROBOT).get("cancelling")
        # again until heard: the new host's subscription may not have reached the PUB yet
        _report_until(gateway, _cancel_reply(order, seq=2), lambda: not _open(host))
        row = host.robots().by_name(ROBOT)

    assert first is not None
    assert again is not None
    resent, original = decode(again), decode(first)
    assert isinstance(resent, CancelOrder)
    assert isinstance(original, CancelOrder)
    assert (resent.client_order_id, resent.robot) == (original.client_order_id, ROBOT)
    assert cancelling == 1
    assert row["cancelling"] == 0
    assert _journaled_cancels(journal) == [first]
    assert replay(journal, ROBOT).faithful


# --- with `yard gateway` as a process ------------------------------------------------------------


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads /proc/net/tcp (Linux)")
def test_a_cancel_a_killed_gateway_never_read_is_answered_by_the_gateway_restarted_on_its_store(
    feed: Feed, real_gateway: Gateway, tmp_path: Path
) -> None:
    journal = tmp_path / "journal"
    with rig_host(feed, real_gateway.urls, journal, reply_timeout=60) as host:
        host.add_robot(RestThenCancel, name=ROBOT)
        feed.publisher.wait_for_subscribers(["Si"], count=2)  # the host and the gateway
        feed.publish()
        wait_until(
            lambda: [o["state"] for o in host.snapshot(ROBOT)["open_orders"]] == ["accepted"],
            timeout=10,
            what="the order working",
        )
        real_gateway.signal(signal.SIGSTOP)  # it reads nothing more...
        feed.publish()
        orders_port = int(real_gateway.urls["orders"].rsplit(":", 1)[1])
        wait_until(  # a quote, a robot's cancel and a tcp hop: wide on a loaded machine
            lambda: unread_bytes(orders_port) > 0,
            timeout=30,
            what="the cancel in the gateway's kernel",
        )
        real_gateway.kill()  # ...and dies with the cancel unread

        real_gateway.start()
        back = time.monotonic()
        wait_until(
            lambda: host.snapshot(ROBOT)["open_orders"] == [],
            timeout=20,
            what="the lost cancel answered",
        )
        answered_after = time.monotonic() - back
        snapshot = host.snapshot(ROBOT)
        row = host.robots().by_name(ROBOT)
    with open_store(real_gateway.store) as store:
        [stored] = store.orders(robot=ROBOT)

    assert answered_after < 20  # the reconnect sent it: reply_timeout (60 s) never came
    assert stored.state is OrderState.CANCELLED
    # the answer to the cancel; a second copy sent again on reconnect may get "already
    # cancelled" after it (in_flight.py: at worst one reply more than the robot asked for)
    first, *echoes = snapshot["state"]["replies"]
    assert first == f"{stored.client_order_id} cancelled=True"
    assert echoes in ([], [f"{stored.client_order_id} cancelled=False"])
    assert (row["awaiting"], row["cancelling"]) == (0, 0)
    assert replay(journal, ROBOT).faithful
