"""``yard run``'s order gateway opens its store anew after an outage, as ``yard gateway``'s does.

A store that failed may stay unusable (a MongoDB store whose write behind failed
refuses every call after), so both commands hand their gateway
:func:`gateways.store.reopener`. The outage here is real: another SQLite
connection holds the write lock.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
import zmq

from gateways.store import OrderState
from tests.integration.gateways.gateway_wire import GatewayWire, order
from yard_actors.app.config_file import system_settings
from yard_actors.app.yard_run import start_gateway
from yard_actors.wire.events import OrderAccepted, OrderRejected
from yard_actors.wire.names import STORE_UNAVAILABLE

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]  # SQLite waits 5 s for a lock


@pytest.fixture
def context() -> Iterator[zmq.Context[zmq.Socket[bytes]]]:
    context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    yield context
    context.term()


def test_yard_runs_gateway_takes_a_fresh_store_after_an_outage(
    tmp_path: Path, context: zmq.Context[zmq.Socket[bytes]]
) -> None:
    path = tmp_path / "orders.db"
    config = {"store": f"sqlite:///{path}", "paper": {"require_session": False}}
    settings = system_settings(config, source="<test>")
    gateway = start_gateway(
        settings, context=context, symbols=["Si"], security=settings.security.in_one_process()
    )
    first = gateway.store
    wire = GatewayWire(context, gateway.endpoints)
    blocker = sqlite3.connect(path, isolation_level=None)
    try:
        wire.subscribed()
        blocker.execute("BEGIN IMMEDIATE")  # another writer holds the lock from here
        wire.send(order("o-1"))
        [refused] = wire.reports(1, timeout=30)  # after SQLite's 5 s busy wait
        blocker.execute("ROLLBACK")
        wire.wait_for(lambda: any(s.status == "ok" for s in wire.statuses), 30, "status ok")
        wire.send(order("o-2"))
        [accepted] = wire.reports(1)
        in_use = gateway.store
        record = in_use.order("o-1")
    finally:
        blocker.close()
        wire.close()
        gateway.stop()
        gateway.store.close()
        first.close()

    assert isinstance(refused, OrderRejected)
    assert (refused.client_order_id, refused.reason) == ("o-1", STORE_UNAVAILABLE)
    assert isinstance(accepted, OrderAccepted)
    assert accepted.client_order_id == "o-2"
    assert in_use is not first  # opened anew, not the store that failed
    assert record is not None
    assert record.state is OrderState.REJECTED
