"""The end-of-run summary: each robot's status, its rejects, and the orders it left working."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from gateways.store import OrderRecord, OrderState
from yard_actors import Side
from yard_actors.app.summary import exit_code, notes, summarize
from yard_actors.wire.events import TimeInForce


def _order(n: int, state: OrderState, *, filled: int = 0, reason: str = "") -> OrderRecord:
    return OrderRecord(
        client_order_id=f"mm-{n}",
        robot="mm",
        symbol="Si",
        side=Side.BUY,
        qty=2,
        price=Decimal(90000 - n),
        tif=TimeInForce.DAY,
        state=state,
        filled_qty=filled,
        filled_value=Decimal(filled * (90000 - n)),
        created_ts=n,
        updated_ts=n,
        exchange_order_id="",
        reason=reason,
        history=(),
    )


def _snapshot(name: str, status: str, *, refusals: int = 0, error: str | None = None) -> Any:
    return {
        "name": name,
        "status": status,
        "events": 10,
        "positions": {},
        "pnl": "0",
        "error": error,
        "risk": {"refusals": {"max_position": refusals} if refusals else {}},
    }


def test_rejects_count_the_stores_rejections_and_the_robots_own_refusals() -> None:
    orders = [
        _order(1, OrderState.FILLED, filled=2),
        _order(2, OrderState.REJECTED, reason="session closed"),
        _order(3, OrderState.ACCEPTED),
        _order(4, OrderState.PARTIALLY_FILLED, filled=1),
    ]

    [row] = summarize([_snapshot("mm", "running", refusals=3)], {"mm": orders}, {}, [])

    assert (row.status, row.orders, row.rejects) == ("running", 4, 1 + 3)
    assert [order.client_order_id for order in row.working] == ["mm-3", "mm-4"]
    assert notes([row]) == [
        "left working: mm buy 2 Si @ 89997 (mm-3, accepted)",
        "left working: mm buy 2 Si @ 89996 (mm-4, partially_filled, 1 filled)",
    ]
    assert exit_code([row]) == 0


def test_a_failed_robot_is_named_with_its_error_and_makes_the_exit_code_1() -> None:
    snapshots = [
        _snapshot("ok", "running"),
        _snapshot("bad", "failed", error="ValueError in on_quote: boom"),
    ]

    rows = summarize(snapshots, {}, {}, [])

    assert [row.status for row in rows] == ["running", "failed"]
    assert notes(rows) == ["robot bad failed: ValueError in on_quote: boom"]
    assert exit_code(rows) == 1
