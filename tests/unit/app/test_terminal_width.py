"""What ``yard run`` prints fits the terminal, and a pipe gets the same width every run
(issue 14, item 9): the summary table at a rich Console's width, plain digits in paths."""

from __future__ import annotations

import io
from decimal import Decimal

import attrs
import pytest
from rich.console import Console

from yard_actors.app.summary import DROP_FIRST, RobotSummary, render
from yard_actors.app.tables import PIPE_WIDTH, output_console, output_width, table_width

ROWS = [
    RobotSummary(
        name=name,
        status="running",
        error=None,
        events=156_000,
        orders=1_234,
        fills=987,
        rejects=12,
        working=(),
        position={"Si": 2},
        realized=Decimal("-12345.5"),
        unrealized=Decimal("678.25"),
        max_drawdown=Decimal("23456"),
    )
    for name in ("trend-si", "market-maker-si", "spread")
]


class Terminal(io.StringIO):
    """A stream that says it is a terminal, as stdout on a tty does."""

    def isatty(self) -> bool:
        return True


def printed(renderable: object, width: int) -> list[str]:
    console = Console(file=io.StringIO(), width=width, color_system=None)
    with console.capture() as captured:
        console.print(renderable)
    return captured.get().splitlines()


@pytest.mark.parametrize("width", [80, 100, PIPE_WIDTH, 200])
def test_the_summary_fits_the_width_with_every_name_and_number_whole(width: int) -> None:
    lines = printed(render(ROWS, width=width), width)

    assert max(len(line) for line in lines) <= width
    text = "\n".join(lines)
    for whole in ("market-maker-si", "running", "-12,345.50", "678.25", "Si:+2"):
        assert whole in text
    assert "…" not in text


def test_a_pipe_wide_summary_keeps_every_column_for_names_like_the_examples() -> None:
    names = ("mm-rts", "spread", "x")
    rows = [attrs.evolve(row, name=name) for row, name in zip(ROWS, names, strict=True)]

    text = "\n".join(printed(render(rows, width=PIPE_WIDTH), PIPE_WIDTH))

    for number in ("156,000", "1,234", "987", "23,456.00"):
        assert number in text
    assert "left out" not in text


def test_a_narrow_terminal_drops_the_least_needed_columns_and_says_which() -> None:
    text = "\n".join(printed(render(ROWS, width=80), 80))

    assert "left out to fit: working, events" in text
    assert "156,000" not in text  # events went
    assert "-12,345.50" in text  # P&L stays


def test_without_a_width_the_summary_is_the_full_table() -> None:
    table = render(ROWS)

    assert table_width(table) > 80
    assert len(table.columns) == 11
    assert set(DROP_FIRST) <= {str(column.header) for column in table.columns}


@pytest.mark.parametrize("columns", [None, "80", "200"])
def test_a_pipe_gets_the_fixed_width_whatever_the_terminal(
    monkeypatch: pytest.MonkeyPatch, columns: str | None
) -> None:
    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:  # as a parent that loaded GNU readline exports it
        monkeypatch.setenv("COLUMNS", columns)

    assert output_width(io.StringIO()) == PIPE_WIDTH
    assert output_console(io.StringIO()).width == PIPE_WIDTH


def test_a_terminal_is_measured_by_rich(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "77")

    assert output_width(Terminal()) is None
    assert output_console(Terminal()).width == 77


def test_digits_in_a_path_are_not_coloured_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.delenv("NO_COLOR", raising=False)
    stream = Terminal()

    output_console(stream).print("journal: yard-data/run-0003/journal; 12,345 events")

    assert stream.getvalue() == "journal: yard-data/run-0003/journal; 12,345 events\n"
    coloured = Terminal()
    Console(file=coloured).print("yard-data/run-0003")
    assert "\x1b[" in coloured.getvalue()  # what rich does by itself, and the test would see
