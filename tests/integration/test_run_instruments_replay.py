"""A run's instruments travel with its journal (issue 14, item 6): ``yard run`` with an
instrument its config adds, then ``yard replay`` and ``yard analyze`` of that run.

The robot prices with ``self.instrument("NG").tick``. Before the journal kept the table,
every rebuild used the built-in one, where NG is not listed: the replayed robot failed at
its first tick and ``yard replay`` exited 1. ``yard analyze`` now reports the robot's money
in roubles, as ``yard run``'s summary does, at the journaled point value, and an incident
exported from the run (``RobotHarness.from_journal``) rebuilds its robot with them too.
"""

from __future__ import annotations

import json
import random
import sqlite3
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from tests.integration.cli_process import yard
from yard_actors.journal import read_robot

pytestmark = pytest.mark.timeout(300)

USD_RUB = Decimal(90)
POINT_USD = Decimal(100)  # dollars one price point of NG (a dollar per MMBtu) is worth

ROBOT = '''\
"""Buys natural gas three ticks below the last print when flat, sells three above when long."""

from yard_actors import HandlerResult, Robot, Tick


class GasTicker(Robot):
    symbols = ("NG",)

    def on_tick(self, tick: Tick) -> HandlerResult:
        if self.open_orders(tick.symbol):
            return None
        step = 3 * self.instrument(tick.symbol).tick  # 0.003 under [instruments.NG]
        if self.position(tick.symbol) <= 0:
            return self.buy(tick.symbol, 1, tick.price - step)
        return self.sell(tick.symbol, 1, tick.price + step)
'''

CONFIG = f"""\
[feed]
files = ["SPFB.NG_ticks.txt"]

[instruments]
usd_rub = "{USD_RUB}"

[instruments.NG]
tick = "0.001"
point_value_usd = "{POINT_USD}"

[[robots]]
class = "ng_robot:GasTicker"
name = "gas"
symbols = ["NG"]
"""


def _write_gas_ticks(path: Path, ticks: int) -> None:
    """Finam ticks of the natural gas contract from 10:00 Moscow time on its 0.001 grid: a
    seeded wobble of ten ticks up and down, so the robot's orders are reached often."""
    rng = random.Random(11)
    rows = ["<TICKER>;<PER>;<DATE>;<TIME>;<LAST>;<VOL>"]
    for n in range(ticks):
        price = 3125 + abs(n % 20 - 10) + rng.choice((-1, 0, 0, 1))  # thousandths
        ms = 250 * n
        clock = f"{10 + ms // 3_600_000:02d}{ms // 60_000 % 60:02d}{ms // 1000 % 60:02d}"
        rows.append(f"SPFB.NG;0;20251127;{clock};{price // 1000}.{price % 1000:03d};1")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A project that ran the gas robot once: its folder and ``yard run``'s output."""
    project = tmp_path_factory.mktemp("gas")
    _write_gas_ticks(project / "SPFB.NG_ticks.txt", 1_200)
    (project / "ng_robot.py").write_text(ROBOT, encoding="utf-8")
    (project / "yard.toml").write_text(CONFIG, encoding="utf-8")
    result = yard("run", "yard.toml", "--quiet", cwd=project, timeout=240)
    assert result.returncode == 0, result.stdout + result.stderr
    return project, result.stdout


def _run_folder(project: Path) -> Path:
    [folder] = {path.parent.parent for path in project.glob("yard-data/*/journal/*.yj")}
    return folder


def test_the_run_journals_the_instruments_its_robot_saw(run: tuple[Path, str]) -> None:
    project, _ = run

    spec = read_robot(_run_folder(project) / "journal", "gas").spec

    assert spec is not None
    ng = spec["instruments"]["NG"]
    assert ng == {
        "tick": "0.001",
        "point_value": str(POINT_USD * USD_RUB),
        "point_value_usd": str(POINT_USD),
        "lot": 1,
    }


def test_a_run_with_a_config_added_instrument_replays_identical(run: tuple[Path, str]) -> None:
    project, _ = run

    result = yard("replay", str(_run_folder(project)), cwd=project)

    assert result.returncode == 0, result.stdout + result.stderr
    [line] = result.stdout.splitlines()
    assert line.startswith("gas: identical: "), line
    assert " 0 commands" not in line


def test_yard_analyze_reports_the_run_in_roubles_as_its_summary_does(
    run: tuple[Path, str], tmp_path: Path
) -> None:
    project, summary = run

    result = yard("analyze", str(_run_folder(project)), "--out", str(tmp_path), cwd=project)

    assert result.returncode == 0, result.stdout + result.stderr
    with sqlite3.connect(tmp_path / "analysis.sqlite") as db:
        [(metrics,)] = db.execute("SELECT figures FROM metrics WHERE robot = 'gas'").fetchall()
    figures = json.loads(metrics)
    assert figures["money"] == "roubles"
    realised = Decimal(figures["realized"]) - Decimal(figures["fees"])
    assert realised != 0
    [row] = [line for line in summary.splitlines() if "gas" in line and "│" in line]
    assert f"{realised.quantize(Decimal('0.01')):,}" in row  # the summary's realised, net
    drawdown = Decimal(figures["max_drawdown"])
    assert drawdown > 0
    assert f"{drawdown.quantize(Decimal('0.01')):,}" in row
    assert "roubles" in result.stdout
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "in roubles" in page


def test_an_incident_exported_from_the_run_passes_with_its_instruments(
    run: tuple[Path, str],
) -> None:
    project, _ = run
    journal = _run_folder(project) / "journal"
    seqs = [e.seq for e in read_robot(journal, "gas").entries if e.seq is not None]
    test_file = project / "test_gas_incident.py"

    exported = yard(
        "replay", str(journal), "gas", "--export-test", str(test_file),
        "--start", str(seqs[0]), "--end", str(seqs[-1]), cwd=project,  # its orders in it
    )  # fmt: skip
    assert exported.returncode == 0, exported.stdout + exported.stderr
    ran = subprocess.run(
        [sys.executable, "-m", "pytest", str(test_file), "-q", "-p", "no:cacheprovider",
         "--rootdir", str(project)],
        cwd=project, capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip

    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "1 passed" in ran.stdout
