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
        "open_orders": 2,
        "held": 0,
        "position": {"Si": 1},
        "pnl": "0",
        "upnl": "-3",
        "mailbox": 0,
        "restarts": 0,
        "error": None,
        "wait_p50_us": 8.0,
        "wait_p99_us": 31.0,
        "handle_p50_us": None,
        "handle_p99_us": None,
    }
    return {**row, **changes}


def test_the_grid_shows_open_orders_held_orders_and_unrealised_pnl() -> None:
    table = RobotTable([_row(), _row(name="beta", open_orders=0, held=7, upnl="12.5")])

    header, rule, *lines = str(table).splitlines()
    columns = header.split()

    assert columns == [
        "name",
        "status",
        "events",
        "commands",
        "open",
        "held",
        "position",
        "pnl",
        "upnl",
        "mailbox",
        "handle_us",
        "restarts",
        "error",
    ]
    assert set(rule) == {"-", " "}
    assert [line.split()[columns.index("open")] for line in lines] == ["2", "0"]
    assert [line.split()[columns.index("held")] for line in lines] == ["0", "7"]
    assert [line.split()[columns.index("upnl")] for line in lines] == ["-3", "12.5"]


def test_a_latency_shows_as_p50_over_p99_and_as_a_dash_before_any_event() -> None:
    [line] = str(RobotTable([_row(handle_p50_us=8.0, handle_p99_us=31.0)])).splitlines()[2:]
    [before] = str(RobotTable([_row()])).splitlines()[2:]

    assert line.split()[-3] == "8/31"
    assert before.split()[-3] == "-"


def test_a_long_error_is_cut_in_the_grid_and_kept_whole_in_the_row() -> None:
    error = "ZeroDivisionError in on_quote: " + "the strategy divided by zero " * 4
    table = RobotTable([_row(status="failed", error=error)])

    [line] = str(table).splitlines()[2:]

    assert line.endswith("...")
    assert line.endswith(" ZeroDivisionError in on_quote: the st...")
    assert table.by_name("alpha")["error"] == error


def test_a_robot_the_table_lacks_is_a_key_error_naming_it() -> None:
    with pytest.raises(KeyError, match="no robot named 'gamma' in the table"):
        RobotTable([_row()]).by_name("gamma")
