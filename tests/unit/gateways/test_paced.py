"""The paced gateway's order of commands (gateways/paced.py): by robot, each robot's in its
own order, each once the market has reached its ``ts``."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

from gateways.drops import Drops
from gateways.paced import PacedInput
from yard_actors.wire.codec import encode
from yard_actors.wire.events import CancelOrder, NewOrder, Side

TS = 1_764_226_800_000_000_000


def order(cid: str, robot: str, ts: int = TS) -> NewOrder:
    return NewOrder(
        ts=ts, client_order_id=cid, robot=robot, symbol="Si", side=Side.BUY, qty=1,
        price=Decimal(90000),
    )  # fmt: skip


def taken(*commands: NewOrder | CancelOrder) -> PacedInput:
    paced = PacedInput(Drops("test gateway", Counter()), Counter())
    for command in commands:
        paced.take_command([command.robot.encode(), encode(command)])
    paced.release()
    return paced


def test_a_release_orders_commands_by_robot_keeping_each_robots_own_order() -> None:
    paced = taken(
        order("z-1", "zed"), order("a-1", "amy"), order("z-2", "zed"), order("a-2", "amy")
    )

    due = paced.due(TS)

    assert [c.client_order_id for c in due] == ["a-1", "a-2", "z-1", "z-2"]


def test_a_command_ahead_of_the_market_waits_and_holds_its_robots_later_ones() -> None:
    paced = taken(order("a-1", "amy", TS + 5), order("a-2", "amy"), order("b-1", "bob"))

    now = paced.due(TS)
    later = paced.due(TS + 5)

    assert [c.client_order_id for c in now] == ["b-1"]
    assert [c.client_order_id for c in later] == ["a-1", "a-2"]


def test_before_an_event_only_commands_due_strictly_earlier_go() -> None:
    paced = taken(order("a-1", "amy", TS + 4), order("b-1", "bob", TS + 5))

    before = paced.due(TS + 5, before=True)
    after = paced.due(TS + 5)

    assert [c.client_order_id for c in before] == ["a-1"]
    assert [c.client_order_id for c in after] == ["b-1"]


def test_a_flush_takes_every_command_whatever_its_ts() -> None:
    paced = taken(order("a-1", "amy", TS + 10**12), order("a-2", "amy"))

    assert [c.client_order_id for c in paced.due(TS, flush=True)] == ["a-1", "a-2"]
    assert paced.waiting == []


def test_a_bad_command_is_counted_as_taken_and_dropped() -> None:
    stats: Counter[str] = Counter()
    paced = PacedInput(Drops("test gateway", stats), stats)

    paced.take_command([b"amy", b"not json"])
    paced.release()

    assert paced.commands_taken == 1
    assert paced.due(TS) == []
    assert sum(n for key, n in stats.items() if key.startswith("dropped_command")) == 1
