"""Any instrument, end to end (issue 14, item 6): ``yard run`` over a Finam export of Brent
(``SPFB.BR``), a robot beside the config buying and selling it on its cent grid, fills from
the paper exchange, and the summary's P&L in roubles at the configured dollar rate.

Today's main refused all of it: BR was not in the instrument table, so the robot's orders
were rejected ("symbol SPFB.BR is not listed") and P&L was in price points. ``yard gateway``
and ``yard feed`` read the same ``[instruments]`` with ``--config``.
"""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest
import zmq

from tests.integration.cli_process import yard
from yard_actors import decode, encode
from yard_actors.robot.book import Position
from yard_actors.wire.events import NewOrder, OrderRejected, Side

pytestmark = pytest.mark.timeout(300)

USD_RUB = Decimal(90)
BARRELS = 10  # a BR contract: its point (one dollar a barrel) is worth 10 dollars

ROBOT = '''\
"""Buys Brent a tick below the last print when flat, sells it a tick above when long."""

from yard_actors import HandlerResult, Robot, Tick


class BrentTicker(Robot):
    symbols = ("BR",)

    def on_tick(self, tick: Tick) -> HandlerResult:
        if self.open_orders(tick.symbol):
            return None
        step = self.instrument(tick.symbol).tick  # 0.01: a cent a barrel
        if self.position(tick.symbol) <= 0:
            return self.buy(tick.symbol, 1, tick.price - step)
        return self.sell(tick.symbol, 1, tick.price + step)
'''

CONFIG = """\
[feed]
files = ["SPFB.BR_ticks.txt"]

[[robots]]
class = "br_robot:BrentTicker"
name = "brent"
symbols = ["BR"]
"""


def _write_brent_ticks(path: Path, ticks: int) -> None:
    """Finam ticks of the Brent continuous contract from 10:00 Moscow time, on its cent grid:
    a seeded wobble up and down ten cents, so a robot's resting orders are reached often."""
    rng = random.Random(6)
    rows = ["<TICKER>;<PER>;<DATE>;<TIME>;<LAST>;<VOL>"]
    for n in range(ticks):
        price = 6540 + abs(n % 20 - 10) + rng.choice((-1, 0, 0, 1))  # cents
        ms = 250 * n
        clock = f"{10 + ms // 3_600_000:02d}{ms // 60_000 % 60:02d}{ms // 1000 % 60:02d}"
        rows.append(f"SPFB.BR;0;20251127;{clock};{price // 100}.{price % 100:02d};{1 + n % 4}")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")


@pytest.fixture
def brent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("COLUMNS", "200")  # the table's figures whole, whatever the terminal
    _write_brent_ticks(tmp_path / "SPFB.BR_ticks.txt", 1_500)
    (tmp_path / "br_robot.py").write_text(ROBOT, encoding="utf-8")
    return tmp_path


Trade = tuple[str, str, int, str, str]  # symbol, side, qty, price, fee


def _store_rows(folder: Path) -> tuple[list[tuple[str, str]], list[Trade]]:
    """The order states and the fills of the run's store."""
    [db] = folder.rglob("yard.db")
    with sqlite3.connect(db) as connection:
        orders = connection.execute("SELECT symbol, state FROM orders").fetchall()
        fills = connection.execute(
            "SELECT symbol, side, qty, price, fee FROM trades ORDER BY robot, seq"
        ).fetchall()
    return orders, fills


def _realised_roubles(fills: list[Trade]) -> Decimal:
    position = Position(symbol="BR")
    for _, side, qty, price, fee in fills:
        position.apply(Side(side), qty, Decimal(price), Decimal(fee))
    return position.realized * BARRELS * USD_RUB - position.fees


def test_a_finam_brent_file_trades_end_to_end_with_pnl_in_roubles(brent: Path) -> None:
    (brent / "yard.toml").write_text(f'[instruments]\nusd_rub = "{USD_RUB}"\n' + CONFIG)

    result = yard("run", "yard.toml", "--quiet", cwd=brent)

    assert result.returncode == 0, result.stdout + result.stderr
    orders, fills = _store_rows(brent)
    assert {symbol for symbol, _ in orders} == {"BR"}
    assert "rejected" not in {state for _, state in orders}
    assert len(fills) > 20, fills
    realised = _realised_roubles(fills)
    assert realised != 0
    [row] = [line for line in result.stdout.splitlines() if "brent" in line and "│" in line]
    assert f"{realised.quantize(Decimal('0.01')):,}" in row
    assert "pts" not in result.stdout
    assert "P&L in roubles, net of fees" in result.stdout


def test_without_a_dollar_rate_brent_pnl_is_in_points_and_the_summary_says_how_to_fix_it(
    brent: Path,
) -> None:
    (brent / "yard.toml").write_text(CONFIG)

    result = yard("run", "yard.toml", "--quiet", cwd=brent)

    assert result.returncode == 0, result.stdout + result.stderr
    [row] = [line for line in result.stdout.splitlines() if "brent" in line and "│" in line]
    assert " pts" in row
    assert "P&L of brent in price points, not roubles: BR has no rouble point value" in (
        result.stdout
    )


NG_CONFIG = '[instruments.NG]\ntick = "0.001"\npoint_value_usd = "100"\n'


def _gateway_answers(tmp_path: Path, orders: list[NewOrder], *flags: str) -> list[object]:
    """What ``yard gateway FLAGS`` (no session required, no data) answers to ``orders``."""
    urls = {name: f"ipc://{tmp_path}/{name}" for name in ("orders", "replies", "recovery")}
    command = [sys.executable, "-m", "yard_actors.app.cli", "gateway", "--no-require-session"]
    store = f"sqlite:///{tmp_path}/g.db"
    gateway = subprocess.Popen(
        [*command, *(f"--{k}={v}" for k, v in urls.items()), f"--store={store}", *flags],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    push, ask = context.socket(zmq.PUSH), context.socket(zmq.DEALER)
    reports: list[bytes] = []
    try:
        assert gateway.stdout is not None
        assert gateway.stdout.readline().startswith("yard gateway ready: orders="), (
            gateway.communicate(timeout=30)
        )
        push.connect(urls["orders"])
        ask.connect(urls["recovery"])
        for order in orders:
            push.send_multipart([order.robot.encode(), encode(order)])
        deadline = time.monotonic() + 30
        while len(reports) < len(orders) and time.monotonic() < deadline:
            ask.send_multipart([b"replay", b"r", b"0"])
            assert ask.poll(10_000), "the gateway did not answer a replay"
            reports = ask.recv_multipart()[2:]
    finally:
        gateway.send_signal(signal.SIGTERM)
        gateway.communicate(timeout=30)
        for socket in (push, ask):
            socket.close(linger=0)
        context.term()
    return [decode(report) for report in reports]


def _ng(cid: str, price: str) -> NewOrder:
    return NewOrder(
        ts=1,
        client_order_id=cid,
        robot="r",
        symbol="NG",
        side=Side.BUY,
        qty=1,
        price=Decimal(price),
    )


def test_yard_gateway_lists_the_instruments_of_the_config_it_is_given(tmp_path: Path) -> None:
    (tmp_path / "yard.toml").write_text(NG_CONFIG, encoding="utf-8")

    answers = _gateway_answers(
        tmp_path, [_ng("r-1", "3.125"), _ng("r-2", "3.1255")], "--config", "yard.toml"
    )

    assert [type(a).__name__ for a in answers] == ["OrderAccepted", "OrderRejected"]
    assert isinstance(answers[1], OrderRejected)
    assert answers[1].reason == "price 3.1255 is off the NG tick grid of 0.001"


def test_yard_gateway_without_the_config_does_not_list_an_instrument_it_adds(
    tmp_path: Path,
) -> None:
    [answer] = _gateway_answers(tmp_path, [_ng("r-1", "3.125")])

    assert isinstance(answer, OrderRejected)
    assert answer.reason == "symbol NG is not listed on this exchange"


def test_yard_gateway_with_a_bad_instrument_in_its_config_exits_2_naming_the_key(
    tmp_path: Path,
) -> None:
    (tmp_path / "yard.toml").write_text('[instruments.NG]\ntick = "-1"\n', encoding="utf-8")

    result = yard(
        "gateway", "--orders=ipc://o", "--replies=ipc://r", "--config=yard.toml", cwd=tmp_path
    )

    assert result.returncode == 2
    assert "yard: yard.toml: instruments.NG.tick: must be a positive decimal" in result.stderr


def test_yard_feed_checks_rows_against_the_tick_grids_of_its_config(tmp_path: Path) -> None:
    rows = ["SPFB.NG;0;20251127;100000;3.125;1", "SPFB.NG;0;20251127;100001;3.1255;1"]
    (tmp_path / "ng.txt").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (tmp_path / "yard.toml").write_text(NG_CONFIG, encoding="utf-8")
    feed = ("feed", "ng.txt", "--bind", f"ipc://{tmp_path}/data", "--wait-for", "0")

    checked = yard(*feed, "--no-sessions", "--config", "yard.toml", cwd=tmp_path)
    unchecked = yard(*feed, "--no-sessions", cwd=tmp_path)

    assert checked.returncode == unchecked.returncode == 0, checked.stderr + unchecked.stderr
    assert "1 bad row skipped" in checked.stdout
    assert "price 3.1255 is off the NG tick grid of 0.001" in checked.stderr
    assert "0 bad rows skipped" in unchecked.stdout  # SPFB.NG: not an instrument it knows
