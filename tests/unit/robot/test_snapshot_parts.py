"""A snapshot keeps its rarely changing parts between calls: it must still be the whole truth.

After every kind of event that changes a kept part (a ``set_params`` control, a refused one,
a timer set and cancelled, orders sent, accepted, filled, held while paused, refused by a
limit), the snapshot of the robot that has been snapshotted all along equals, value and
JSON bytes, the snapshot of a fresh robot fed the same events and snapshotted once.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import attrs
import orjson

from yard_actors import Fill, NewOrder, Quote, Robot
from yard_actors.robot.risk import RiskLimits
from yard_actors.robot.robot import HandlerResult
from yard_actors.testing import RobotHarness
from yard_actors.wire.events import Timer


@attrs.frozen(kw_only=True)
class KeeperParams:
    qty: int = 2
    beat_ms: int = 5


class Keeper(Robot):
    """Bids ``qty`` at each quote's bid when it has no order; beats on a timer until a fill."""

    symbols = ("Si",)
    params_class = KeeperParams
    order_qty_params = ("qty",)

    def on_start(self) -> None:
        self.beats = 0
        self.mids: list[Decimal] = []
        self.fills: dict[str, int] = {}

    def on_quote(self, quote: Quote) -> HandlerResult:
        self.mids = [*self.mids[-2:], quote.mid]
        if "beat" not in self.timer_schedule and not self.fills:
            self.every("beat", self.params.beat_ms)
        if self.open_orders():
            return None
        return self.buy(quote.symbol, self.params.qty, quote.bid)

    def on_timer(self, timer: Timer) -> HandlerResult:
        self.beats += 1
        return None

    def on_fill(self, fill: Fill) -> HandlerResult:
        self.fills[fill.client_order_id] = self.fills.get(fill.client_order_id, 0) + fill.qty
        self.cancel_timer("beat")
        return None


def _orders(out: list[Any]) -> list[NewOrder]:
    return [command for command in out if isinstance(command, NewOrder)]


def _steps(harness: RobotHarness[Any]) -> list[tuple[str, Callable[[], object]]]:
    sent: list[NewOrder] = []

    def quote(bid: int) -> None:
        sent.extend(_orders(harness.quote("Si", bid, bid + 2)))

    return [
        ("first quote: an order, a timer set", lambda: quote(100)),
        ("the order accepted", lambda: harness.accept(sent[-1])),
        ("a quote with the order working", lambda: quote(101)),
        ("the timer fires", lambda: harness.timer("beat")),
        ("set_params", lambda: harness.control("set_params", qty=3, beat_ms=7)),
        ("set_params refused by the limit", lambda: harness.control("set_params", qty=9)),
        ("set_params refused by the class", lambda: harness.control("set_params", nope=1)),
        ("a partial fill: the timer cancelled", lambda: harness.fill(sent[-1], qty=1)),
        ("the rest filled, fee paid", lambda: harness.fill(sent[-1], qty=1, fee="0.5")),
        ("a new order at the new qty", lambda: quote(99)),
        ("paused", lambda: harness.control("pause")),
        ("the order rejected", lambda: harness.reject(sent[-1])),
        ("a quote while paused: held", lambda: quote(98)),
        ("resumed", lambda: harness.control("resume")),
        ("a quote: an order sent again", lambda: quote(97)),
        ("halted: its order cancelled", lambda: harness.control("halt")),
    ]


def _fresh_snapshot(harness: RobotHarness[Any]) -> dict[str, Any]:
    fresh, _ = harness.replay()
    return fresh.snapshot()


def test_every_snapshot_equals_a_fresh_robots_snapshot_after_the_same_events() -> None:
    harness = RobotHarness(Keeper, name="k", limits=RiskLimits(max_order_qty=5))
    harness.snapshot()  # every part built before the first event, kept from here on

    for what, step in _steps(harness):
        step()
        kept, fresh = harness.snapshot(), _fresh_snapshot(harness)
        assert kept == fresh, what
        assert orjson.dumps(kept) == orjson.dumps(fresh), what

    final = harness.snapshot()
    assert final["params"] == {"qty": 3, "beat_ms": 7}
    assert final["risk"]["refusals"] == {"max_order_qty": 1}
    assert final["held"]["count"] == 1
    assert final["timers"] == {}
    assert final["positions"]["Si"]["qty"] == 2
    assert final["open_orders"][0]["cancel_requested"] is True


def test_successive_snapshots_share_the_parts_that_did_not_change() -> None:
    harness = RobotHarness(Keeper, name="k")
    harness.quote("Si", 100, 102)
    before = harness.snapshot()

    harness.quote("Si", 101, 103)  # the order is still working: params, orders unchanged
    after_quote = harness.snapshot()
    harness.control("set_params", qty=4)
    after_control = harness.snapshot()

    assert after_quote["params"] is before["params"]
    assert after_quote["open_orders"] is before["open_orders"]
    assert after_quote["state"] is not before["state"]  # the robot's own state: always new
    assert after_control["params"] is not after_quote["params"]
    assert after_control["params"] == {"qty": 4, "beat_ms": 5}


class DictKeeper(Robot):
    """Plain-dict params that its own code changes in place."""

    symbols = ("Si",)

    def on_quote(self, quote: Quote) -> HandlerResult:
        self.params["last_bid"] = str(quote.bid)
        return None


def test_plain_dict_params_changed_in_place_show_in_the_next_snapshot() -> None:
    harness = RobotHarness(DictKeeper, name="d", params={"qty": 1})
    assert harness.snapshot()["params"] == {"qty": 1}

    harness.quote("Si", 100, 102)
    first = harness.snapshot()["params"]
    harness.quote("Si", 101, 103)

    assert first == {"last_bid": "100", "qty": 1}
    assert harness.snapshot()["params"] == {"last_bid": "101", "qty": 1}


class Windowed(Robot):
    """Public state of every kind the snapshot converts, and a private attribute set late."""

    symbols = ("Si",)

    def on_start(self) -> None:
        self.window: tuple[Decimal | int | None, ...] = ()
        self.by_symbol: dict[str, list[Decimal]] = {}
        self.tags: set[str] = set()

    def on_quote(self, quote: Quote) -> HandlerResult:
        self.window = (*self.window[-3:], quote.bid, 1, None)
        self.by_symbol.setdefault(quote.symbol, []).append(quote.ask)
        self.tags.add(f"b{quote.bid}")
        self._late = quote.ts  # private: never in the state
        self.late_public = quote.ts
        return None


def test_the_robots_own_state_converts_as_it_always_did() -> None:
    harness = RobotHarness(Windowed, name="w")
    harness.quote("Si", 100, 102)
    harness.quote("Si", "100.5", 103)

    state = harness.snapshot()["state"]

    assert list(state) == ["by_symbol", "late_public", "tags", "window"]
    assert state["window"] == ["100", 1, None, "100.5", 1, None]
    assert state["by_symbol"] == {"Si": ["102", "103"]}
    assert state["tags"] == ["b100", "b100.5"]
    assert state == _fresh_snapshot(harness)["state"]
