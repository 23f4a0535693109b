"""Tick-only and bar data, end to end (issue 14, item 7).

With a Finam tick file the summary used to show an unrealised P&L and a drawdown of 0.00
while a lot was held (they read quotes only); a Finam bar file became one invented tick
per bar. Now positions are marked at the last trade where there is no quote, and bars go
out as ``Bar`` events to ``on_bar``: through ``yard run`` and ``yard feed`` (real
processes, real sockets), a live host's actors, its journal and its replay.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import zmq

from gateways.feed import serve_feed
from yard_actors import Bar, HandlerResult, NewOrder, Robot, Tick, replay
from yard_actors.testing import bar, filled, live_host, tick, wait_until
from yard_actors.wire.codec import decode

pytestmark = pytest.mark.timeout(300)

MINUTE = 60 * 10**9
TS = 1_764_227_100_000_000_000 + MINUTE - 1  # the first nanosecond of 07:05Z, a minute on

# Robot modules are written beside yard.toml, as a user has them (no import of Bar in the
# tick robot's: the same module runs on a yard that predates bars, to show the old figure).
TICK_ROBOTS = '''
from yard_actors import Robot


class HoldOne(Robot):
    """Buys one lot at the first print's price and holds it."""

    symbols = ("Si",)

    def on_start(self):
        self.sent = False

    def on_tick(self, tick):
        if self.sent:
            return None
        self.sent = True
        return self.buy("Si", 1, tick.price)
'''

BAR_ROBOTS = '''
from yard_actors import Robot


class BarHolder(Robot):
    """Counts its bars; buys one lot at the first bar's close and holds it."""

    symbols = ("Si",)

    def on_start(self):
        self.bars = 0
        self.closes = []

    def on_bar(self, bar):
        self.bars += 1
        self.closes.append(str(bar.close))
        return self.buy("Si", 1, bar.close) if self.bars == 1 else None
'''


def yard(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``yard ARGS...`` as a real process, its table wide enough for every column."""
    return subprocess.run(
        [sys.executable, "-m", "yard_actors.app.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "COLUMNS": "200"},
    )


def write_project(tmp_path: Path, robots: str, data: list[str], robot_class: str) -> Path:
    (tmp_path / "my_robots.py").write_text(robots, encoding="utf-8")
    (tmp_path / "data.txt").write_text("\n".join(data) + "\n", encoding="utf-8")
    (tmp_path / "yard.toml").write_text(
        f'[feed]\nfiles = ["data.txt"]\n\n[[robots]]\nclass = "my_robots:{robot_class}"\n'
        'name = "holder"\n',
        encoding="utf-8",
    )
    return tmp_path


def summary_row(output: str, robot: str) -> list[str]:
    """The cells of ``robot``'s row of the summary table."""
    for line in output.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("│").split("│")]
        if cells[0] == robot:
            return cells
    pytest.fail(f"no row for {robot} in:\n{output}")


def finam_ticks(prices: list[int]) -> list[str]:
    """Si prints a second apart from 10:05 Moscow time, three lots each."""
    rows = ["<TICKER>;<PER>;<DATE>;<TIME>;<LAST>;<VOL>"]
    rows += [f"SPFB.Si;0;20251127;1005{n:02d};{price};3" for n, price in enumerate(prices)]
    return rows


def finam_bars(closes: list[int]) -> list[str]:
    """One-minute Si bars from 10:05 Moscow time, each ranging 10 points about its close."""
    rows = ["<TICKER>;<PER>;<DATE>;<TIME>;<OPEN>;<HIGH>;<LOW>;<CLOSE>;<VOL>"]
    rows += [
        f"SPFB.Si;1;20251127;10{5 + n:02d}00;{close - 5};{close + 10};{close - 10};{close};{10 + n}"
        for n, close in enumerate(closes)
    ]
    return rows


def test_yard_run_on_finam_ticks_marks_a_held_lot_at_the_last_trade(tmp_path: Path) -> None:
    # bought at 90000 (the second print reaches the resting buy), then 90010, 90030, 90020
    project = write_project(
        tmp_path, TICK_ROBOTS, finam_ticks([90000, 90000, 90010, 90030, 90020, 90025]), "HoldOne"
    )

    result = yard("run", "yard.toml", "--quiet", cwd=project)

    assert result.returncode == 0, result.stderr
    row = summary_row(result.stdout, "holder")
    assert row[-4:] == ["Si:+1", "-0.50", "25.00", "10.00"]  # unrealised 25; 29.5 fell to 19.5


def test_yard_run_on_finam_bars_hands_them_to_on_bar_and_the_journal_replays(
    tmp_path: Path,
) -> None:
    # bought at the first close, 90000: the next close, 89995, reaches it; then 90040, 90030
    project = write_project(
        tmp_path, BAR_ROBOTS, finam_bars([90000, 89995, 90040, 90030]), "BarHolder"
    )

    result = yard("run", "yard.toml", "--quiet", cwd=project)

    assert result.returncode == 0, result.stderr
    row = summary_row(result.stdout, "holder")
    assert row[-4:] == ["Si:+1", "-0.50", "30.00", "10.00"]
    [journal] = {path.parent for path in project.glob("yard-data/**/journal-*.yj")}
    replayed = yard("replay", str(journal), "holder", "--snapshot", cwd=project)
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    assert "identical" in replayed.stdout
    closes = r'"closes":\s*\[\s*"90000",\s*"89995",\s*"90040",\s*"90030"\s*\]'
    assert re.search(closes, replayed.stdout), replayed.stdout  # every bar reached on_bar


# --- yard feed: bars on the wire ---------------------------------------------------------------


@pytest.fixture
def context() -> Iterator[zmq.Context[zmq.Socket[bytes]]]:
    context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    yield context
    context.term()


def test_yard_feed_publishes_a_finam_bar_file_as_bars_under_their_symbol(
    tmp_path: Path, context: zmq.Context[zmq.Socket[bytes]]
) -> None:
    data = tmp_path / "bars.txt"
    data.write_text("\n".join(finam_bars([90000, 90010])) + "\n", encoding="utf-8")
    url = f"ipc://{tmp_path}/data"
    subscriber = context.socket(zmq.SUB)
    subscriber.setsockopt(zmq.LINGER, 0)
    subscriber.subscribe(b"Si")
    subscriber.connect(url)
    out, err = io.StringIO(), io.StringIO()
    codes: list[int] = []
    feed = threading.Thread(
        target=lambda: codes.append(
            serve_feed(
                [str(data)], url, sessions=False, wait_timeout=30, linger=10, out=out, err=err
            )
        ),
        name="test-feed",
    )
    feed.start()
    try:
        received: list[list[bytes]] = []
        deadline = time.monotonic() + 30
        while len(received) < 2 and subscriber.poll(
            max(0, int((deadline - time.monotonic()) * 1000))
        ):
            received.append(subscriber.recv_multipart())
    finally:
        feed.join(timeout=60)
        subscriber.close()

    assert not feed.is_alive()
    assert codes == [0], err.getvalue()
    assert [topic for topic, _ in received] == [b"Si", b"Si"]
    bars = [decode(payload) for _, payload in received]
    assert all(isinstance(event, Bar) for event in bars)
    assert [(b.close, b.volume, b.period_ns) for b in bars] == [  # type: ignore[union-attr]
        (90000, 10, MINUTE),
        (90010, 11, MINUTE),
    ]
    assert "(0 quotes, 0 ticks, 2 bars, 0 session changes)" in out.getvalue()


# --- a live host: bars to actors, journaled, replayed --------------------------------------------


class BarRecorder(Robot):
    """Keeps every close it sees; buys a lot whenever a bar closes above its open."""

    symbols = ("Si",)

    def on_start(self) -> None:
        self.closes: list[str] = []

    def on_bar(self, bar: Bar) -> HandlerResult:
        self.closes.append(str(bar.close))
        return self.buy(bar.symbol, 1, bar.close) if bar.close > bar.open else None


def test_a_live_host_hands_bars_to_on_bar_and_its_journal_replays_them_faithfully(
    tmp_path: Path,
) -> None:
    bars = [
        bar("Si", 90000, 90010, 89990, 90005, volume=7, ts=TS),
        bar("Si", 90005, 90006, 89980, 89990, volume=3, ts=TS + MINUTE),
        bar("Si", 89990, 90020, 89990, 90015, volume=9, ts=TS + 2 * MINUTE),
    ]
    with live_host(tmp_path) as live:
        live.add_robot(BarRecorder, name="bars")
        for event in bars:
            live.publish(event)
        wait_until(
            lambda: live.host.robots()[0]["events_in"] == len(bars),
            timeout=30,
            what="three bars reaching the robot",
        )
        snapshot: dict[str, Any] = live.snapshot("bars")

    result = replay(tmp_path, "bars", robot_class=BarRecorder)

    assert snapshot["state"]["closes"] == ["90005", "89990", "90015"]
    assert snapshot["order_seq"] == 2  # two bars closed above their open
    assert result.faithful
    assert result.robot.snapshot() == snapshot


class TickHolder(Robot):
    """Buys one lot at the first print's price and holds it."""

    symbols = ("Si",)

    def on_tick(self, tick: Tick) -> HandlerResult:
        return None if self.position("Si") or self.open_orders() else self.buy("Si", 1, tick.price)


def test_the_host_tables_upnl_marks_a_lot_held_on_ticks_alone_at_the_last_trade(
    tmp_path: Path,
) -> None:
    with live_host(tmp_path) as live:
        live.add_robot(TickHolder, name="holder")
        live.publish(tick("Si", 90000, ts=TS))
        order = live.next_command()
        assert isinstance(order, NewOrder)
        live.reply(filled(order, ts=TS + 1))
        live.publish(tick("Si", 90025, ts=TS + 2))

        wait_until(
            lambda: live.host.robots().by_name("holder")["events_in"] == 3,
            timeout=30,
            what="the fill and the second print reaching the robot",
        )
        row = live.host.robots().by_name("holder")

    assert (row["position"], row["upnl"]) == ({"Si": 1}, "25")
