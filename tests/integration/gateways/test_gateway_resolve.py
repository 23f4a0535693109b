"""The gateway's side of reconciliation: ``[resolve, robot, client_order_id...]`` on recovery.

An id the gateway never received is stored as rejected, lost in transit, and
that rejection published once, under the robot's next seq; a late copy of the
order then gets no answer. An id it knows gets its reports sent again, to the asker, on
recovery.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gateways.store import OrderState, open_store
from gateways.store.base import UNKNOWN_SYMBOL
from tests.integration.gateways.gateway_wire import GatewayRig, order
from yard_actors.testing import wait_until
from yard_actors.wire.events import Fill, OrderAccepted, OrderRejected
from yard_actors.wire.names import LOST_IN_TRANSIT, RECOVERY_RESOLVE


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[GatewayRig]:
    rig = GatewayRig(open_store(f"sqlite:///{tmp_path}/orders.db"))
    yield rig
    rig.close()


def _resolve(rig: GatewayRig, robot: str, *client_order_ids: str) -> None:
    ids = [coid.encode() for coid in client_order_ids]
    rig.wire.recovery.send_multipart([RECOVERY_RESOLVE, robot.encode(), *ids])


def test_an_order_never_received_is_rejected_once_and_its_late_copy_gets_no_answer(
    rig: GatewayRig,
) -> None:
    wire = rig.wire
    wire.send(order("r-1"))
    [accepted] = wire.reports(1)

    _resolve(rig, "r", "r-2")
    [lost] = wire.reports(1)
    wire.send(order("r-2"))  # the copy that was in transit all along
    late = wire.quiet(0.3)

    assert isinstance(lost, OrderRejected)
    assert (lost.client_order_id, lost.reason, lost.seq) == ("r-2", LOST_IN_TRANSIT, 2)
    assert late == []
    assert rig.gateway.stats["duplicate_orders"] == 1
    assert rig.gateway.stats["lost_in_transit"] == 1
    record = rig.store.order("r-2")
    assert record is not None
    assert (record.state, record.reason, record.symbol) == (
        OrderState.REJECTED,
        LOST_IN_TRANSIT,
        UNKNOWN_SYMBOL,
    )
    assert [r.seq for r in rig.store.reports("r")] == [accepted.seq, 2]


def test_a_known_order_gets_its_reports_again_with_their_seqs(rig: GatewayRig) -> None:
    wire = rig.wire
    wire.send(order("k-1", price="100"))
    wire.send(order("k-2", price="90"))
    wire.reports(2)
    rig.quote(99, 100)  # fills k-1 (and the warm-up order) at 100
    [fill] = [r for r in wire.reports(1) if r.robot == "r"]

    _resolve(rig, "r", "k-1")
    again = wire.replied(3)  # from k-1's first report on: its acceptance, k-2's, k-1's fill
    more = wire.quiet(0.3)

    assert [(type(r).__name__, r.client_order_id, r.seq) for r in again] == [
        ("OrderAccepted", "k-1", 1),
        ("OrderAccepted", "k-2", 2),
        ("Fill", "k-1", 3),
    ]
    assert again[2] == fill
    assert more == []
    assert [r.seq for r in rig.store.reports("r")] == [1, 2, 3]  # nothing new stored


def test_one_request_settles_known_and_unknown_orders_alike(rig: GatewayRig) -> None:
    wire = rig.wire
    wire.send(order("m-1"))
    [accepted] = wire.reports(1)

    _resolve(rig, "r", "m-0", "m-1", "m-0")  # a repeat in the request counts once
    [lost] = wire.reports(1)
    [resent] = wire.replied(1)
    more = wire.quiet(0.3)

    assert isinstance(lost, OrderRejected)
    assert (lost.client_order_id, lost.seq) == ("m-0", 2)
    assert isinstance(resent, OrderAccepted)
    assert resent == accepted
    assert more == []


def test_another_robots_order_is_left_alone(rig: GatewayRig) -> None:
    wire = rig.wire
    wire.send(order("o-1", robot="other"))
    wire.reports(1)

    _resolve(rig, "r", "o-1")

    wait_until(lambda: rig.gateway.stats["dropped_recovery_other_robot"] == 1)
    assert wire.quiet(0.2) == []
    record = rig.store.order("o-1")
    assert record is not None
    assert record.state is OrderState.ACCEPTED


def test_a_resolve_for_a_filled_order_sends_its_fill_not_a_rejection(rig: GatewayRig) -> None:
    wire = rig.wire
    wire.send(order("f-1", price="100"))
    wire.reports(1)
    rig.quote(100, 100)
    filled = [r for r in wire.reports(1) if isinstance(r, Fill)]

    _resolve(rig, "r", "f-1")
    again = wire.replied(2)

    assert [type(r).__name__ for r in again] == ["OrderAccepted", "Fill"]
    assert again[1:] == filled
    assert not any(isinstance(r, OrderRejected) for r in wire.quiet(0.2))
