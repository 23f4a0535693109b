"""The spread trader: flat until the spread stretches, then both legs, then back to flat."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from robots.spread import SpreadParams, SpreadTrader
from yard_actors import NewOrder, RobotError, Side, replay
from yard_actors.testing import RobotHarness, quote, run_robot

pytestmark = pytest.mark.usefixtures("each_runtime")

PARAMS = {"window": 10, "entry": "1.5", "exit": "0.5"}


def _calm(harness: RobotHarness[Any], quotes: int = 10) -> None:
    for n in range(quotes):
        wiggle = n % 2
        harness.quote("Si", 90_000 + wiggle, 90_001 + wiggle)
        harness.quote("RTS", 110_000 - 10 * wiggle, 110_010 - 10 * wiggle)


def test_it_stays_flat_while_the_spread_is_calm() -> None:
    harness = RobotHarness(SpreadTrader, name="spread", params=PARAMS)

    _calm(harness)

    assert harness.commands == []


def test_a_stretched_spread_sells_the_rich_leg_and_buys_the_cheap_one() -> None:
    harness = RobotHarness(SpreadTrader, name="spread", params=PARAMS)
    _calm(harness)

    out = harness.quote("RTS", 113_000, 113_010)  # RTS jumps: the spread is stretched up

    orders = {o.symbol: o for o in out if isinstance(o, NewOrder)}
    assert (orders["RTS"].side, orders["RTS"].price) == (Side.SELL, Decimal(113_000))
    assert (orders["Si"].side, orders["Si"].price) == (Side.SELL, Decimal(90_001))
    assert isinstance(harness.robot, SpreadTrader)
    assert harness.robot.side == -1


def test_it_closes_both_legs_when_the_spread_comes_back() -> None:
    harness = RobotHarness(SpreadTrader, name="spread", params=PARAMS)
    _calm(harness)
    for order in harness.quote("RTS", 113_000, 113_010):
        assert isinstance(order, NewOrder)
        harness.fill(order)

    closing = []
    for _ in range(12):  # the spread comes back: z falls inside exit, both legs close
        for symbol, bid, ask in (("RTS", 110_000, 110_010), ("Si", 90_000, 90_001)):
            for order in harness.quote(symbol, bid, ask):
                assert isinstance(order, NewOrder)
                closing.append(order)
                harness.fill(order)

    assert sorted((o.symbol, o.side) for o in closing) == [("RTS", Side.BUY), ("Si", Side.BUY)]
    assert isinstance(harness.robot, SpreadTrader)
    assert harness.robot.side == 0
    assert (harness.robot.position("RTS"), harness.robot.position("Si")) == (0, 0)
    fresh, commands = harness.replay()
    assert commands == harness.commands
    assert fresh.snapshot() == harness.snapshot()


def test_params_are_checked() -> None:
    with pytest.raises(ValueError, match=r"exit must be in \[0, entry\), was exit=2 entry=1"):
        SpreadParams(entry=1, exit=2)  # "exit must be in [0, entry)"
    with pytest.raises(RobotError, match="window must be at least 10 quotes, was 3"):
        SpreadTrader("s", params={"window": 3})


def test_it_trades_both_legs_as_a_live_actor(tmp_path: Path) -> None:
    with run_robot(SpreadTrader, name="spread", params=PARAMS, journal_dir=tmp_path) as live:
        for n in range(10):
            wiggle = n % 2
            live.publish(quote("Si", 90_000 + wiggle, 90_001 + wiggle, ts=1_000 + 2 * n))
            live.publish(
                quote("RTS", 110_000 - 10 * wiggle, 110_010 - 10 * wiggle, ts=1_001 + 2 * n)
            )
        live.publish(quote("RTS", 113_000, 113_010, ts=2_000))
        legs = {c.symbol: c for c in live.gateway.commands(2) if isinstance(c, NewOrder)}

    assert (legs["RTS"].side, legs["Si"].side) == (Side.SELL, Side.SELL)
    assert replay(tmp_path, "spread").faithful
