"""``yard backtest`` on the command line: a run folder, the summary, the commands that follow."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateways.store import open_store
from yard_actors.app.cli import main
from yard_actors.journal.replay import replay

MAKER_PARAMS = ["half_spread_ticks=3", "max_position=5", "requote_ticks=3"]


def backtest(tmp_path: Path, *args: str) -> int:
    return main(["backtest", "--data-dir", str(tmp_path / "data"), *args])


def test_a_backtest_of_the_sample_day_prints_the_table_and_how_to_replay_and_analyse_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["robots.market_maker:MarketMaker", "--name", "mm-si", "--limit", "3000"]

    code = backtest(tmp_path, *args, "--params", *MAKER_PARAMS)

    out = capsys.readouterr().out
    run = tmp_path / "data" / "backtests" / "run-0001"
    assert code == 0
    assert "per-robot summary" in out
    assert "mm-si" in out
    assert f"yard replay {run / 'journal'} mm-si" in out
    assert f"yard analyze {run / 'journal'}" in out
    assert replay(run / "journal", "mm-si").faithful
    with open_store(f"sqlite:///{run / 'yard.db'}") as store:
        assert store.orders(robot="mm-si")


def test_each_backtest_gets_a_run_folder_of_its_own(tmp_path: Path) -> None:
    for _ in range(2):
        assert backtest(tmp_path, "robots.trend:TrendFollower", "--limit", "200") == 0

    runs = sorted(p.name for p in (tmp_path / "data" / "backtests").iterdir())

    assert runs == ["run-0001", "run-0002"]


def test_a_config_gives_the_paper_exchange_its_latency_and_a_flag_overrides_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "yard.toml"
    config.write_text('[paper]\nlatency_ms = 5\nfee_per_lot = "2"\n', encoding="utf-8")
    out = tmp_path / "out"
    args = ["robots.market_maker:MarketMaker", str(config), "--limit", "3000", "--out", str(out)]

    code = main(["backtest", *args, "--fee-per-lot", "1", "--params", *MAKER_PARAMS])

    capsys.readouterr()
    with open_store(f"sqlite:///{out / 'yard.db'}") as store:
        trades = [t.fill for t in store.trades(robot="marketmaker")]
        orders = {o.client_order_id: o for o in store.orders(robot="marketmaker")}
    assert code == 0
    assert trades
    assert {fill.fee / fill.qty for fill in trades} == {1}
    assert all(fill.ts >= orders[fill.client_order_id].created_ts + 5_000_000 for fill in trades)


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--params", "fast"], "--params takes key=value pairs such as fast=5, was 'fast'"),
        (["--params", "qty=-3"], "robot trendfollower.params"),
        (["--fee-per-lot", "x"], "--fee-per-lot must be a decimal"),
        (["a.toml", "b.toml"], "give one config file, not 2"),
    ],
)
def test_a_bad_argument_exits_2_naming_it_before_anything_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], said: str
) -> None:
    code = backtest(tmp_path, "robots.trend:TrendFollower", *args)

    assert code == 2
    assert said in capsys.readouterr().err
    assert not (tmp_path / "data").exists()


def test_an_out_folder_that_holds_files_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "taken.txt").write_text("x", encoding="utf-8")

    code = main(["backtest", "robots.trend:TrendFollower", "--out", str(tmp_path)])

    assert code == 2
    assert "is not an empty folder" in capsys.readouterr().err


def test_a_robot_that_fails_makes_the_backtest_exit_1_saying_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = backtest(tmp_path, "tests.unit.backtest.robots:Breaks", "--limit", "500")

    out = capsys.readouterr().out
    assert code == 1
    assert "robot breaks failed: RuntimeError in on_quote: the third quote breaks me" in out


def test_a_backtest_over_trade_prints_alone_marks_its_position_by_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prints = tmp_path / "si-prints.csv"
    prints.write_text(
        "timestamp,symbol,last,volume,side\n"
        "1764226800000000000,Si,88591,5,B\n"  # 10:00 Moscow: the session is open
        "1764226801000000000,Si,88590,5,S\n"  # through the buy at 88591: it fills
        "1764226802000000000,Si,88600,5,B\n",  # the last print marks the lot 9 points up
        encoding="utf-8",
    )

    code = backtest(tmp_path, "tests.unit.backtest.robots:BuysAtFirstPrint", str(prints))

    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.lstrip("│| ").startswith("buysatfirst"))
    assert code == 0
    assert "yard backtest: per-robot summary" in out
    assert "Si:+1" in row
    assert "9.00" in row.split("Si:+1")[1]  # unrealised: (88600 - 88591) * 1 point value 1


def test_a_data_file_of_unknown_format_is_refused_before_the_run_folder_is_made(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "notes.csv"
    data.write_text("what,is,this\n1,2,3\n", encoding="utf-8")

    code = backtest(tmp_path, "robots.trend:TrendFollower", str(data))

    assert code == 2
    assert "Cannot tell the format of market data file" in capsys.readouterr().err
    assert not (tmp_path / "data").exists()
