"""``yard backtest`` with an instrument on a schedule of its own: its orders are refused
outside its hours while the FORTS instruments trade on, and the run replays as it ran."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateways.store import OrderState, open_store
from yard_actors import Quote, Robot
from yard_actors.app.cli import main
from yard_actors.journal.replay import replay
from yard_actors.robot.robot import HandlerResult

CONFIG = """\
[instruments.NG]
tick = "0.001"
schedule = "10:00-14:00"
"""

# Wednesday 2024-03-06, UTC: 10:00 and 12:00 are 13:00 and 15:00 in Moscow.
MARKET = """\
timestamp,symbol,bid,ask,bid_size,ask_size
2024-03-06T10:00:00Z,NG,2.500,2.501,5,5
2024-03-06T10:00:00Z,Si,90000,90001,5,5
2024-03-06T12:00:00Z,NG,2.500,2.501,5,5
2024-03-06T12:00:00Z,Si,90000,90001,5,5
"""


class BuysEachQuote(Robot):
    """Buys one lot at the ask of every quote, in any session: the exchange decides."""

    symbols = ("Si", "NG")

    def on_quote(self, quote: Quote) -> HandlerResult:
        return self.buy(quote.symbol, 1, quote.ask)


def test_an_ng_order_after_its_session_closes_is_refused_while_si_trades(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "yard.toml"
    config.write_text(CONFIG, encoding="utf-8")
    market = tmp_path / "day.csv"
    market.write_text(MARKET, encoding="utf-8")
    out = tmp_path / "run"
    robot = f"{__name__}:BuysEachQuote"

    code = main(["backtest", robot, str(config), str(market), "--name", "b", "--out", str(out)])

    capsys.readouterr()
    with open_store(f"sqlite:///{out / 'yard.db'}") as store:
        orders = [(o.symbol, o.state, o.reason) for o in store.orders(robot="b")]
    closed = "session NG is closed: orders are refused"
    assert code == 0
    assert orders == [
        ("NG", OrderState.FILLED, ""),
        ("Si", OrderState.FILLED, ""),
        ("NG", OrderState.REJECTED, closed),
        ("Si", OrderState.FILLED, ""),
    ]
    assert replay(out / "journal", "b").faithful
