"""A robot module in the working folder, with no config beside it: ``yard backtest`` imports
it from there, and the replay and analyze commands the backtest prints work as printed,
from that folder, wherever ``--out`` put the run. The ``yard`` console script, as a user
runs it: no PYTHONPATH, and (unlike ``python -m``) no working folder on its import path."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

from tests.integration.cli_process import yard_script

ROBOT = '''
from yard_actors import HandlerResult, Robot, Tick


class Once(Robot):
    """Buys one lot at the first trade print, then waits."""

    symbols = ("Si",)

    def on_tick(self, tick: Tick) -> HandlerResult:
        if self.position(tick.symbol) or self.open_orders(tick.symbol):
            return None
        return self.buy(tick.symbol, 1, tick.price)
'''


def _printed(output: str, prefix: str) -> list[str]:
    [line] = [line for line in output.splitlines() if line.startswith(prefix)]
    return shlex.split(line.removeprefix(prefix))


def _project(tmp_path: Path) -> Path:
    """A folder with a robot module and a Finam tick file, and nothing else."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "my_robots.py").write_text(ROBOT, encoding="utf-8")
    rows = ["<TICKER>;<PER>;<DATE>;<TIME>;<LAST>;<VOL>"]
    rows += [f"SPFB.Si;0;20251127;1005{n:02d};{88000 + n};3" for n in range(40)]
    (project / "si.txt").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return project


def test_a_backtest_of_a_robot_in_the_working_folder_and_the_commands_it_prints(
    tmp_path: Path,
) -> None:
    project = _project(tmp_path)
    run = tmp_path / "elsewhere" / "run"

    backtest = yard_script("backtest", "my_robots:Once", "si.txt", "--out", str(run), cwd=project)

    assert backtest.returncode == 0, backtest.stderr
    replay = _printed(backtest.stdout, "replay a robot: ")
    analyze = _printed(backtest.stdout, "analyse the run: ")
    assert replay[:2] == ["yard", "replay"]
    assert analyze[:2] == ["yard", "analyze"]
    replayed = yard_script(*replay[1:], cwd=project)
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    assert replayed.stdout.rstrip().endswith("faithful")
    analyzed = yard_script(*analyze[1:], cwd=project)
    assert analyzed.returncode == 0, analyzed.stdout + analyzed.stderr
    assert (run / "analysis" / "report.html").is_file()


def test_a_divergence_prints_the_command_that_makes_it_a_test_and_it_works(
    tmp_path: Path,
) -> None:
    project = _project(tmp_path)
    backtest = yard_script("backtest", "my_robots:Once", "si.txt", cwd=project)
    assert backtest.returncode == 0, backtest.stderr
    robot = project / "my_robots.py"
    robot.write_text(ROBOT.replace("buy(tick.symbol, 1,", "buy(tick.symbol, 2,"), encoding="utf-8")

    replayed = yard_script(*_printed(backtest.stdout, "replay a robot: ")[1:], cwd=project)

    assert replayed.returncode == 1, replayed.stdout + replayed.stderr
    export = _printed(replayed.stdout, "  make it a test: ")
    assert export[:2] == ["yard", "replay"]
    exported = yard_script(*export[1:], cwd=project)
    assert exported.returncode == 0, exported.stdout + exported.stderr
    [test_file] = (project / "tests").glob("test_once_seq*.py")
    pytest_run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test_file)],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert pytest_run.returncode == 1, pytest_run.stdout  # the changed robot decides otherwise
    assert "the robot sent" in pytest_run.stdout
