"""Read one market data file lazily, row by row, whatever its format; merge several in time.

Files of a day of ticks run to gigabytes, so :func:`read_file` is an iterator
that holds one line at a time, and :func:`merge` interleaves several of them in
time order without reading any of them whole. The format is told from the
first line: a ``timestamp`` column means generic CSV
(:mod:`gateways.readers.generic_csv`), a ``<TICKER>`` header or a row shaped
like one a Finam export (:mod:`gateways.readers.finam`).

Fields are split on the delimiter (``;``, tab or ``,``, whichever the first line
has; with ``;`` or tab a decimal comma is accepted); quoting is not supported.
A bad row (wrong column count, a number that does not parse, a negative size, a
price off the instrument's tick grid, a quote whose bid is not below its ask, a
time earlier than the row before) is
logged as a warning naming file, line and problem, counted and skipped; with
``strict=True`` it raises :class:`FeedError` with the same sentence. Rows that
go back in time are skipped rather than sorted, because sorting would need the
whole file in memory and such rows are nearly always a broken export. A file
whose format cannot be told, that cannot be opened, or that has no rows (empty,
or a header alone) raises :class:`FeedError` in both modes: it is the wrong
file, not a bad row.
"""

from __future__ import annotations

import heapq
import logging
import operator
from collections.abc import Generator, Iterable, Iterator, Mapping
from datetime import UTC, datetime, tzinfo
from decimal import Decimal
from pathlib import Path
from typing import BinaryIO, NamedTuple, Protocol, TypeVar

import attrs

from gateways.readers._rows import FeedError, RowError, RowFormat
from gateways.readers.finam import FINAM_ROOTS, finam_rows, header_columns, headerless_columns
from gateways.readers.generic_csv import generic_rows
from yard_actors.wire.events import Bar, MarketEvent, Quote
from yard_actors.wire.instruments import InstrumentTable

__all__ = ["MarketFile", "ReadStats", "merge", "read_file"]

log = logging.getLogger(__name__)

_LOGGED_BAD_ROWS = 20  # per file: a file of bad rows must not flood the log


@attrs.define
class ReadStats:
    """What reading one file came to: ``rows == events + bad_rows`` once it is read."""

    rows: int = 0
    events: int = 0
    bad_rows: int = 0
    out_of_order: int = 0  # counted in bad_rows too
    crossed: int = 0  # quotes whose bid is not below their ask; counted in bad_rows too


class _Layout(NamedTuple):
    delimiter: str
    header: bool
    width: int
    rows: RowFormat


class MarketFile(Iterator[MarketEvent]):
    """The events of one file, read as they are asked for; ``stats`` counts as it goes."""

    def __init__(
        self,
        path: str | Path,
        *,
        strict: bool = False,
        symbol_map: Mapping[str, str] | None = None,
        instruments: InstrumentTable | None = None,
        zone: tzinfo = UTC,
    ) -> None:
        self.path = str(path)
        self.stats = ReadStats()
        table = InstrumentTable() if instruments is None else instruments
        roots = {**FINAM_ROOTS, **{s: s for s in table}, **(symbol_map or {})}
        self._events = _read(self, strict, roots, table, zone)

    def __iter__(self) -> Iterator[MarketEvent]:
        # The generator itself: a merge or a loop over the file then steps it without
        # a Python call of __next__ per event. Both step the same generator.
        return self._events

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
    zone: tzinfo = UTC,
) -> MarketFile:
    """Read ``path`` lazily: nothing is opened until the first event is asked for.

    ``symbol_map`` adds to or overrides :data:`~gateways.readers.FINAM_ROOTS`
    (keys are Finam tickers or their roots); ``instruments`` gives the tick grids
    (the default table knows Si and RTS); ``zone`` is the time zone of a generic
    CSV's timestamps written without one (Finam's are Moscow time whatever it is).
    Raises :class:`FeedError` while iterating.
    """
    return MarketFile(
        path, strict=strict, symbol_map=symbol_map, instruments=instruments, zone=zone
    )


class _Timed(Protocol):
    @property
    def ts(self) -> int: ...


_E = TypeVar("_E", bound=_Timed)
_ts = operator.attrgetter("ts")  # a C call: merging two files spent a tenth of it in a Python one


def merge(*streams: Iterable[_E]) -> Iterator[_E]:
    """Interleave time-ordered streams by ``ts``; equal times keep stream order, then row order.

    Each stream must already be in time order, as :func:`read_file` guarantees.
    """
    return heapq.merge(*streams, key=_ts)


# --- the reading loop ----------------------------------------------------------------


def _read(
    file: MarketFile,
    strict: bool,
    roots: Mapping[str, str],
    instruments: InstrumentTable,
    zone: tzinfo,
) -> Generator[MarketEvent, None, None]:
    path, stats = file.path, file.stats
    try:
        handle = open(path, "rb")  # noqa: SIM115 - the with below closes it, inside the generator
    except OSError as exc:
        msg = f"Cannot read market data file {path}: {exc.strerror}."
        raise FeedError(msg) from exc
    with handle:
        yield from _rows(
            file, handle, strict=strict, roots=roots, instruments=instruments, zone=zone
        )
    if stats.rows == 0:
        msg = f"Market data file {path} has a header but no rows (an export that failed?)."
        raise FeedError(msg)
    log.log(
        logging.WARNING if stats.bad_rows else logging.INFO,
        "Read %s: %d rows, %d events, %d bad rows skipped (%d out of time order, %d crossed).",
        *(path, stats.rows, stats.events, stats.bad_rows, stats.out_of_order, stats.crossed),
    )


def _rows(
    file: MarketFile,
    handle: BinaryIO,
    *,
    strict: bool,
    roots: Mapping[str, str],
    instruments: InstrumentTable,
    zone: tzinfo,
) -> Generator[MarketEvent, None, None]:
    """The events of the open file's rows, each row read fast if it can be, else exactly.

    One loop, no generator per step: this is where a backtest over files spends most of
    its reading. A line of printable ASCII without spaces needs no stripping.
    """
    path, stats = file.path, file.stats
    layout: _Layout | None = None
    last_ts = 0
    for line_no, raw in enumerate(handle, start=1):
        try:
            line = raw.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError:
            line = "\x00"  # not text: fails every parser, so it is reported as a bad row
        if not line or line.isspace():
            continue  # blank lines are not rows
        if layout is None:
            line = line.removeprefix("\ufeff")  # Windows tools start with a BOM
            layout = _layout(path, line, roots, zone, instruments)
            delimiter, width, (parse, fast, learn) = layout.delimiter, layout.width, layout.rows
            if layout.header:
                continue
        stats.rows += 1
        fields = line.split(delimiter)
        if " " in line or not line.isprintable():
            fields = [field.strip() for field in fields]
        event = fast(fields) if len(fields) == width else None
        if event is None or event.ts < last_ts:
            try:
                if len(fields) != width:
                    msg = f"it has {len(fields)} columns, not the {width} of the format"
                    raise RowError(msg)
                event = _check(parse(fields), instruments, last_ts, stats)
            except (RowError, ValueError, TypeError, ArithmeticError) as exc:
                stats.bad_rows += 1
                _report(f"{path} line {line_no}: {exc}.", strict, stats.bad_rows)
                continue
            learn(fields, event)
        stats.events += 1
        last_ts = event.ts
        yield event
    if layout is None:
        msg = f"Market data file {path} is empty: it has no rows (an export that failed?)."
        raise FeedError(msg)


def _check(
    event: MarketEvent, instruments: InstrumentTable, last_ts: int, stats: ReadStats
) -> MarketEvent:
    for name, price in _prices(event):
        problem = instruments.price_problem(event.symbol, price)
        if problem:
            raise RowError(f"{name} {problem}" if name else problem)
    if isinstance(event, Quote) and event.bid >= event.ask:  # no market trades through itself
        stats.crossed += 1
        msg = f"its bid {event.bid} is not below its ask {event.ask} (a crossed or locked quote)"
        raise RowError(msg)
    if event.ts < last_ts:
        stats.out_of_order += 1
        msg = (
            f"its time {_iso(event.ts)} is earlier than the row before's {_iso(last_ts)}; "
            "rows must go forward in time"
        )
        raise RowError(msg)
    return event


def _prices(event: MarketEvent) -> tuple[tuple[str, Decimal], ...]:
    """Every price ``event`` carries, each to be on its symbol's tick grid, with the name a
    bar's problem is told by (a quote's and a tick's say which price they are)."""
    if isinstance(event, Quote):
        return ("", event.bid), ("", event.ask)
    if isinstance(event, Bar):
        return (
            ("open", event.open),
            ("high", event.high),
            ("low", event.low),
            ("close", event.close),
        )
    return (("", event.price),)


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
    path: str, first: str, roots: Mapping[str, str], zone: tzinfo, instruments: InstrumentTable
) -> _Layout:
    delimiter = next((d for d in (";", "\t", ",") if d in first), ",")
    comma = delimiter != ","
    names = [name.strip() for name in first.split(delimiter)]
    lowered = [name.lower() for name in names]
    if "timestamp" in lowered:
        return _Layout(delimiter, True, len(names), generic_rows(path, lowered, comma, zone))
    keys = header_columns(names)
    if keys is not None:
        return _Layout(delimiter, True, len(names), finam_rows(path, keys, roots, comma))
    keys = headerless_columns(names)
    if keys is not None:
        return _Layout(delimiter, False, len(names), finam_rows(path, keys, roots, comma))
    msg = (
        f"Cannot tell the format of market data file {path} from its first line {first[:80]!r}: "
        "expected a generic CSV header (timestamp,symbol,...) or a Finam export."
    )
    raise FeedError(msg)
