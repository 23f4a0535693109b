"""Generic CSV: a header names the columns, and each row becomes a Quote or a Tick.

Columns come in any order and extra ones are ignored:
``timestamp,symbol,bid,ask,bid_size,ask_size`` gives :class:`Quote`;
``timestamp,symbol,last,volume`` with an optional ``side`` (B, S, buy or sell;
empty is buy) gives :class:`Tick`. ``timestamp`` is ISO-8601 (``Z`` or an
offset; naive means UTC; up to nanoseconds) or integer nanoseconds since the
epoch. A file is this format when its first line has a ``timestamp`` column.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Final

from gateways.readers._rows import (
    EPOCH_ORDINAL,
    MAX_TS,
    RowError,
    RowParser,
    column_indexes,
    parse_price,
    parse_side,
    parse_size,
    seconds_of_day,
)
from yard_actors.wire.events import MarketEvent, Quote, Tick

__all__ = ["QUOTE_COLUMNS", "TICK_COLUMNS", "generic_parser", "parse_timestamp"]

QUOTE_COLUMNS: Final = ("timestamp", "symbol", "bid", "ask", "bid_size", "ask_size")
TICK_COLUMNS: Final = ("timestamp", "symbol", "last", "volume")

_ISO = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d)(?::(\d\d)(?:[.,](\d{1,9}))?)?"
    r"(Z|[+-]\d\d(?::?\d\d)?)?",
    re.ASCII | re.IGNORECASE,
)


def generic_parser(path: str, names: list[str], comma: bool) -> RowParser:
    """The row parser for a header of lower-cased ``names``: quotes if it has ``bid``, else ticks.

    Raises :class:`~gateways.readers.FeedError` if a column the format needs is
    missing or one is repeated. ``comma`` accepts a decimal comma in prices.
    """
    if "bid" in names:
        columns = column_indexes(path, names, QUOTE_COLUMNS)
        t, s, b, a, bs, az = (columns[n] for n in QUOTE_COLUMNS)

        def quote(fields: list[str]) -> MarketEvent:
            return Quote(
                ts=parse_timestamp(fields[t]),
                symbol=fields[s],
                bid=parse_price(fields[b], "bid", comma),
                ask=parse_price(fields[a], "ask", comma),
                bid_size=parse_size(fields[bs], "bid_size", 0),
                ask_size=parse_size(fields[az], "ask_size", 0),
            )

        return quote
    columns = column_indexes(path, names, TICK_COLUMNS)
    t, s, p, v = (columns[n] for n in TICK_COLUMNS)
    side = columns.get("side")

    def tick(fields: list[str]) -> MarketEvent:
        return Tick(
            ts=parse_timestamp(fields[t]),
            symbol=fields[s],
            price=parse_price(fields[p], "last", comma),
            qty=parse_size(fields[v], "volume", 1),
            aggressor=parse_side(fields[side] if side is not None else "", "side"),
        )

    return tick


def parse_timestamp(text: str) -> int:
    """Integer nanoseconds since the epoch, or ISO-8601 (naive is UTC) as such."""
    if text.isascii() and text.isdigit() and len(text) <= 19 and int(text) <= MAX_TS:
        return int(text)
    match = _ISO.fullmatch(text)
    if match is None:
        msg = f"timestamp {text!r} is neither ISO-8601 nor integer nanoseconds"
        raise RowError(msg)
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    offset = 0
    if zone and zone.upper() != "Z":
        digits = zone[1:].replace(":", "")
        offset = (int(digits[:2]) * 60 + int(digits[2:] or 0)) * (-60 if zone[0] == "-" else 60)
    try:
        days = date(int(year), int(month), int(day)).toordinal() - EPOCH_ORDINAL
    except ValueError:
        days = -1
    seconds = seconds_of_day(hour, minute, second or "00")
    ts = ((days * 86_400 + seconds - offset) * 10**9) + int((fraction or "0").ljust(9, "0"))
    if days < 0 or seconds < 0 or not 0 <= ts <= MAX_TS:
        msg = f"timestamp {text!r} is not a valid time between 1970 and 2262"
        raise RowError(msg)
    return ts
