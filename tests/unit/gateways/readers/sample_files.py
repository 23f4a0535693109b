"""Market data files for the reader tests: a time to start from, headers, and a writer."""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "FINAM_TICK_HEADER",
    "QUOTE_HEADER",
    "SECOND",
    "T0",
    "TICK_HEADER",
    "lines",
    "write_file",
]

T0 = 1_764_226_800_000_000_000  # 2025-11-27T07:00:00Z, 10:00 in Moscow
SECOND = 10**9
QUOTE_HEADER = "timestamp,symbol,bid,ask,bid_size,ask_size"
TICK_HEADER = "timestamp,symbol,last,volume,side"
FINAM_TICK_HEADER = "<TICKER>;<PER>;<DATE>;<TIME>;<LAST>;<VOL>;<ID>;<OPER>"


def write_file(tmp_path: Path, text: str, name: str = "data.csv") -> Path:
    """Write ``text`` as UTF-8 to ``name`` in ``tmp_path`` and return its path."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def lines(*rows: str) -> str:
    """The text of a file of these lines, each ended by a newline."""
    return "\n".join(rows) + "\n"
