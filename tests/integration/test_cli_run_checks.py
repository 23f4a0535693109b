"""``yard run`` as a user runs it: robots built before anything runs, and a summary that
says which robot failed, what was rejected and what was left working."""

from __future__ import annotations

from pathlib import Path

from tests.integration.cli_process import yard as _yard

ROBOTS = '''
from __future__ import annotations

import attrs

from yard_actors import OrderAccepted, Quote, Robot


@attrs.frozen(kw_only=True)
class Lots:
    qty: int = 1


class Parks(Robot):
    """Rests one buy far below the market, never cancelled: it is left working."""

    symbols = ("Si",)
    params_class = Lots

    def on_start(self) -> None:
        self.parked = False

    def on_quote(self, quote: Quote):
        if self.parked or self.open_orders(quote.symbol):
            return None
        return self.buy(quote.symbol, self.params.qty, quote.bid - 500)

    def on_order_update(self, reply):
        if isinstance(reply, OrderAccepted):
            self.parked = True
        return None


class Breaks(Robot):
    symbols = ("Si",)

    def on_quote(self, quote: Quote):
        raise ValueError("a bug in on_quote")
'''


def _project(tmp_path: Path, robots: str) -> Path:
    (tmp_path / "checked_robots.py").write_text(ROBOTS, encoding="utf-8")
    (tmp_path / "yard.toml").write_text(robots, encoding="utf-8")
    return tmp_path


def test_a_param_of_the_wrong_type_exits_2_before_anything_runs(tmp_path: Path) -> None:
    robots = '[[robots]]\nclass = "checked_robots:Parks"\nname = "p"\nparams = { qty = "one" }\n'

    result = _yard("run", "yard.toml", "--quiet", cwd=_project(tmp_path, robots))

    assert result.returncode == 2, result.stdout
    assert "yard: yard.toml: robots[0].params.qty: must be int, was str 'one'" in result.stderr
    assert not (tmp_path / "yard-data").exists()


def test_an_unknown_symbol_exits_2_naming_it(tmp_path: Path) -> None:
    robots = '[[robots]]\nclass = "checked_robots:Parks"\nname = "p"\nsymbols = ["Zz"]\n'

    result = _yard("run", "yard.toml", "--quiet", cwd=_project(tmp_path, robots))

    assert result.returncode == 2, result.stdout
    assert "robots[0].symbols: 'Zz' is not in the instrument table" in result.stderr


def test_a_robot_that_fails_makes_the_run_exit_1_and_the_summary_says_which(
    tmp_path: Path,
) -> None:
    robots = (
        '[[robots]]\nclass = "checked_robots:Parks"\nname = "parks"\n\n'
        '[[robots]]\nclass = "checked_robots:Breaks"\nname = "breaks"\n'
    )

    result = _yard("run", "yard.toml", "--quiet", "--limit", "3000", cwd=_project(tmp_path, robots))

    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    header = next(line for line in lines if "robot" in line and "status" in line)
    for column in ("status", "rejects", "working"):
        assert column in header
    [parks] = [line for line in lines if line.startswith("│ parks")]
    [breaks] = [line for line in lines if line.startswith("│ breaks")]
    assert "running" in parks
    assert "FAILED" in breaks
    assert "robot breaks failed: ValueError in on_quote: a bug in on_quote" in lines
    assert any(line.startswith("left working: parks buy 1 Si @ ") for line in lines)
