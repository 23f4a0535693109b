"""The pure parts of ``yard repl``: name completion, the bound calls, the robot table."""

from __future__ import annotations

from typing import Any

import pytest

from yard_actors.app.repl_calls import CALLS, Said, bind_calls
from yard_actors.app.repl_completion import ReadlineCompleter, robot_prefix
from yard_actors.app.tables import render_text, robots_table
from yard_actors.errors import YardError
from yard_actors.host.table import RobotTable

NAMES = ("trend-si", "mm-si", "mm-rts")


@pytest.mark.parametrize(
    ("line", "prefix"),
    [
        ('pause("tr', "tr"),
        ("resume('mm-", "mm-"),
        ('set_params( "', ""),
        ('x = snapshot(name="mm', "mm"),
        ('robots(); failure("s', "s"),
        ("robots()", None),
        ('print("mm', None),  # not one of the calls that take a robot
        ('pause("mm-si", ', None),  # past the name
    ],
)
def test_the_robot_name_being_typed_is_found_only_inside_the_named_calls(
    line: str, prefix: str | None
) -> None:
    assert robot_prefix(line) == prefix


def _complete(line: str, text: str, namespace: dict[str, Any] | None = None) -> list[str]:
    completer = ReadlineCompleter(namespace or {}, lambda: NAMES, lambda: line)
    found: list[str] = []
    while (word := completer.complete(text, len(found))) is not None:
        found.append(word)
    return found


def test_readline_completes_robot_names_in_a_call_and_python_names_elsewhere() -> None:
    assert _complete('pause("mm-', "mm-") == ["mm-rts", "mm-si"]
    assert _complete('pause("tr', "tr") == ["trend-si"]
    assert _complete("pau", "pau", {"pause": print}) == ["pause("]


def test_a_names_source_that_fails_completes_nothing_instead_of_breaking_the_prompt() -> None:
    def gone() -> list[str]:
        msg = "the host does not answer"
        raise YardError(msg)

    completer = ReadlineCompleter({}, gone, lambda: 'pause("x')

    assert completer.complete("x", 0) is None


class _OldHost:
    def robots(self) -> RobotTable:
        return RobotTable([{"name": "a", "status": "running"}])

    def failure(self, name: str) -> str:
        return f"Traceback of {name}\n  line 1"


def test_a_call_the_target_lacks_says_so_when_called() -> None:
    calls = bind_calls(_OldHost(), leave=lambda: None)

    assert set(calls) == set(CALLS)
    with pytest.raises(YardError, match=r"pause\(\) is not available: this _OldHost has no pause"):
        calls["pause"]("a")


def test_a_sentence_a_call_returns_shows_as_its_text() -> None:
    said = bind_calls(_OldHost(), leave=lambda: None)["failure"]("a")

    assert isinstance(said, Said)
    assert said == "Traceback of a\n  line 1"
    assert repr(said) == "Traceback of a\n  line 1"


def test_stop_ends_the_console_and_stops_a_remote_target_first() -> None:
    happened: list[str] = []

    class Remote:
        def stop(self) -> None:
            happened.append("target stopped")

    calls = bind_calls(Remote(), leave=lambda: happened.append("left"), stop_target=True)
    calls["stop"]()
    local = bind_calls(Remote(), leave=lambda: happened.append("left locally"))
    local["stop"]()

    assert happened == ["target stopped", "left", "left locally"]


def test_the_robot_table_shows_the_columns_the_host_reports() -> None:
    rows = [
        {
            "name": "mm-si",
            "class": "robots.market_maker:MarketMaker",
            "status": "paused",
            "events_in": 12345,
            "commands_out": 7,
            "held": 3,
            "position": {"Si": -1, "RTS": 0},
            "pnl": "-6.5",
            "handle_p50_us": 20.0,
            "handle_p99_us": 1573.0,
            "error": None,
        }
    ]

    text = render_text(robots_table(rows), width=200)

    assert "held" in text
    assert "uP&L" not in text  # not reported: not shown
    assert "last error" not in text  # no robot has one
    for cell in ("mm-si", "MarketMaker", "paused", "12,345", "Si:-1", "-6.5", "20/1,573"):
        assert cell in text
    assert "RTS" not in text  # a flat symbol is left out


def test_a_narrow_terminal_loses_the_least_needed_columns_first() -> None:
    row = {
        "name": "mm-si",
        "class": "robots.market_maker:MarketMaker",
        "status": "running",
        "events_in": 1,
        "commands_out": 1,
        "position": {},
        "pnl": "0",
        "mailbox": 0,
        "restarts": 0,
    }

    wide = render_text(robots_table([row], width=200), width=200)
    narrow = render_text(robots_table([row], width=60), width=60)

    assert "MarketMaker" in wide
    assert "mailbox" in wide
    assert "MarketMaker" not in narrow
    assert "mailbox" not in narrow
    assert "events" in narrow
    assert max(len(line) for line in narrow.splitlines()) <= 60
