"""A host that joins while the gateway's store is down learns it: the status is repeated.

The gateway announces ``degraded`` on ``trades`` (topic ``$system``) when its
order store fails, and ``ok`` when it is back (docs/wire.md 4b). A host that
subscribes after the announcement still hears it: the gateway sends its last
status again with every tenth heartbeat, the same bytes, which a host that has
it drops as a repeat.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from gateways.order_gateway import COMPONENT
from gateways.store import open_store
from tests.integration.gateways.gateway_wire import GatewayRig, GatewayWire, order

pytestmark = pytest.mark.slow  # SQLite waits 5 s for the lock before the outage begins


def test_a_wire_that_joins_during_an_outage_hears_degraded_then_ok(tmp_path: Path) -> None:
    path = tmp_path / "orders.db"
    rig = GatewayRig(open_store(f"sqlite:///{path}"), store_retry_max_s=0.5)
    blocker = sqlite3.connect(path, isolation_level=None)
    late = None
    try:
        blocker.execute("BEGIN IMMEDIATE")  # another writer holds the lock from here
        rig.wire.send(order("o-1"))
        rig.wire.reports(1, timeout=20)  # refused, after SQLite's 5 s busy wait
        rig.status("degraded")

        late = GatewayWire(rig.context, rig.gateway.endpoints)  # subscribes after the news
        late.trades.subscribe(b"")
        late.wait_for(lambda: bool(late.statuses), 5, "a status on the late wire")
        heard_during = [(s.component, s.status) for s in late.statuses]
        late.wait_for(lambda: late.repeated_statuses >= 1, 5, "the status repeated")
        blocker.execute("ROLLBACK")
        late.wait_for(lambda: len(late.statuses) == 2, 10, "status ok on the late wire")
        rig.status("ok")
        first_wire = rig.wire.statuses
    finally:
        blocker.close()
        if late is not None:
            late.close()
        rig.close()

    assert heard_during == [(COMPONENT, "degraded")]
    assert [(s.component, s.status) for s in late.statuses] == [
        (COMPONENT, "degraded"),
        (COMPONENT, "ok"),
    ]
    assert late.statuses == first_wire  # the same events, ts and all: repeats, not news
