"""A gateway killed between a batch's order changes and its reports (MongoDB): repaired on open.

The MongoDB store writes a batch's changed orders, then its reports, in two
commands. A process killed in between must not leave an order cancelled (or
accepted) in the store with no report of it: the reopened store's repair
writes each missing report, exactly once, under the seq it was given.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import attrs
import pytest
from pymongo import MongoClient

from gateways.store import MongoOrderStore
from tests.integration.gateways.store_orders import ACCEPTED, CANCELLED, TS, new_order
from yard_actors.testing import accepted, cancelled

_ROOT = Path(__file__).resolve().parents[3]

# Working orders o-1, o-2 (alpha) and a pending b-1 (beta), stored as a gateway does; then
# one batch cancels alpha's two and accepts beta's, and the process dies as the batch's
# reports go out: after its orders were written, before any of its reports.
_KILLED_MID_BATCH = textwrap.dedent(
    """
    import os, sys
    from pymongo.collection import Collection
    from gateways.store import MongoOrderStore
    from tests.integration.gateways.store_orders import ACCEPTED, CANCELLED, PENDING, TS, new_order
    from yard_actors.testing import accepted, cancelled

    store = MongoOrderStore(sys.argv[1])
    alpha = [new_order("o-1"), new_order("o-2", ts=TS + 1)]
    beta = new_order("b-1", robot="beta", ts=TS + 2)
    for order in alpha:
        with store.batch():
            store.add_pending(order)
            store.transition(order.client_order_id, ACCEPTED, ts=TS + 5, exchange_order_id="x")
            store.add_report("alpha", accepted(order))
    with store.batch():
        store.add_pending(beta)
    with store.batch():
        for order in alpha:
            store.transition(order.client_order_id, CANCELLED, ts=TS + 9)
            store.add_report("alpha", cancelled(order, ts=TS + 9))
        store.transition("b-1", ACCEPTED, ts=TS + 9, exchange_order_id="x-b")
        store.add_report("beta", accepted(beta))
        Collection.insert_many = lambda *args, **kwargs: os._exit(9)  # the SIGKILL's moment
    os._exit(1)  # not reached: the batch's end writes its reports
    """
)


@pytest.fixture
def killed_mid_batch(mongo_url: str) -> str:
    """The URL of a database a process left as it died between a batch's orders and reports."""
    died = subprocess.run(
        [sys.executable, "-c", _KILLED_MID_BATCH, mongo_url],
        cwd=_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert died.returncode == 9, died.stderr
    return mongo_url


def test_a_batch_killed_between_its_orders_and_reports_leaves_the_orders_changed(
    killed_mid_batch: str,
) -> None:
    client: MongoClient[dict[str, object]] = MongoClient(killed_mid_batch)
    try:
        database = client.get_default_database()
        states = {str(o["_id"]): o["state"] for o in database["orders"].find()}
        seqs = sorted((str(r["robot"]), int(str(r["seq"]))) for r in database["reports"].find())
    finally:
        client.close()

    # The half-written state the repair must complete: the changes are in, their reports not.
    assert states == {"o-1": "cancelled", "o-2": "cancelled", "b-1": "accepted"}
    assert seqs == [("alpha", 1), ("alpha", 2)]


def test_a_reopened_store_writes_each_report_a_kill_mid_batch_left_missing_exactly_once(
    killed_mid_batch: str,
) -> None:
    o_1, o_2 = new_order("o-1"), new_order("o-2", ts=TS + 1)
    b_1 = new_order("b-1", robot="beta", ts=TS + 2)

    with MongoOrderStore(killed_mid_batch) as store:
        repaired = store.repair()
        again = store.repair()
        alpha = [(r.seq, r.report) for r in store.reports("alpha")]
        beta = [(r.seq, r.report) for r in store.reports("beta")]
        next_seq = store.add_report("alpha", cancelled(o_1, ts=TS + 10, done=False)).seq
        states = {o.client_order_id: o.state for o in store.orders()}

    assert sorted((r.robot, r.seq) for r in repaired) == [("alpha", 3), ("alpha", 4), ("beta", 1)]
    assert again == []
    assert [seq for seq, _ in alpha] == [1, 2, 3, 4]
    assert alpha[2:] == [
        (3, attrs.evolve(cancelled(o_1, ts=TS + 9), seq=3)),
        (4, attrs.evolve(cancelled(o_2, ts=TS + 9), seq=4)),
    ]
    assert beta == [(1, attrs.evolve(accepted(b_1), seq=1))]
    assert next_seq == 5
    assert states == {"o-1": CANCELLED, "o-2": CANCELLED, "b-1": ACCEPTED}
