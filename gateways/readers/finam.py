"""Finam exports: their columns, Moscow dates and times, ticks and bars, tickers as symbols.

Files come with or without their ``<TICKER>;<PER>;...`` header: ticks
``TICKER,PER,DATE,TIME,LAST,VOL`` (plus ``ID`` and ``OPER``) and bars
``TICKER,PER,DATE,TIME,OPEN,HIGH,LOW,CLOSE,VOL`` (or ``CLOSE,VOL`` alone); a
headerless file is told by its column count and its first row. DATE is
``YYYYMMDD`` or ``DD/MM/YY``; TIME is ``HHMMSS``, ``HHMMSSmmm`` or
``HH:MM:SS``; both are Moscow time (UTC+3 since 26 October 2014, UTC+4 from
March 2011, the tz database before), converted to UTC.

A row whose PER is 0 is a trade: a :class:`~yard_actors.wire.events.Tick` at
LAST (or CLOSE), its aggressor ``OPER`` (B or S) where given, else buy. A row of
any other period (minutes, ``D``, ``W``, ``M``) is a bar: a
:class:`~yard_actors.wire.events.Bar` of its open, high, low, close and volume,
**stamped at its last nanosecond** (start + period - 1 ns; Finam stamps a bar
with its start): the close is only known when the bar ends, so a robot never
sees a price before the data had it, and the stamp stays inside the bar, before
a session boundary at its end. An export of CLOSE and VOL alone gives bars whose
open, high and low are their close (the file says no more); a bar's volume may
be 0. Every price of a bar is checked against the tick grid
(:mod:`gateways.readers.market_file`).

Tickers become yard symbols through :data:`FINAM_ROOTS` (``SiZ5`` and
``SPFB.Si`` give ``Si``, ``RIZ5`` gives ``RTS``; unknown roots stay as they are).
"""

from __future__ import annotations

import calendar
import functools
import re
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from gateways.readers._rows import (
    EPOCH_ORDINAL,
    KNOWN_LIMIT,
    MAX_TS,
    SIDES,
    FeedError,
    RowError,
    RowFormat,
    RowParser,
    bar_of,
    column_indexes,
    parse_price,
    parse_side,
    parse_size,
    remember,
    seconds_of_day,
    tick_of,
)
from yard_actors.wire.events import Bar, MarketEvent, Side, Tick

__all__ = [
    "FINAM_ROOTS",
    "finam_parser",
    "finam_rows",
    "finam_symbol",
    "header_columns",
    "headerless_columns",
]

FINAM_ROOTS: Mapping[str, str] = {
    # the continuous contracts' long names (SPFB.BR) and the month codes' roots (BRZ5)
    **{symbol: symbol for symbol in ("Si", "RTS", "MIX", "BR", "GOLD", "Eu", "ED", "SBRF", "GAZR")},
    "RI": "RTS",
    "MX": "MIX",
    "GD": "GOLD",
    "SR": "SBRF",
    "GZ": "GAZR",
}
"""Finam ticker roots (the ticker without ``SPFB.`` and contract month) to yard symbols:
every built-in instrument. A reader adds the symbols of its instrument table as roots of
themselves (``SPFB.NG`` gives ``NG`` once ``[instruments.NG]`` exists)."""

_DAY_NS: Final = 86_400 * 10**9
_KEYS: Final = ("TICKER", "PER", "DATE", "TIME")
_BY_WIDTH: Final = {  # the headerless layouts, told apart by their column count
    6: ("TICKER", "PER", "DATE", "TIME", "LAST", "VOL"),
    7: ("TICKER", "PER", "DATE", "TIME", "LAST", "VOL", "ID"),
    8: ("TICKER", "PER", "DATE", "TIME", "LAST", "VOL", "ID", "OPER"),
    9: ("TICKER", "PER", "DATE", "TIME", "OPEN", "HIGH", "LOW", "CLOSE", "VOL"),
}
_DATE = re.compile(r"(\d{4})(\d\d)(\d\d)|(\d\d)[/.](\d\d)[/.](\d\d|\d{4})", re.ASCII)
_TIME = re.compile(r"(\d\d):?(\d\d)(?::?(\d\d))?(?:[.,]?(\d{3}))?", re.ASCII)
_CONTRACT = re.compile(r"(?:SPFB\.)?(.+?)(?:[FGHJKMNQUVXZ]\d{1,2}|-\d{1,2}\.\d{2})?")


def finam_symbol(ticker: str, roots: Mapping[str, str] = FINAM_ROOTS) -> str:
    """The yard symbol of a Finam ticker: ``SiZ5`` → ``Si``, ``RIH6`` → ``RTS``, else unchanged."""
    if ticker in roots:
        return roots[ticker]
    match = _CONTRACT.fullmatch(ticker)
    return roots.get(match[1], ticker) if match else ticker


def header_columns(names: list[str]) -> list[str] | None:
    """The column keys of a Finam header line (``<TICKER>`` → ``TICKER``), or None if it is not."""
    if not names[0].startswith("<"):
        return None
    return [name.strip("<>").upper() for name in names]


def headerless_columns(fields: list[str]) -> list[str] | None:
    """The column keys of a headerless Finam file from its first row, or None if it is not one."""
    keys = _BY_WIDTH.get(len(fields))
    if keys is None:
        return None
    oper_ok = len(fields) != 8 or fields[7].lower() in SIDES
    looks_like_finam = _period_ok(fields[1]) and bool(_DATE.fullmatch(fields[2])) and oper_ok
    return list(keys) if looks_like_finam else None


def finam_parser(
    path: str,
    names: list[str],
    roots: Mapping[str, str],
    comma: bool,
) -> RowParser:
    """The row parser for Finam column keys ``names``; raise FeedError if it lacks a price or VOL.

    ``roots`` maps tickers or their roots to symbols; the reading loop checks
    every price of the event against the instruments' tick grids.
    """
    columns = column_indexes(path, names, _KEYS)
    close = columns.get("LAST", columns.get("CLOSE"))
    if close is None or "VOL" not in columns:
        msg = f"Finam file {path} has no <LAST> or <CLOSE>, or no <VOL> column; export them."
        raise FeedError(msg)
    volume, oper = columns["VOL"], columns.get("OPER")
    ticker, period, day, clock = (columns[n] for n in _KEYS)
    # a bar's open, high and low: their columns, or the close's where the export has none
    others = [columns.get(name, close) for name in ("OPEN", "HIGH", "LOW")]
    symbols: dict[str, str] = {}

    def row(fields: list[str]) -> MarketEvent:
        start, month_days = _moscow_ts(fields[day], fields[clock])
        length = _bar_ns(fields[period], month_days)
        symbol = symbols.get(fields[ticker]) or symbols.setdefault(
            fields[ticker], finam_symbol(fields[ticker], roots)
        )
        price = parse_price(fields[close], names[close].lower(), comma)
        if not length:
            return Tick(
                ts=start,
                symbol=symbol,
                price=price,
                qty=parse_size(fields[volume], "volume", 1),
                aggressor=parse_side(fields[oper] if oper is not None else "", "OPER"),
            )
        open_, high, low = (parse_price(fields[n], names[n].lower(), comma) for n in others)
        return Bar(
            ts=start + length - 1,
            symbol=symbol,
            open=open_,
            high=high,
            low=low,
            close=price,
            volume=parse_size(fields[volume], "volume", 0),
            period_ns=length,
        )

    return row


def finam_rows(  # noqa: PLR0915 - two closures over one set of tables, not split per row
    path: str, names: list[str], roots: Mapping[str, str], comma: bool
) -> RowFormat:
    """:func:`finam_parser` with its fast reader (see :class:`~gateways.readers._rows.RowFormat`).

    The fast reader knows the dates, times, periods and tickers good rows had, and, per
    symbol, their prices (on that symbol's grid) and sizes. A monthly bar's length
    depends on its month: those rows are read exactly.
    """
    parse = finam_parser(path, names, roots, comma)
    columns = column_indexes(path, names, _KEYS)
    close = columns.get("LAST", columns.get("CLOSE"))
    assert close is not None  # finam_parser refused the columns otherwise
    volume, oper = columns["VOL"], columns.get("OPER")
    ticker, period, day, clock = (columns[n] for n in _KEYS)
    open_, high, low = (columns.get(name, close) for name in ("OPEN", "HIGH", "LOW"))
    midnights: dict[str, int] = {}  # DATE text -> its midnight, UTC ns
    clocks: dict[str, int] = {}  # TIME text -> ns since midnight
    lengths: dict[str, int] = {}  # PER text -> a bar's length in ns, 0 for ticks (not M)
    symbols: dict[str, str] = {}  # TICKER -> symbol
    prices: dict[str, dict[str, Decimal]] = {}  # symbol -> price text -> its price
    qtys: dict[str, int] = {}  # a trade's VOL (positive)
    volumes: dict[str, int] = {}  # a bar's VOL (may be 0)
    sides: dict[str, Side] = {}

    def fast(fields: list[str]) -> MarketEvent | None:  # noqa: PLR0911 - each None: ask parse
        midnight, of_day = midnights.get(fields[day]), clocks.get(fields[clock])
        length, symbol = lengths.get(fields[period]), symbols.get(fields[ticker])
        if midnight is None or of_day is None or length is None or symbol is None:
            return None
        known = prices.get(symbol)
        price = None if known is None else known.get(fields[close])
        start = midnight + of_day
        if price is None or not 0 <= start <= MAX_TS - length:
            return None
        if not length:
            qty = qtys.get(fields[volume])
            aggressor = sides.get(fields[oper] if oper is not None else "")
            if qty is None or aggressor is None:
                return None
            return tick_of(start, symbol, price, qty, aggressor)
        assert known is not None
        first, top, bottom = (
            known.get(fields[open_]),
            known.get(fields[high]),
            known.get(fields[low]),
        )
        size = volumes.get(fields[volume])
        if size is None or first is None or top is None or bottom is None:
            return None
        try:  # a bar's own checks (its range holds its open and close) run in bar_of
            return bar_of(start + length - 1, symbol, (first, top, bottom, price), size, length)
        except ValueError:
            return None

    def learn(fields: list[str], event: MarketEvent) -> None:
        remember(midnights, fields[day], _moscow_midnight(fields[day])[0])
        remember(clocks, fields[clock], _clock_ns(fields[clock]))
        if fields[period].upper() != "M":
            remember(lengths, fields[period], _bar_ns(fields[period], 0))
        remember(symbols, fields[ticker], event.symbol)
        known = prices.get(event.symbol)
        if known is None:
            if len(prices) >= KNOWN_LIMIT:
                prices.clear()
            known = prices[event.symbol] = {}
        if isinstance(event, Tick):
            remember(known, fields[close], event.price)
            remember(qtys, fields[volume], event.qty)
            remember(sides, fields[oper] if oper is not None else "", event.aggressor)
        elif isinstance(event, Bar):
            for column, value in ((open_, event.open), (high, event.high), (low, event.low)):
                remember(known, fields[column], value)
            remember(known, fields[close], event.close)
            remember(volumes, fields[volume], event.volume)

    return RowFormat(parse, fast, learn)


def _period_ok(text: str) -> bool:
    return text.isascii() and (text.isdigit() or text.upper() in ("D", "W", "M"))


def _bar_ns(period: str, month_days: int) -> int:
    """How long a bar of Finam period ``period`` lasts (0 for ticks)."""
    if period.isascii() and period.isdigit() and len(period) <= 6:
        return int(period) * 60 * 10**9
    days = {"D": 1, "W": 7, "M": month_days}.get(period.upper())
    if days is None:
        msg = f"period {period!r} is not 0 (ticks), a number of minutes, D, W or M"
        raise RowError(msg)
    return days * _DAY_NS


def _moscow_ts(day: str, clock: str) -> tuple[int, int]:
    """Finam DATE and TIME (Moscow time) as UTC ns, and the days in that month (monthly bars)."""
    midnight, month_days = _moscow_midnight(day)
    ts = midnight + _clock_ns(clock)
    if not 0 <= ts <= MAX_TS:
        msg = f"DATE {day!r} is before 1970 or after 2262"
        raise RowError(msg)
    return ts, month_days


def _clock_ns(clock: str) -> int:
    """Finam TIME as nanoseconds since midnight."""
    match = _TIME.fullmatch(clock)
    hour, minute, second, milli = match.groups("0") if match else ("99", "0", "0", "0")
    seconds = seconds_of_day(hour, minute, second)
    if seconds < 0:
        msg = f"TIME {clock!r} is not HHMMSS, HHMMSSmmm or HH:MM:SS"
        raise RowError(msg)
    return seconds * 10**9 + int(milli) * 10**6


@functools.lru_cache(maxsize=4096)  # a file has few dates, each on many rows
def _moscow_midnight(text: str) -> tuple[int, int]:
    match = _DATE.fullmatch(text)
    try:
        if match is None:
            raise ValueError(text)
        y, m, d = (match[1], match[2], match[3]) if match[1] else (match[6], match[5], match[4])
        local = date(int(y) + (2000 if len(y) == 2 else 0), int(m), int(d))
    except ValueError:
        msg = f"DATE {text!r} is not a date YYYYMMDD or DD/MM/YY"
        raise RowError(msg) from None
    midnight = (local.toordinal() - EPOCH_ORDINAL) * _DAY_NS - _moscow_offset(local) * 10**9
    return midnight, calendar.monthrange(local.year, local.month)[1]


def _moscow_offset(day: date) -> int:
    """Seconds Moscow time was ahead of UTC on ``day`` (trading hours; switches were at night)."""
    if day >= date(2014, 10, 26):
        return 3 * 3600
    if day >= date(2011, 3, 27):
        return 4 * 3600
    try:
        offset = datetime(day.year, day.month, day.day, 12, tzinfo=ZoneInfo("Europe/Moscow"))
    except ZoneInfoNotFoundError:
        msg = f"DATE {day} is before 2011, and Moscow's offset then needs the tz database"
        raise RowError(msg) from None
    delta = offset.utcoffset()
    return int(delta.total_seconds()) if delta is not None else 3 * 3600
