"""Live/backtest parity (issue 15, item 2): the same data through ``yard run`` and a backtest.

``yard run`` in market time (feed, paced gateway, host, one robot, paper exchange with no
latency, SQLite store) and the one-thread backtest over the same events must leave the
same orders (client ids, side, price, qty, status) and the same fills (price, qty, ts) in
their stores: on the sample day (with and without latency, one robot and two sharing the
quotes' size), and on a Finam tick file. The same backtest twice leaves the same stores
and journals.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gateways.store import open_store
from yard_actors.app.backtest_command import market_of
from yard_actors.app.cli import main
from yard_actors.app.config_file import system_settings
from yard_actors.app.yard_run import fresh_run_dir, in_run_dir, run_all
from yard_actors.backtest import BacktestSession
from yard_actors.journal import iter_records

from .test_lockstep import write_finam_ticks

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

SAMPLE_EVENTS = 20_000  # the sample day's first hours: both example robots trade all along
TREND = {
    "class": "robots.trend:TrendFollower",
    "name": "trend-si",
    "symbols": ["Si"],
    "params": {"fast": 20, "slow": 120, "qty": 1},
}
MAKER = {
    "class": "robots.market_maker:MarketMaker",
    "name": "mm-si",
    "symbols": ["Si"],
    "params": {"half_spread_ticks": 3, "max_position": 5, "requote_ticks": 3},
}
TICK_TREND = {"class": "tests.integration.tick_robots:TickTrend", "name": "trend-si"}


def stores_of(url: str, name: str) -> dict[str, Any]:
    """The robot's orders and fills in the store at ``url``, in the store's order."""
    with open_store(url) as store:
        orders = [
            (o.client_order_id, o.side, o.price, o.qty, o.state, o.filled_qty)
            for o in store.orders(robot=name)
        ]
        fills = [
            (f.client_order_id, f.price, f.qty, f.ts)
            for f in (t.fill for t in store.trades(robot=name))
        ]
    return {"orders": orders, "fills": fills}


def live(tmp_path: Path, config: dict[str, Any], limit: int | None) -> dict[str, Any]:
    """``yard run`` at full speed, market time, as the CLI runs it (in process)."""
    settings = in_run_dir(
        system_settings(config, source="<test>"), fresh_run_dir(tmp_path / "live")
    )
    assert run_all(settings, speed=None, live=False, limit=limit) == 0
    return stores_of(settings.store, settings.host.robots[0].name)


def backtest(run_dir: Path, config: dict[str, Any], limit: int | None) -> dict[str, Any]:
    """The backtest of the config's one robot, over the market ``yard backtest`` reads."""
    settings = system_settings(config, source="<test>")
    robot = settings.host.robots[0]
    events = market_of(settings, settings.feed.files, limit)
    with BacktestSession(
        run_dir, [robot], paper=settings.paper, instruments=settings.instruments
    ) as session:
        session.run(events)
        url = session.store_url
    return stores_of(url, robot.name)


def assert_parity(tmp_path: Path, config: dict[str, Any], limit: int | None) -> None:
    from_live = live(tmp_path, config, limit)
    from_backtest = backtest(tmp_path / "backtest", config, limit)

    assert len(from_live["fills"]) > 10, f"too few fills to tell the runs apart: {from_live}"
    assert from_backtest["orders"] == from_live["orders"]
    assert from_backtest["fills"] == from_live["fills"]


@pytest.mark.parametrize("robot", [TREND, MAKER], ids=["trend", "market-maker"])
def test_a_backtest_sends_and_fills_as_yard_run_does_on_the_sample_day(
    tmp_path: Path, robot: dict[str, Any]
) -> None:
    assert_parity(tmp_path, {"robots": [robot]}, SAMPLE_EVENTS)


def test_two_robots_sharing_the_quotes_size_trade_as_they_do_in_yard_run(tmp_path: Path) -> None:
    config = {"robots": [MAKER, TREND]}
    settings = in_run_dir(system_settings(config, source="<test>"), fresh_run_dir(tmp_path))
    assert run_all(settings, speed=None, live=False, limit=SAMPLE_EVENTS) == 0
    robots = list(system_settings(config, source="<test>").host.robots)
    run_dir = tmp_path / "backtest"

    with BacktestSession(run_dir, robots, paper=settings.paper) as session:
        session.run(market_of(settings, (), SAMPLE_EVENTS))

    for name in ("mm-si", "trend-si"):
        from_live = stores_of(settings.store, name)
        assert len(from_live["fills"]) > 10
        assert stores_of(f"sqlite:///{run_dir / 'yard.db'}", name) == from_live, name


def test_yard_backtest_on_the_command_line_sends_and_fills_as_yard_run_does(
    tmp_path: Path,
) -> None:
    from_live = live(tmp_path, {"robots": [TREND]}, SAMPLE_EVENTS)
    out = tmp_path / "cli"
    args = ["robots.trend:TrendFollower", "--name", "trend-si", "--symbols", "Si"]
    args += ["--limit", str(SAMPLE_EVENTS), "--out", str(out)]

    code = main(["backtest", *args, "--params", "fast=20", "slow=120", "qty=1"])

    assert code == 0
    assert stores_of(f"sqlite:///{out / 'yard.db'}", "trend-si") == from_live


def test_a_backtest_applies_the_paper_exchanges_latency_as_yard_run_does(tmp_path: Path) -> None:
    config = {"robots": [MAKER], "paper": {"latency_ms": 3}}

    assert_parity(tmp_path, config, SAMPLE_EVENTS // 2)


def test_a_backtest_sends_and_fills_as_yard_run_does_on_a_finam_file(tmp_path: Path) -> None:
    data = write_finam_ticks(tmp_path / "si-rts.txt", ticks=6_000)

    assert_parity(tmp_path, {"feed": {"files": [str(data)]}, "robots": [TICK_TREND]}, None)


def test_the_same_backtest_twice_leaves_the_same_store_and_journal(tmp_path: Path) -> None:
    config = {"robots": [MAKER]}
    first = backtest(tmp_path / "one", config, 5_000)
    second = backtest(tmp_path / "two", config, 5_000)

    assert first == second
    assert len(first["fills"]) > 3
    journals = [list(iter_records(tmp_path / run / "journal")) for run in ("one", "two")]
    assert journals[0] == journals[1]
