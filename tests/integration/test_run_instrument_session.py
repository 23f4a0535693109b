"""``yard run`` with an instrument on a schedule of its own (issue 14, item 6): the feed
publishes its session beside the FORTS day, the paper exchange refuses its orders after
its hours while Si trades on, and the run replays identical."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateways.store import OrderState, open_store
from tests.integration.cli_process import yard

pytestmark = pytest.mark.timeout(300)

ROBOT = '''\
"""Buys one lot at the ask of every quote, in any session: the exchange decides."""

from yard_actors import HandlerResult, Quote, Robot


class BuysEachQuote(Robot):
    symbols = ("Si", "NG")

    def on_quote(self, quote: Quote) -> HandlerResult:
        return self.buy(quote.symbol, 1, quote.ask)
'''

CONFIG = """\
[feed]
files = ["day.csv"]

[instruments.NG]
tick = "0.001"
schedule = "10:00-14:00"

[[robots]]
class = "buyer:BuysEachQuote"
name = "buyer"
"""

# Wednesday 2024-03-06, UTC: 10:00 and 12:00 are 13:00 and 15:00 in Moscow.
MARKET = """\
timestamp,symbol,bid,ask,bid_size,ask_size
2024-03-06T10:00:00Z,NG,2.500,2.501,5,5
2024-03-06T10:00:00Z,Si,90000,90001,5,5
2024-03-06T12:00:00Z,NG,2.500,2.501,5,5
2024-03-06T12:00:00Z,Si,90000,90001,5,5
"""


def test_yard_run_refuses_ng_after_its_hours_while_si_trades(tmp_path: Path) -> None:
    (tmp_path / "buyer.py").write_text(ROBOT, encoding="utf-8")
    (tmp_path / "yard.toml").write_text(CONFIG, encoding="utf-8")
    (tmp_path / "day.csv").write_text(MARKET, encoding="utf-8")

    result = yard("run", "yard.toml", "--quiet", cwd=tmp_path, timeout=240)

    assert result.returncode == 0, result.stdout + result.stderr
    [database] = tmp_path.glob("yard-data/*/*.db")
    with open_store(f"sqlite:///{database}") as store:
        orders = [(o.symbol, o.state, o.reason) for o in store.orders(robot="buyer")]
    assert orders == [
        ("NG", OrderState.FILLED, ""),
        ("Si", OrderState.FILLED, ""),
        ("NG", OrderState.REJECTED, "session NG is closed: orders are refused"),
        ("Si", OrderState.FILLED, ""),
    ]
    replayed = yard("replay", str(database.parent), cwd=tmp_path)
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    assert replayed.stdout.startswith("buyer: identical: "), replayed.stdout
