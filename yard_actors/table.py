"""The host's robot table: rows for code, a readable grid for people."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["RobotTable"]

_COLUMNS = ("name", "class", "status", "events_in", "commands_out", "position", "pnl", "mailbox")


def _cell(value: Any) -> str:
    if isinstance(value, Mapping):
        return " ".join(f"{k}:{v}" for k, v in value.items()) or "-"
    return "-" if value is None else str(value)


class RobotTable(list[dict[str, Any]]):
    """A list of row mappings; ``str()`` renders the columns people look at first."""

    def __str__(self) -> str:
        grid = [list(_COLUMNS)] + [[_cell(row.get(c)) for c in _COLUMNS] for row in self]
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
