"""``yard run yard.toml`` twice, and ``--resume``, as a user runs them (issue 14, item 3).

Each run is a real ``yard`` process in a project folder with its own robot module
beside the config. A second run of one config starts afresh in a run folder of its
own and prints the same summary; ``--resume`` continues the last run and says so
before it starts; a robot changed since the run it resumes stops start-up (exit 2)
before any event is published.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import pytest

from gateways.store import open_store
from tests.integration.cli_process import yard
from yard_actors.journal import iter_records
from yard_actors.wire.codec import decode
from yard_actors.wire.events import OrderRejected, Quote

pytestmark = pytest.mark.slow

LIMIT = "3000"  # market events a run publishes: the sample day's first minutes, trading

ROBOT = '''
from __future__ import annotations

from decimal import Decimal

from yard_actors import Fill, Quote, Robot

EDGE = Decimal({edge})  # points below the bid it buys, above the ask it sells


class Edge(Robot):
    """One lot at a time: buys below the bid when flat, sells above the ask when long."""

    symbols = ("Si",)

    def on_quote(self, quote: Quote):
        if self.open_orders(quote.symbol):
            return None
        if self.position(quote.symbol) <= 0:
            return self.buy(quote.symbol, 1, quote.bid - EDGE)
        return self.sell(quote.symbol, 1, quote.ask + EDGE)

    def on_fill(self, fill: Fill):
        return None
'''

CONFIG = """
journal_dir = "yard-data/journal"
store = "sqlite:///yard-data/yard.db"

[[robots]]
class = "edge_robot:Edge"
name = "edge"

[[robots]]
class = "robots.market_maker:MarketMaker"
name = "mm-si"
symbols = ["Si"]
params = { half_spread_ticks = 3, max_position = 5, requote_ticks = 3 }
"""


def project(tmp_path: Path, *, edge: int = 2) -> Path:
    (tmp_path / "edge_robot.py").write_text(ROBOT.format(edge=edge), encoding="utf-8")
    (tmp_path / "yard.toml").write_text(CONFIG, encoding="utf-8")
    return tmp_path


def summary(out: str) -> str:
    """The summary table and the lines under it, up to the count of events."""
    return out[out.index("yard run: per-robot summary") : out.index(" events in ")]


def journaled_events(journal: Path) -> int:
    return sum(record.kind == "event" for record in iter_records(journal))


def orders_and_fills(store: Path) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    with open_store(f"sqlite:///{store}") as opened:
        orders = [
            (o.client_order_id, o.side, o.price, o.qty, o.state, o.created_ts)
            for o in opened.orders()
        ]
        fills = [(t.fill.client_order_id, t.fill.price, t.fill.ts) for t in opened.trades()]
    return orders, fills


def test_two_runs_of_one_config_get_two_run_folders_and_the_same_summary(tmp_path: Path) -> None:
    folder = project(tmp_path)

    first = yard("run", "yard.toml", "--limit", LIMIT, "--quiet", cwd=folder)
    second = yard("run", "yard.toml", "--limit", LIMIT, "--quiet", cwd=folder)

    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    data = folder / "yard-data"
    assert sorted(p.name for p in data.iterdir()) == ["run-0001", "run-0002"]
    assert first.stdout.startswith("yard run: a new run in yard-data/run-0001 ")
    assert second.stdout.startswith("yard run: a new run in yard-data/run-0002 ")
    assert summary(second.stdout) == summary(first.stdout)
    assert journaled_events(data / "run-0002" / "journal") == journaled_events(
        data / "run-0001" / "journal"
    )
    orders, fills = orders_and_fills(data / "run-0001" / "yard.db")
    assert orders, "the robots placed no order: the runs tell nothing apart"
    assert orders_and_fills(data / "run-0002" / "yard.db") == (orders, fills)


def test_resume_continues_the_last_run_and_says_so_before_it_starts(tmp_path: Path) -> None:
    folder = project(tmp_path)
    assert yard("run", "yard.toml", "--limit", LIMIT, "--quiet", cwd=folder).returncode == 0
    journal = folder / "yard-data" / "run-0001" / "journal"
    before = journaled_events(journal)

    store = folder / "yard-data" / "run-0001" / "yard.db"
    with open_store(f"sqlite:///{store}") as opened:
        placed = {o.client_order_id for o in opened.orders()}
        reached = max(o.updated_ts for o in opened.orders())

    resumed = yard("run", "yard.toml", "--resume", "--limit", LIMIT, "--quiet", cwd=folder)

    assert resumed.returncode == 0, resumed.stderr
    first_line = resumed.stdout.splitlines()[0]
    assert first_line.startswith(
        f"yard run: resuming yard-data/run-0001: {before:,} events journaled, robots edge, mm-si; "
        "market data after "
    )
    assert sorted(p.name for p in (folder / "yard-data").iterdir()) == ["run-0001"]
    assert journaled_events(journal) > before
    # The market goes on from where the run stopped: the robots' new orders are sent at
    # later data times, and the gateway takes them (none held back as "ahead of the market"
    # until the host gives them up as lost in transit).
    with open_store(f"sqlite:///{store}") as opened:
        new = [o for o in opened.orders() if o.client_order_id not in placed]
    assert new, "the resumed run placed no order"
    assert all(o.created_ts >= reached for o in new)
    events = [decode(cast(bytes, r.payload)) for r in iter_records(journal) if r.kind == "event"]
    first_quotes = max(e.ts for e in events[:before] if type(e) is Quote)
    assert all(e.ts > first_quotes for e in events[before:] if type(e) is Quote)
    assert not [e for e in events if type(e) is OrderRejected and "lost in transit" in e.reason]
    replayed = yard("replay", "yard-data/run-0001", "edge", cwd=folder)
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr  # 0: faithful


def test_a_robot_changed_since_the_run_it_resumes_stops_start_up_with_exit_2(
    tmp_path: Path,
) -> None:
    folder = project(tmp_path, edge=2)
    assert yard("run", "yard.toml", "--limit", LIMIT, "--quiet", cwd=folder).returncode == 0
    journal = folder / "yard-data" / "run-0001" / "journal"
    before = journaled_events(journal)
    project(tmp_path, edge=5)  # the same class, trading differently

    resumed = yard("run", "yard.toml", "--resume", "--limit", LIMIT, "--quiet", cwd=folder)

    assert resumed.returncode == 2
    assert resumed.stdout.startswith("yard run: resuming yard-data/run-0001: ")
    assert "per-robot summary" not in resumed.stdout
    error = resumed.stderr.strip().splitlines()[-1]
    assert error.startswith("yard: robot 'edge' replays its journal at ")
    assert "differently, so it cannot continue it: command #0 differs: journaled b'" in error
    assert journaled_events(journal) == before  # not one event published


def test_resume_without_a_run_to_resume_exits_2_and_makes_no_folder(tmp_path: Path) -> None:
    folder = project(tmp_path)

    result = yard("run", "yard.toml", "--resume", "--quiet", cwd=folder)

    assert result.returncode == 2
    assert "--resume: there is no run to resume in yard-data/" in result.stderr
    assert not (folder / "yard-data").exists()
