"""Tables printed to a pipe never wrap a row: ``yard ctl status | grep NAME`` gives a
robot's whole row, and so does ``yard run``'s summary, however long its names.

``yard ctl status`` runs against a real host's control endpoint over ipc; the summary is
printed as ``yard run`` prints it. Under pytest stdout is captured, not a terminal: a pipe.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from yard_actors.app.cli import main
from yard_actors.app.running_system import RunSummary
from yard_actors.app.summary import RobotSummary
from yard_actors.app.tables import PIPE_WIDTH, robots_text
from yard_actors.app.yard_run import print_summary
from yard_actors.testing.live import LiveHost, live_host

NAMES = tuple(f"market-maker-si-number-{n}" for n in range(3))


@pytest.fixture
def host(tmp_path: Path) -> Iterator[LiveHost]:
    # ipc:// paths are capped near 100 bytes: a short directory of its own, not tmp_path.
    with (
        tempfile.TemporaryDirectory(prefix="yard-pipe-") as sockets,
        live_host(tmp_path / "journal", transport="ipc", ipc_dir=Path(sockets)) as live,
    ):
        for name in NAMES:
            live.add_robot("robots.market_maker:MarketMaker", name=name, symbols=["Si"])
        yield live


def test_ctl_status_to_a_pipe_gives_each_robot_one_whole_line(
    host: LiveHost, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["ctl", "--endpoint", host.host.endpoints["control"], "status"])

    out = capsys.readouterr().out
    assert code == 0
    heading = [line for line in out.splitlines() if "robot" in line]
    assert len(heading) == 1, out  # headings unwrapped too
    for column in ("class", "commands", "awaiting", "handle µs p50/p99", "quarantined"):
        assert column in heading[0]  # every column the host reports: a script's are stable
    for name in NAMES:
        lines = [line for line in out.splitlines() if name in line]
        assert len(lines) == 1, out
        for cell in ("MarketMaker", "running", "flat"):
            assert cell in lines[0]


def test_a_multi_line_error_stays_on_its_robots_row(host: LiveHost) -> None:
    rows = [{**host.host.robots()[0], "status": "failed", "error": "ValueError: bad\nthing"}]

    lines = robots_text(rows).splitlines()

    assert [line for line in lines if NAMES[0] in line] == [
        line for line in lines if "ValueError: bad thing" in line
    ]


def _summary(name: str, position: dict[str, int]) -> RunSummary:
    row = RobotSummary(
        name=name,
        status="running",
        error=None,
        events=156_000,
        orders=1_234,
        fills=987,
        rejects=12,
        working=(),
        position=position,
        realized=Decimal("-12345.5"),
        unrealized=Decimal("678.25"),
        max_drawdown=Decimal("23456"),
    )
    return RunSummary(rows=[row], events=0, seconds=0.0, journal=None, store="", robots=())


def test_a_summary_too_wide_for_the_pipe_width_is_printed_wider_not_wrapped(
    capsys: pytest.CaptureFixture[str],
) -> None:
    name = "a-robot-with-a-name-as-long-as-some-people-give-them-0123456789"
    position = {"Si": 2, "RTS": -3, "BR": 10, "GOLD": 1}

    print_summary(_summary(name, position))

    lines = capsys.readouterr().out.splitlines()
    rows = [line for line in lines if name in line]
    assert len(rows) == 1, lines
    assert "Si:+2 RTS:-3 BR:+10 GOLD:+1" in rows[0]
    assert len(rows[0]) > PIPE_WIDTH


def test_a_summary_that_fits_the_pipe_width_is_printed_at_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    print_summary(_summary("trend-si", {"Si": 2}))

    lines = capsys.readouterr().out.splitlines()
    assert max(len(line) for line in lines) <= PIPE_WIDTH  # as before: the same every run
    assert len([line for line in lines if "trend-si" in line]) == 1
