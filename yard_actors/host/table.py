"""The host's robot table: rows for code, a readable grid for people."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["RobotTable"]

# The columns the grid shows, with their headings (the row's key where it is short enough);
# the rows hold more (class, awaiting, cancelling, conflated, wait_us, quarantined...).
_COLUMNS = {
    "name": "name",
    "status": "status",
    "events_in": "events",
    "commands_out": "commands",
    "open_orders": "open",
    "held": "held",
    "position": "position",
    "pnl": "pnl",
    "upnl": "upnl",
    "mailbox": "mailbox",
    "handle_us": "handle_us",
    "restarts": "restarts",
    "error": "error",
}
_LATENCIES = {"wait_us": "wait", "handle_us": "handle"}  # shown as "p50/p99" in µs
_ERROR_CHARS = 40  # a longer error is cut (the row, and failure(name), hold all of it)


def _cell(value: Any) -> str:
    if isinstance(value, Mapping):
        return " ".join(f"{k}:{v}" for k, v in value.items()) or "-"
    return "-" if value is None else str(value)


def _value(row: Mapping[str, Any], column: str) -> str:
    prefix = _LATENCIES.get(column)
    if column == "error":
        text = _cell(row.get(column))
        return text if len(text) <= _ERROR_CHARS else text[: _ERROR_CHARS - 3] + "..."
    if prefix is None:
        return _cell(row.get(column))
    p50, p99 = row.get(f"{prefix}_p50_us"), row.get(f"{prefix}_p99_us")
    if p50 is None or p99 is None:
        return "-"
    return f"{p50:.0f}/{p99:.0f}"


class RobotTable(list[dict[str, Any]]):
    """A list of row mappings; ``str()`` renders the columns people look at first.

    ``open_orders`` (``open`` in the grid): the robot's working orders; ``held``: new orders
    it emitted while paused, held, not sent; ``upnl``: its open positions marked at the last
    quote's mid, or at the last trade price of a symbol with no quote (tick or bar data:
    ``yard_actors/robot/marks.py``); ``restarts`` and ``quarantined``: its supervisor's
    counts. ``wait_us`` and ``handle_us`` are p50/p99 in µs of how long the robot's events
    waited in its mailbox and how long it took to handle each (journal and send included).
    ``conflated``: quotes the robot never saw because it was far behind and a newer
    quote of the symbol replaced them (``docs/runtime.md``); the rows also hold its
    ``backlog`` (market data waiting), ``overruns``, ``withheld`` ticks and ``shed``.
    ``awaiting``: the robot's orders sent with no report yet (the gateway is asked about
    them after ``reply_timeout``); a number that stays up says its gateway does not answer.
    """

    def __str__(self) -> str:
        grid = [list(_COLUMNS.values())] + [[_value(row, c) for c in _COLUMNS] for row in self]
        widths = [max(len(line[i]) for line in grid) for i in range(len(_COLUMNS))]
        lines = [
            "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
            for line in grid
        ]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(lines)

    def by_name(self, name: str) -> dict[str, Any]:
        for row in self:
            if row["name"] == name:
                return row
        msg = f"no robot named {name!r} in the table"
        raise KeyError(msg)
