"""A store outage is retried with backoff, never fatal; what the store could not take, it gets.

SQLite: another connection holds the write lock. MongoDB: the nx-27017 server
is stopped and started again on the same port and files, mid-session. The
gateway is real, its sockets real; nothing is mocked.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gateways.order_gateway import COMPONENT
from gateways.store import OrderState, open_store
from gateways.store.base import OrderStore
from tests.integration.gateways.gateway_wire import TS, GatewayRig, cancel, order
from tests.integration.nx_restartable import NxServer
from yard_actors.testing import wait_until
from yard_actors.wire.events import CancelReply, Fill, OrderAccepted, OrderRejected
from yard_actors.wire.names import RECOVERY_RESOLVE, STORE_UNAVAILABLE

pytestmark = pytest.mark.slow  # SQLite waits 5 s for a lock; nx-27017 starts twice


def _rig(store: OrderStore, reopen: Callable[[], OrderStore] | None = None) -> GatewayRig:
    return GatewayRig(store, reopen_store=reopen, store_retry_max_s=0.5)


def _refused(report: object, client_order_id: str) -> bool:
    return (
        isinstance(report, OrderRejected)
        and report.client_order_id == client_order_id
        and report.reason == STORE_UNAVAILABLE
        and report.seq == 0
    )


def test_a_locked_sqlite_store_refuses_new_orders_then_takes_everything_held(
    tmp_path: Path,
) -> None:
    path = tmp_path / "orders.db"
    rig = _rig(open_store(f"sqlite:///{path}"))
    blocker = sqlite3.connect(path, isolation_level=None)
    try:
        wire = rig.wire
        wire.send(order("o-1"))
        [accepted] = wire.reports(1)
        blocker.execute("BEGIN IMMEDIATE")  # another writer holds the lock from here

        wire.send(order("o-2"))
        [refused] = wire.reports(1, timeout=20)  # after SQLite's 5 s busy wait
        rig.status("degraded")
        wire.send(cancel("o-1"))  # reaches the exchange; its reply waits for the store
        started = time.monotonic()
        wire.send(order("o-3"))
        [refused_at_once] = wire.reports(1)
        refused_in = time.monotonic() - started
        blocker.execute("ROLLBACK")
        [cancelled] = wire.reports(1)  # published as the outage ends
        rig.status("ok")
        wire.send(order("o-4"))
        [accepted_again] = wire.reports(1)
        wire.send(order("o-2"))  # a late copy of a refused order
        late = wire.quiet(0.3)
        health = rig.gateway.health()
    finally:
        blocker.close()
        rig.close()

    assert isinstance(accepted, OrderAccepted)
    assert accepted.seq == 1
    assert _refused(refused, "o-2")
    assert _refused(refused_at_once, "o-3")
    assert refused_in < 1.0  # not another busy wait: the store is not asked while it is down
    assert isinstance(cancelled, CancelReply)
    assert (cancelled.client_order_id, cancelled.cancelled, cancelled.seq) == ("o-1", True, 2)
    assert isinstance(accepted_again, OrderAccepted)
    assert (accepted_again.client_order_id, accepted_again.seq) == ("o-4", 3)
    assert late == []
    assert health["store_down"] == 0
    assert health["store_retries"] >= 1
    assert health["working_orders"] == 2  # o-4 and the warm-up order
    with open_store(f"sqlite:///{path}") as store:
        states = {o.client_order_id: o.state for o in store.orders(robot="r")}
        reasons = {o.client_order_id: o.reason for o in store.orders(robot="r")}
        seqs = [(r.seq, r.report.client_order_id) for r in store.reports("r")]
    assert states == {
        "o-1": OrderState.CANCELLED,
        "o-2": OrderState.REJECTED,
        "o-3": OrderState.REJECTED,
        "o-4": OrderState.ACCEPTED,
    }
    assert reasons["o-2"] == reasons["o-3"] == STORE_UNAVAILABLE
    assert seqs == [(1, "o-1"), (2, "o-1"), (3, "o-4")]


def test_the_outage_is_announced_in_market_time_not_by_the_wall_clock(tmp_path: Path) -> None:
    # Robots take an event's ts as their clock: a wall-clock status would move theirs
    # years ahead of the market's, past every risk window (and freeze their trading).
    path = tmp_path / "orders.db"
    rig = _rig(open_store(f"sqlite:///{path}"))
    blocker = sqlite3.connect(path, isolation_level=None)
    try:
        wire = rig.wire
        wire.send(order("o-1", price="101"))
        rig.quote(99, 101)  # market time: TS + 1 s
        accepted, filled = wire.reports(2)  # the gateway has seen the quote
        blocker.execute("BEGIN IMMEDIATE")
        wire.send(order("o-2"))
        [refused] = wire.reports(1, timeout=30)  # after SQLite's 5 s busy wait
        blocker.execute("ROLLBACK")
        rig.status("ok")
    finally:
        blocker.close()
        rig.close()

    assert (type(accepted), type(filled)) == (OrderAccepted, Fill)
    assert _refused(refused, "o-2")
    assert [(s.status, s.ts) for s in wire.statuses] == [
        ("degraded", TS + 10**9),
        ("ok", TS + 10**9),
    ]


def test_a_refused_order_its_robot_never_heard_of_is_answered_once_when_resolved(
    tmp_path: Path,
) -> None:
    path = tmp_path / "orders.db"
    rig = _rig(open_store(f"sqlite:///{path}"))
    blocker = sqlite3.connect(path, isolation_level=None)
    try:
        wire = rig.wire
        blocker.execute("BEGIN IMMEDIATE")
        wire.send(order("o-1"))
        wire.reports(1, timeout=20)  # the unnumbered refusal: say the host missed it
        blocker.execute("ROLLBACK")
        rig.status("ok")

        wire.recovery.send_multipart([RECOVERY_RESOLVE, b"r", b"o-1"])
        [answer] = wire.reports(1)
        wire.recovery.send_multipart([RECOVERY_RESOLVE, b"r", b"o-1"])
        [again] = wire.replied(1)  # stored now: sent to the asker, as a known order's
    finally:
        blocker.close()
        rig.close()

    assert isinstance(answer, OrderRejected)
    assert (answer.reason, answer.seq) == (STORE_UNAVAILABLE, 1)
    assert again == answer  # the stored report, sent again: a host drops the repeat by seq


# --- MongoDB: the server stops and starts again ---------------------------------------------


@pytest.fixture
def nx(tmp_path: Path) -> Iterator[NxServer]:
    server = NxServer(tmp_path)
    server.start()
    yield server
    server.stop()


def test_mongodb_stopped_and_started_again_takes_new_orders_without_a_hand(nx: NxServer) -> None:
    # A short server selection: the first order after the stop waits this long, not 30 s.
    url = nx.database_url("outage")
    rig = _rig(open_store(url), reopen=lambda: open_store(url))
    try:
        wire = rig.wire
        wire.send(order("o-1"))
        [accepted] = wire.reports(1)
        nx.stop()

        wire.send(order("o-2"))
        [refused] = wire.reports(1, timeout=20)
        rig.status("degraded")
        wire.send(order("o-3"))
        [refused_too] = wire.reports(1)
        wait_until(lambda: rig.gateway.health()["store_retries"] >= 2, timeout=20)  # one failed
        nx.start()
        rig.status("ok")
        wire.send(order("o-4"))
        [accepted_again] = wire.reports(1)
        wire.send(order("o-2"))  # a late copy of a refused order: no second answer
        late = wire.quiet(0.3)
        duplicates = rig.gateway.stats["duplicate_orders"]
        statuses = [(s.component, s.status) for s in wire.statuses]
    finally:
        rig.close()

    assert isinstance(accepted, OrderAccepted)
    assert accepted.seq == 1
    assert _refused(refused, "o-2")
    assert _refused(refused_too, "o-3")
    assert isinstance(accepted_again, OrderAccepted)
    assert (accepted_again.client_order_id, accepted_again.seq) == ("o-4", 2)
    assert late == []
    assert duplicates == 1
    assert statuses == [(COMPONENT, "degraded"), (COMPONENT, "ok")]
    with open_store(url) as store:
        states = {o.client_order_id: o.state for o in store.orders(robot="r")}
        seqs = [(r.seq, r.report.client_order_id) for r in store.reports("r")]
    assert states == {
        "o-1": OrderState.ACCEPTED,
        "o-2": OrderState.REJECTED,
        "o-3": OrderState.REJECTED,
        "o-4": OrderState.ACCEPTED,
    }
    assert seqs == [(1, "o-1"), (2, "o-4")]


def test_a_fill_made_while_mongodb_was_down_reaches_its_robot_once_it_is_back(
    nx: NxServer,
) -> None:
    url = nx.database_url("fills")
    rig = _rig(open_store(url), reopen=lambda: open_store(url))
    try:
        wire = rig.wire
        wire.send(order("o-1", price="100"))
        [accepted] = wire.reports(1)
        nx.stop()
        rig.quote(99, 100)  # the resting buy fills at 100: the store cannot take the fill
        rig.status("degraded")
        nx.start()
        [filled] = wire.reports(1, timeout=30)
        rig.status("ok")
        late = wire.quiet(0.3)
    finally:
        rig.close()

    assert accepted.seq == 1
    assert isinstance(filled, Fill)
    assert (filled.client_order_id, filled.qty, filled.seq) == ("o-1", 1, 2)
    assert late == []
    with open_store(url) as store:
        record = store.order("o-1")
        assert record is not None
        assert record.state is OrderState.FILLED
        assert [r.seq for r in store.reports("r")] == [1, 2]
        assert [t.fill.trade_id for t in store.trades(robot="r")] == [filled.trade_id]
