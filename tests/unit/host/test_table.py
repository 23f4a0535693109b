"""The robot table: rows for code, a grid for people."""

from __future__ import annotations

from typing import Any

import pytest

from yard_actors.host.table import RobotTable


def _row(**changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "name": "alpha",
        "class": "robots.trend:TrendFollower",
        "status": "running",
        "events_in": 12,
        "commands_out": 3,
        "awaiting": 2,
        "position": {"Si": 1},
        "pnl": "0",
        "mailbox": 0,
        "wait_p50_us": 8.0,
        "wait_p99_us": 31.0,
        "handle_p50_us": None,
        "handle_p99_us": None,
    }
    return {**row, **changes}


def test_the_grid_shows_the_orders_a_robot_awaits_a_first_report_for() -> None:
    table = RobotTable([_row(), _row(name="beta", awaiting=0)])

    header, rule, *lines = str(table).splitlines()
    column = header.split().index("awaiting")

    assert header.split()[column - 1 : column + 2] == ["commands_out", "awaiting", "position"]
    assert set(rule) == {"-", " "}
    assert [line.split()[column] for line in lines] == ["2", "0"]


def test_a_latency_shows_as_p50_over_p99_and_as_a_dash_before_any_event() -> None:
    [line] = str(RobotTable([_row()])).splitlines()[2:]

    assert line.split()[-2:] == ["8/31", "-"]


def test_a_robot_the_table_lacks_is_a_key_error_naming_it() -> None:
    with pytest.raises(KeyError, match="no robot named 'gamma' in the table"):
        RobotTable([_row()]).by_name("gamma")
