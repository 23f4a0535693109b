"""The robot table for people: a rich Table of :class:`~yard_actors.host.table.RobotTable` rows.

``yard repl`` shows ``robots()`` with it and ``yard ctl status`` prints it, so a
supervisor reads the same columns wherever they look. Columns a host does not
report (an older host, a remote one of another version) are left out rather
than shown empty; a value a row lacks is ``-``.

It also says how yard prints a table. On a terminal it fits the terminal's width: rich
squeezes what still does not fit once the least needed columns are left out. To a
pipe or a file a row never wraps, so ``yard ctl status | grep trend-si`` gives the
robot's whole row: ``yard ctl status`` prints every column at the table's own width
(:func:`robots_text`), and a summary that cannot fit :data:`PIPE_WIDTH` however many
columns it leaves out is printed wider rather than squeezed (:func:`print_table`).
"""

from __future__ import annotations

import io
import sys
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

__all__ = [
    "DROP_FIRST",
    "PIPE_WIDTH",
    "ROBOT_COLUMNS",
    "output_console",
    "output_width",
    "print_table",
    "render_text",
    "robots_table",
    "robots_text",
    "table_width",
]

ROBOT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("name", "robot"),
    ("class", "class"),
    ("status", "status"),
    ("events_in", "events"),
    ("commands_out", "commands"),
    ("held", "held"),
    ("open_orders", "open"),
    ("awaiting", "awaiting"),
    ("position", "position"),
    ("pnl", "P&L"),
    ("upnl", "uP&L"),
    ("mailbox", "mailbox"),
    ("handle_us", "handle µs p50/p99"),
    ("restarts", "restarts"),
    ("quarantined", "quarantined"),
    ("error", "last error"),
)
"""(row key, heading) in the order shown; ``handle_us`` is the p50/p99 pair."""

DROP_FIRST: tuple[str, ...] = (
    "class",
    "mailbox",
    "awaiting",
    "quarantined",
    "restarts",
    "handle_us",
    "upnl",
)
"""The columns a narrow terminal loses first, in this order (``failure``/``snapshot`` have all)."""

_ALWAYS = {"name", "status", "events_in", "commands_out", "position", "pnl"}
_LEFT = {"name", "class", "status", "position", "error"}
_NO_WRAP = {"name", "status"}  # narrow terminals squeeze the other columns first
_ERROR_WIDTH = 60  # a long exception text is cut: failure(name) has the whole traceback


def robots_table(
    rows: Sequence[Mapping[str, Any]], *, title: str | None = None, width: int | None = None
) -> Any:
    """A rich Table of the robots, one row each, in the order given.

    With ``width``, columns of :data:`DROP_FIRST` are left out, in that order, until the
    table fits: a squeezed table wraps every cell and is harder to read than a shorter one.
    """
    columns = [(key, head) for key, head in ROBOT_COLUMNS if _shown(key, rows)]
    table = _table(rows, columns, title)
    for key in DROP_FIRST:
        if width is None or table_width(table) <= width:
            break
        columns = [(k, head) for k, head in columns if k != key]
        table = _table(rows, columns, title)
    return table


def _table(
    rows: Sequence[Mapping[str, Any]], columns: Sequence[tuple[str, str]], title: str | None
) -> Any:
    from rich.table import Table  # noqa: PLC0415 - rich is for people; keep it off import time

    table = Table(title=title, title_justify="left")
    for key, head in columns:
        table.add_column(
            head,
            justify="left" if key in _LEFT else "right",
            no_wrap=key in _NO_WRAP,
            overflow="fold",
        )
    for row in rows:
        table.add_row(*(_cell(row, key) for key, _ in columns), style=_style(row))
    return table


def table_width(table: Any) -> int:
    """The columns ``table`` (any rich renderable) takes unsqueezed."""
    from rich.console import Console  # noqa: PLC0415 - as above

    console = Console(file=io.StringIO(), width=10_000)
    return int(console.measure(table).maximum)


PIPE_WIDTH = 120
"""The width of what yard prints to a pipe or a file: fixed, so a summary piped to a file
is the same every run, whatever terminal (or ``COLUMNS``) the command was started from."""


def output_width(stream: TextIO | None = None) -> int | None:
    """The width to print tables to ``stream`` (stdout) at: None on a terminal (rich
    measures it, ``COLUMNS`` first), else :data:`PIPE_WIDTH`.

    ``COLUMNS`` does not set a pipe's width: a process that loaded GNU readline exports
    its terminal's size in it to every child, so a piped summary would change with it.
    """
    stream = sys.stdout if stream is None else stream
    try:
        if stream.isatty():
            return None
    except ValueError:  # closed
        pass
    return PIPE_WIDTH


def output_console(stream: TextIO | None = None) -> Any:
    """A rich Console for ``stream`` (stdout) at :func:`output_width`, with no highlighting:
    rich's would colour the digits of a path or a count as if they meant something."""
    from rich.console import Console  # noqa: PLC0415 - as above

    return Console(file=stream, width=output_width(stream), highlight=False)


def print_table(console: Any, table: Any) -> None:
    """Print ``table`` on ``console`` (an :func:`output_console`): squeezed to fit a
    terminal, but to a pipe or a file at the console's width or, where the table is
    wider still, at its own, so no row wraps."""
    width = table_width(table)
    if output_width(console.file) is None or width <= console.width:  # a terminal, or fits
        console.print(table)
        return
    from rich.console import Console  # noqa: PLC0415 - as above

    Console(file=console.file, width=width, highlight=False).print(table)


def robots_text(rows: Sequence[Mapping[str, Any]], stream: TextIO | None = None) -> str:
    """The robot table as ``yard ctl status`` prints it to ``stream`` (stdout).

    On a terminal, fitted to its width (:func:`robots_table` leaves columns out first)
    and coloured; to a pipe or a file, every column at the table's own width, one line
    a robot: what a script reads has the same columns whatever the rows hold.
    """
    if output_width(stream) is None:
        width = int(output_console(stream).width)
        return render_text(robots_table(rows, width=width), width=width, color=True)
    table = robots_table(rows)
    return render_text(table, width=table_width(table))


def render_text(renderable: Any, *, width: int = 120, color: bool = False) -> str:
    """``renderable`` as text (ANSI colours with ``color``), for consoles that print strings."""
    from rich.console import Console  # noqa: PLC0415 - as above

    console = Console(
        file=io.StringIO(),
        width=width,
        force_terminal=color,
        color_system="standard" if color else None,
    )
    with console.capture() as captured:
        console.print(renderable)
    return captured.get()


def _shown(key: str, rows: Sequence[Mapping[str, Any]]) -> bool:
    if key in _ALWAYS:
        return True
    if key == "handle_us":
        return any("handle_p50_us" in row for row in rows)
    if key == "error":
        return any(row.get("error") for row in rows)
    return any(key in row for row in rows)


def _cell(row: Mapping[str, Any], key: str) -> str:
    if key == "handle_us":
        p50, p99 = row.get("handle_p50_us"), row.get("handle_p99_us")
        return "-" if p50 is None or p99 is None else f"{p50:,.0f}/{p99:,.0f}"
    value = row.get(key)
    if key == "class" and isinstance(value, str):
        return value.rpartition(":")[2]  # robots.trend:TrendFollower -> TrendFollower
    if key == "position" and isinstance(value, Mapping):
        return " ".join(f"{s}:{q:+d}" for s, q in value.items() if q) or "flat"
    if key == "error" and isinstance(value, str) and value.strip():
        value = " ".join(value.split())  # one line: a row of its own, whatever the error says
        return value if len(value) <= _ERROR_WIDTH else value[: _ERROR_WIDTH - 1] + "…"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return "-" if value is None or value == "" else str(value)


def _style(row: Mapping[str, Any]) -> str | None:
    status = str(row.get("status", ""))
    if status in ("failed", "halted"):
        return "red"
    if status == "paused":
        return "yellow"
    return None
