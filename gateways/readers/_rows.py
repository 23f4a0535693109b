"""What every format's row parser is built from: the errors, the column lookup, the fields.

A parser raises :class:`RowError` with a clause naming the field and its value
("bid '9000O' is not a decimal number"); the reading loop in
:mod:`gateways.readers.market_file` adds the file and line, then counts and
skips the row, or raises :class:`FeedError` in strict mode. A header that
cannot be read raises :class:`FeedError` at once: it is the wrong file, not a
bad row.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from decimal import Decimal
from typing import Final

from yard_actors.errors import YardError
from yard_actors.wire.events import MarketEvent, Side

__all__ = [
    "EPOCH_ORDINAL",
    "MAX_TS",
    "SIDES",
    "FeedError",
    "RowError",
    "RowParser",
    "column_indexes",
    "parse_price",
    "parse_side",
    "parse_size",
    "seconds_of_day",
]

MAX_TS: Final = 2**63 - 1
"""The latest time an event can carry, in nanoseconds since the epoch (in 2262)."""

EPOCH_ORDINAL: Final = date(1970, 1, 1).toordinal()

SIDES: Final[Mapping[str, Side]] = {
    "": Side.BUY,
    "b": Side.BUY,
    "buy": Side.BUY,
    "s": Side.SELL,
    "sell": Side.SELL,
}
"""An aggressor as written in a file (lower-cased) to its side; empty means buy."""

_WHOLE = re.compile(r"-?[0-9]{1,18}", re.ASCII)
_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?", re.ASCII)


class FeedError(YardError):
    """A market data file is unreadable, of unknown format, or (strict mode) has a bad row."""


class RowError(Exception):
    """A row's problem as a clause; the reading loop adds file and line."""


RowParser = Callable[[list[str]], MarketEvent]
"""A row's fields, split and stripped, to its event; raises RowError (or ValueError)."""


def column_indexes(path: str, names: list[str], required: Iterable[str]) -> dict[str, int]:
    """Each column name of a header to its index; raise FeedError if one is missing or repeated."""
    missing = [name for name in required if name not in names]
    if missing or len(set(names)) != len(names):
        problem = f"lacks {', '.join(missing)}" if missing else "repeats a column"
        msg = f"The header of market data file {path} {problem}: {names}."
        raise FeedError(msg)
    return {name: n for n, name in enumerate(names)}


def parse_price(text: str, name: str, comma: bool) -> Decimal:
    """The exact decimal in ``text`` (a decimal comma too if ``comma``), for column ``name``."""
    number = text.replace(",", ".", 1) if comma else text
    if not _NUMBER.fullmatch(number):
        msg = f"{name} {text!r} is not a decimal number"
        raise RowError(msg)
    return Decimal(number)


def parse_size(text: str, name: str, least: int) -> int:
    """The whole number in ``text``, at least ``least`` (0 or 1), for column ``name``."""
    if _WHOLE.fullmatch(text):
        value = int(text)
        if value >= least:
            return value
    what = "positive" if least else "non-negative"
    msg = f"{name} must be a {what} whole number, was {text!r}"
    raise RowError(msg)


def parse_side(text: str, name: str) -> Side:
    """The aggressor in ``text`` (B, S, buy or sell, any case; empty is buy)."""
    side = SIDES.get(text.lower())
    if side is None:
        msg = f"{name} must be B or S (buy or sell), was {text!r}"
        raise RowError(msg)
    return side


def seconds_of_day(hour: str, minute: str, second: str) -> int:
    """Seconds since midnight, or -1 if the clock is not a valid time of day."""
    h, m, s = int(hour), int(minute), int(second)
    return h * 3600 + m * 60 + s if h < 24 and m < 60 and s < 60 else -1
