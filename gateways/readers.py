"""Market data files read into yard events, lazily, one row at a time.

Files of a day of ticks run to gigabytes, so :func:`read_file` is an iterator
that holds one line at a time, and :func:`merge` interleaves several of them in
time order without reading any of them whole. The format is told from the
first line:

* **Generic CSV** with a header naming its columns (any order; extra columns
  are ignored): ``timestamp,symbol,bid,ask,bid_size,ask_size`` gives
  :class:`Quote`; ``timestamp,symbol,last,volume`` with an optional ``side``
  gives :class:`Tick`. ``timestamp`` is ISO-8601 (``Z`` or an offset; naive
  means UTC; up to nanoseconds) or integer nanoseconds since the epoch.
* **Finam exports**, with or without their ``<TICKER>;<PER>;...`` header:
  ticks ``TICKER,PER,DATE,TIME,LAST,VOL`` (plus ``ID`` and ``OPER``) and bars
  ``TICKER,PER,DATE,TIME,OPEN,HIGH,LOW,CLOSE,VOL`` (or ``CLOSE,VOL`` alone).
  DATE is ``YYYYMMDD`` or ``DD/MM/YY``; TIME is ``HHMMSS``, ``HHMMSSmmm`` or
  ``HH:MM:SS``; both are Moscow time (UTC+3 since 26 October 2014, UTC+4 from
  March 2011, the tz database before), converted to UTC. A tick's aggressor is
  ``OPER`` (B or S) where given, else buy. A bar becomes **one Tick at its close
  price carrying its volume, stamped at the bar's last nanosecond** (start +
  period - 1 ns; Finam stamps a bar with its start): the close is only known
  when the bar ends, so a robot never sees a price before the data had it,
  and the stamp stays inside the bar, before a session boundary at its end.
  Tickers become yard symbols through :data:`FINAM_ROOTS` (``SiZ5`` and
  ``SPFB.Si`` give ``Si``, ``RIZ5`` gives ``RTS``; unknown roots stay as they are).

Fields are split on the delimiter (``;``, tab or ``,``, whichever the first line
has; with ``;`` or tab a decimal comma is accepted); quoting is not supported.
A bad row (wrong column count, a number that does not parse, a negative size, a
price off the instrument's tick grid, a time earlier than the row before) is
logged as a warning naming file, line and problem, counted and skipped; with
``strict=True`` it raises :class:`FeedError` with the same sentence. Rows that
go back in time are skipped rather than sorted, because sorting would need the
whole file in memory and such rows are nearly always a broken export. A file
whose format cannot be told, or that cannot be opened, raises
:class:`FeedError` in both modes: it is the wrong file, not a bad row.
"""

from __future__ import annotations

import calendar
import functools
import heapq
import itertools
import logging
import re
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import NamedTuple, Protocol, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs

from yard_actors.errors import YardError
from yard_actors.wire.events import MarketEvent, Quote, Side, Tick
from yard_actors.wire.instruments import InstrumentTable

__all__ = [
    "FINAM_ROOTS",
    "FeedError",
    "MarketFile",
    "ReadStats",
    "finam_symbol",
    "merge",
    "read_file",
]

log = logging.getLogger(__name__)

FINAM_ROOTS: Mapping[str, str] = {"Si": "Si", "RI": "RTS", "RTS": "RTS"}
"""Finam ticker roots (the ticker without ``SPFB.`` and contract month) to yard symbols."""

_LOGGED_BAD_ROWS = 20  # per file: a file of bad rows must not flood the log
_DAY_NS = 86_400 * 10**9
_MAX_TS = 2**63 - 1
_EPOCH = date(1970, 1, 1).toordinal()
_QUOTE_COLUMNS = ("timestamp", "symbol", "bid", "ask", "bid_size", "ask_size")
_TICK_COLUMNS = ("timestamp", "symbol", "last", "volume")
_FINAM_KEYS = ("TICKER", "PER", "DATE", "TIME")
_FINAM_BY_WIDTH = {  # the headerless Finam layouts, told apart by their column count
    6: ("TICKER", "PER", "DATE", "TIME", "LAST", "VOL"),
    7: ("TICKER", "PER", "DATE", "TIME", "LAST", "VOL", "ID"),
    8: ("TICKER", "PER", "DATE", "TIME", "LAST", "VOL", "ID", "OPER"),
    9: ("TICKER", "PER", "DATE", "TIME", "OPEN", "HIGH", "LOW", "CLOSE", "VOL"),
}
_SIDES = {"": Side.BUY, "b": Side.BUY, "buy": Side.BUY, "s": Side.SELL, "sell": Side.SELL}
_WHOLE = re.compile(r"-?[0-9]{1,18}", re.ASCII)
_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?", re.ASCII)
_ISO = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d)(?::(\d\d)(?:[.,](\d{1,9}))?)?"
    r"(Z|[+-]\d\d(?::?\d\d)?)?",
    re.ASCII | re.IGNORECASE,
)
_FINAM_DATE = re.compile(r"(\d{4})(\d\d)(\d\d)|(\d\d)[/.](\d\d)[/.](\d\d|\d{4})", re.ASCII)
_FINAM_TIME = re.compile(r"(\d\d):?(\d\d)(?::?(\d\d))?(?:[.,]?(\d{3}))?", re.ASCII)
_CONTRACT = re.compile(r"(?:SPFB\.)?(.+?)(?:[FGHJKMNQUVXZ]\d{1,2}|-\d{1,2}\.\d{2})?")


class FeedError(YardError):
    """A market data file is unreadable, of unknown format, or (strict mode) has a bad row."""


@attrs.define
class ReadStats:
    """What reading one file came to: ``rows == events + bad_rows`` once it is read."""

    rows: int = 0
    events: int = 0
    bad_rows: int = 0
    out_of_order: int = 0  # counted in bad_rows too


class _RowError(Exception):
    """A row's problem as a clause; the reading loop adds file and line."""


_RowParser = Callable[[list[str]], MarketEvent]


class _Layout(NamedTuple):
    delimiter: str
    header: bool
    width: int
    parse: _RowParser


class MarketFile(Iterator[MarketEvent]):
    """The events of one file, read as they are asked for; ``stats`` counts as it goes."""

    def __init__(
        self,
        path: str | Path,
        *,
        strict: bool = False,
        symbol_map: Mapping[str, str] | None = None,
        instruments: InstrumentTable | None = None,
    ) -> None:
        self.path = str(path)
        self.stats = ReadStats()
        roots = {**FINAM_ROOTS, **(symbol_map or {})}
        self._events = _read(self, strict, roots, instruments or InstrumentTable())

    def __next__(self) -> MarketEvent:
        return next(self._events)

    def close(self) -> None:
        """Close the file before its end (the generator's ``with`` closes it at the end)."""
        self._events.close()


def read_file(
    path: str | Path,
    *,
    strict: bool = False,
    symbol_map: Mapping[str, str] | None = None,
    instruments: InstrumentTable | None = None,
) -> MarketFile:
    """Read ``path`` lazily: nothing is opened until the first event is asked for.

    ``symbol_map`` adds to or overrides :data:`FINAM_ROOTS` (keys are Finam
    tickers or their roots); ``instruments`` gives the tick grids (the default
    table knows Si and RTS). Raises :class:`FeedError` while iterating.
    """
    return MarketFile(path, strict=strict, symbol_map=symbol_map, instruments=instruments)


class _Timed(Protocol):
    @property
    def ts(self) -> int: ...


_E = TypeVar("_E", bound=_Timed)


def _ts(event: _Timed) -> int:
    return event.ts


def merge(*streams: Iterable[_E]) -> Iterator[_E]:
    """Interleave time-ordered streams by ``ts``; equal times keep stream order, then row order.

    Each stream must already be in time order, as :func:`read_file` guarantees.
    """
    return heapq.merge(*streams, key=_ts)


def finam_symbol(ticker: str, roots: Mapping[str, str] = FINAM_ROOTS) -> str:
    """The yard symbol of a Finam ticker: ``SiZ5`` → ``Si``, ``RIH6`` → ``RTS``, else unchanged."""
    if ticker in roots:
        return roots[ticker]
    match = _CONTRACT.fullmatch(ticker)
    return roots.get(match[1], ticker) if match else ticker


# --- the reading loop ----------------------------------------------------------------


def _read(
    file: MarketFile, strict: bool, roots: Mapping[str, str], instruments: InstrumentTable
) -> Generator[MarketEvent, None, None]:
    path, stats = file.path, file.stats
    try:
        handle = open(path, "rb")  # noqa: SIM115 - the with below closes it, inside the generator
    except OSError as exc:
        msg = f"Cannot read market data file {path}: {exc.strerror}."
        raise FeedError(msg) from exc
    with handle:
        lines = enumerate((_text(raw) for raw in handle), start=1)
        rows = ((n, line) for n, line in lines if line.strip())  # blank lines are not rows
        first = next(rows, None)
        if first is None:
            log.warning("Market data file %s is empty: it gives no events.", path)
            return
        first = (first[0], first[1].removeprefix("\ufeff"))  # Windows tools start with a BOM
        layout = _layout(path, first[1], roots, instruments)
        last_ts = 0
        for line_no, line in rows if layout.header else itertools.chain([first], rows):
            stats.rows += 1
            try:
                fields = [field.strip() for field in line.split(layout.delimiter)]
                if len(fields) != layout.width:
                    msg = f"it has {len(fields)} columns, not the {layout.width} of the format"
                    raise _RowError(msg)
                event = _check(layout.parse(fields), instruments, last_ts, stats)
            except (_RowError, ValueError, TypeError, ArithmeticError) as exc:
                stats.bad_rows += 1
                _report(f"{path} line {line_no}: {exc}.", strict, stats.bad_rows)
                continue
            stats.events += 1
            last_ts = event.ts
            yield event
    if stats.rows == 0:
        log.warning("Market data file %s has a header but no rows: it gives no events.", path)
    log.log(
        logging.WARNING if stats.bad_rows else logging.INFO,
        "Read %s: %d rows, %d events, %d bad rows skipped (%d out of time order).",
        *(path, stats.rows, stats.events, stats.bad_rows, stats.out_of_order),
    )


def _text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError:
        return "\x00"  # not text: fails every parser, so it is reported as a bad row


def _check(
    event: MarketEvent, instruments: InstrumentTable, last_ts: int, stats: ReadStats
) -> MarketEvent:
    for price in (event.bid, event.ask) if isinstance(event, Quote) else (event.price,):
        problem = instruments.price_problem(event.symbol, price)
        if problem:
            raise _RowError(problem)
    if event.ts < last_ts:
        stats.out_of_order += 1
        msg = (
            f"its time {_iso(event.ts)} is earlier than the row before's {_iso(last_ts)}; "
            "rows must go forward in time"
        )
        raise _RowError(msg)
    return event


def _report(sentence: str, strict: bool, count: int) -> None:
    if strict:
        raise FeedError(sentence)
    if count <= _LOGGED_BAD_ROWS:
        log.warning("%s Skipped the row.", sentence)
    if count == _LOGGED_BAD_ROWS:
        log.warning("Further bad rows of this file are counted, not logged.")


def _iso(ts: int) -> str:
    return f"{datetime.fromtimestamp(ts // 10**9, UTC):%Y-%m-%dT%H:%M:%S}.{ts % 10**9:09d}Z"


# --- telling the format --------------------------------------------------------------


def _layout(
    path: str, first: str, roots: Mapping[str, str], instruments: InstrumentTable
) -> _Layout:
    delimiter = next((d for d in (";", "\t", ",") if d in first), ",")
    comma = delimiter != ","
    names = [name.strip() for name in first.split(delimiter)]
    lowered = [name.lower() for name in names]
    if "timestamp" in lowered:
        return _Layout(delimiter, True, len(names), _generic_parser(path, lowered, comma))
    if names[0].startswith("<"):
        keys = [name.strip("<>").upper() for name in names]
        parse = _finam_parser(path, keys, roots, instruments, comma)
        return _Layout(delimiter, True, len(names), parse)
    keys = list(_FINAM_BY_WIDTH.get(len(names), ()))
    if keys and _looks_like_finam(names):
        parse = _finam_parser(path, keys, roots, instruments, comma)
        return _Layout(delimiter, False, len(names), parse)
    msg = (
        f"Cannot tell the format of market data file {path} from its first line {first[:80]!r}: "
        "expected a generic CSV header (timestamp,symbol,...) or a Finam export."
    )
    raise FeedError(msg)


def _looks_like_finam(fields: list[str]) -> bool:
    oper_ok = len(fields) != 8 or fields[7].lower() in _SIDES
    return _period_ok(fields[1]) and bool(_FINAM_DATE.fullmatch(fields[2])) and oper_ok


def _columns(path: str, names: list[str], required: Iterable[str]) -> dict[str, int]:
    missing = [name for name in required if name not in names]
    if missing or len(set(names)) != len(names):
        problem = f"lacks {', '.join(missing)}" if missing else "repeats a column"
        msg = f"The header of market data file {path} {problem}: {names}."
        raise FeedError(msg)
    return {name: n for n, name in enumerate(names)}


def _generic_parser(path: str, names: list[str], comma: bool) -> _RowParser:
    if "bid" in names:
        columns = _columns(path, names, _QUOTE_COLUMNS)
        t, s, b, a, bs, az = (columns[n] for n in _QUOTE_COLUMNS)

        def quote(fields: list[str]) -> MarketEvent:
            return Quote(
                ts=_timestamp(fields[t]),
                symbol=fields[s],
                bid=_price(fields[b], "bid", comma),
                ask=_price(fields[a], "ask", comma),
                bid_size=_size(fields[bs], "bid_size", 0),
                ask_size=_size(fields[az], "ask_size", 0),
            )

        return quote
    columns = _columns(path, names, _TICK_COLUMNS)
    t, s, p, v = (columns[n] for n in _TICK_COLUMNS)
    side = columns.get("side")

    def tick(fields: list[str]) -> MarketEvent:
        return Tick(
            ts=_timestamp(fields[t]),
            symbol=fields[s],
            price=_price(fields[p], "last", comma),
            qty=_size(fields[v], "volume", 1),
            aggressor=_side(fields[side] if side is not None else "", "side"),
        )

    return tick


def _finam_parser(
    path: str,
    names: list[str],
    roots: Mapping[str, str],
    instruments: InstrumentTable,
    comma: bool,
) -> _RowParser:
    columns = _columns(path, names, _FINAM_KEYS)
    close = columns.get("LAST", columns.get("CLOSE"))
    if close is None or "VOL" not in columns:
        msg = f"Finam file {path} has no <LAST> or <CLOSE>, or no <VOL> column; export them."
        raise FeedError(msg)
    volume, oper = columns["VOL"], columns.get("OPER")
    ticker, period, day, clock = (columns[n] for n in _FINAM_KEYS)
    others = [(columns[n], n.lower()) for n in ("OPEN", "HIGH", "LOW") if n in columns]
    symbols: dict[str, str] = {}

    def row(fields: list[str]) -> MarketEvent:
        start, month_days = _moscow_ts(fields[day], fields[clock])
        end = start + _bar_ns(fields[period], month_days)
        symbol = symbols.get(fields[ticker]) or symbols.setdefault(
            fields[ticker], finam_symbol(fields[ticker], roots)
        )
        for index, name in others:  # the bar's other prices: checked, though not sent
            problem = instruments.price_problem(symbol, _price(fields[index], name, comma))
            if problem:
                raise _RowError(problem)
        return Tick(
            ts=end - 1 if end > start else start,
            symbol=symbol,
            price=_price(fields[close], names[close].lower(), comma),
            qty=_size(fields[volume], "volume", 1),
            aggressor=_side(fields[oper] if oper is not None else "", "OPER"),
        )

    return row


# --- fields --------------------------------------------------------------------------


def _price(text: str, name: str, comma: bool) -> Decimal:
    number = text.replace(",", ".", 1) if comma else text
    if not _NUMBER.fullmatch(number):
        msg = f"{name} {text!r} is not a decimal number"
        raise _RowError(msg)
    return Decimal(number)


def _size(text: str, name: str, least: int) -> int:
    if _WHOLE.fullmatch(text):
        value = int(text)
        if value >= least:
            return value
    what = "positive" if least else "non-negative"
    msg = f"{name} must be a {what} whole number, was {text!r}"
    raise _RowError(msg)


def _side(text: str, name: str) -> Side:
    side = _SIDES.get(text.lower())
    if side is None:
        msg = f"{name} must be B or S (buy or sell), was {text!r}"
        raise _RowError(msg)
    return side


def _timestamp(text: str) -> int:
    if text.isascii() and text.isdigit() and len(text) <= 19 and int(text) <= _MAX_TS:
        return int(text)
    match = _ISO.fullmatch(text)
    if match is None:
        msg = f"timestamp {text!r} is neither ISO-8601 nor integer nanoseconds"
        raise _RowError(msg)
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    offset = 0
    if zone and zone.upper() != "Z":
        digits = zone[1:].replace(":", "")
        offset = (int(digits[:2]) * 60 + int(digits[2:] or 0)) * (-60 if zone[0] == "-" else 60)
    try:
        days = date(int(year), int(month), int(day)).toordinal() - _EPOCH
    except ValueError:
        days = -1
    seconds = _seconds_of_day(hour, minute, second or "00")
    ts = ((days * 86_400 + seconds - offset) * 10**9) + int((fraction or "0").ljust(9, "0"))
    if days < 0 or seconds < 0 or not 0 <= ts <= _MAX_TS:
        msg = f"timestamp {text!r} is not a valid time between 1970 and 2262"
        raise _RowError(msg)
    return ts


def _seconds_of_day(hour: str, minute: str, second: str) -> int:
    h, m, s = int(hour), int(minute), int(second)
    return h * 3600 + m * 60 + s if h < 24 and m < 60 and s < 60 else -1


def _period_ok(text: str) -> bool:
    return text.isascii() and (text.isdigit() or text.upper() in ("D", "W", "M"))


def _bar_ns(period: str, month_days: int) -> int:
    """How long a bar of Finam period ``period`` lasts (0 for ticks)."""
    if period.isascii() and period.isdigit() and len(period) <= 6:
        return int(period) * 60 * 10**9
    days = {"D": 1, "W": 7, "M": month_days}.get(period.upper())
    if days is None:
        msg = f"period {period!r} is not 0 (ticks), a number of minutes, D, W or M"
        raise _RowError(msg)
    return days * _DAY_NS


def _moscow_ts(day: str, clock: str) -> tuple[int, int]:
    """Finam DATE and TIME (Moscow time) as UTC ns, and the days in that month (monthly bars)."""
    midnight, month_days = _moscow_midnight(day)
    match = _FINAM_TIME.fullmatch(clock)
    hour, minute, second, milli = match.groups("0") if match else ("99", "0", "0", "0")
    seconds = _seconds_of_day(hour, minute, second)
    if seconds < 0:
        msg = f"TIME {clock!r} is not HHMMSS, HHMMSSmmm or HH:MM:SS"
        raise _RowError(msg)
    ts = midnight + seconds * 10**9 + int(milli) * 10**6
    if not 0 <= ts <= _MAX_TS:
        msg = f"DATE {day!r} is before 1970 or after 2262"
        raise _RowError(msg)
    return ts, month_days


@functools.lru_cache(maxsize=4096)  # a file has few dates, each on many rows
def _moscow_midnight(text: str) -> tuple[int, int]:
    match = _FINAM_DATE.fullmatch(text)
    try:
        if match is None:
            raise ValueError(text)
        y, m, d = (match[1], match[2], match[3]) if match[1] else (match[6], match[5], match[4])
        local = date(int(y) + (2000 if len(y) == 2 else 0), int(m), int(d))
    except ValueError:
        msg = f"DATE {text!r} is not a date YYYYMMDD or DD/MM/YY"
        raise _RowError(msg) from None
    midnight = (local.toordinal() - _EPOCH) * _DAY_NS - _moscow_offset(local) * 10**9
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
        raise _RowError(msg) from None
    delta = offset.utcoffset()
    return int(delta.total_seconds()) if delta is not None else 3 * 3600
