"""What every format's row parser is built from: the errors, the column lookup, the fields.

A parser raises :class:`RowError` with a clause naming the field and its value
("bid '9000O' is not a decimal number"); the reading loop in
:mod:`gateways.readers.market_file` adds the file and line, then counts and
skips the row, or raises :class:`FeedError` in strict mode. A header that
cannot be read raises :class:`FeedError` at once: it is the wrong file, not a
bad row.

Each format also has a fast reader of rows (:class:`RowFormat`): the rows of a day of
market data repeat a few hundred prices and sizes, so a field's text that an earlier row
proved good (parsed, within the wire's range, on its symbol's tick grid) is looked up,
not parsed and checked again, and the event is built without running its validators a
second time (:data:`quote_of`, :data:`tick_of`). Anything the fast reader
has not seen, or doubts, goes to the exact parser, which says what is wrong with the row.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any, Final, NamedTuple

import attrs

from yard_actors.errors import YardError
from yard_actors.wire.events import Bar, MarketEvent, Quote, Side, Tick

__all__ = [
    "EPOCH_ORDINAL",
    "KNOWN_LIMIT",
    "MAX_TS",
    "SIDES",
    "UNCHECKED",
    "FeedError",
    "RowError",
    "RowFormat",
    "RowParser",
    "bar_of",
    "column_indexes",
    "parse_price",
    "parse_side",
    "parse_size",
    "quote_of",
    "remember",
    "seconds_of_day",
    "tick_of",
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

KNOWN_LIMIT: Final = 1 << 16
"""Field texts a fast reader remembers per table before it forgets them all and starts again:
a file of ever-new prices is read at the exact parser's pace, in bounded memory."""


class RowFormat(NamedTuple):
    """A format's readers of a row's fields (split and stripped), the exact one and the fast.

    ``parse``: the event, or RowError (or ValueError) saying what is wrong; the reading
    loop then checks prices against the tick grids, a quote's bid below its ask and the
    time order. ``fast``: the event, with all of those checks passed but the time order,
    for a row whose every field an earlier good row had, or None: then ``parse`` decides,
    and ``learn`` remembers the fields of the row it read (and the loop checked).
    """

    parse: RowParser
    fast: Callable[[list[str]], MarketEvent | None]
    learn: Callable[[list[str], MarketEvent], None]


def remember(known: dict[str, Any], text: str, value: object) -> None:
    """Remember ``value`` for ``text`` in ``known``; forget everything past :data:`KNOWN_LIMIT`."""
    if len(known) >= KNOWN_LIMIT:
        known.clear()
    known[text] = value


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


# --- events built from values already checked ------------------------------------------
# The events' validators check what the readers' parsers and the loop's checks have
# checked already, and took a fifth of a row's reading. A fast reader builds an event from
# values an exact parser proved good, as attrs' own __init__ does without validators. If
# an event class's fields ever differ from what these expect, the checked constructor is
# used: right, only slower (tests/unit/gateways/readers/test_fast_rows.py).

_new, _set = object.__new__, object.__setattr__


def _fields_are(cls: type, names: tuple[str, ...]) -> bool:
    fields = attrs.fields(cls)
    plain = all(f.converter is None and f.on_setattr is None for f in fields)
    return (
        plain and tuple(f.name for f in fields) == names and not hasattr(cls, "__attrs_post_init__")
    )


def _checked_quote(  # noqa: PLR0917 - positional, as the hot loop calls it
    ts: int, symbol: str, bid: Decimal, ask: Decimal, bid_size: int, ask_size: int
) -> Quote:
    return Quote(ts=ts, symbol=symbol, bid=bid, ask=ask, bid_size=bid_size, ask_size=ask_size)


def _unchecked_quote(  # noqa: PLR0917 - positional, as the hot loop calls it
    ts: int, symbol: str, bid: Decimal, ask: Decimal, bid_size: int, ask_size: int
) -> Quote:
    quote: Quote = _new(Quote)
    _set(quote, "ts", ts)
    _set(quote, "symbol", symbol)
    _set(quote, "bid", bid)
    _set(quote, "ask", ask)
    _set(quote, "bid_size", bid_size)
    _set(quote, "ask_size", ask_size)
    return quote


def _checked_tick(ts: int, symbol: str, price: Decimal, qty: int, aggressor: Side) -> Tick:
    return Tick(ts=ts, symbol=symbol, price=price, qty=qty, aggressor=aggressor)


def _unchecked_tick(ts: int, symbol: str, price: Decimal, qty: int, aggressor: Side) -> Tick:
    tick: Tick = _new(Tick)
    _set(tick, "ts", ts)
    _set(tick, "symbol", symbol)
    _set(tick, "price", price)
    _set(tick, "qty", qty)
    _set(tick, "aggressor", aggressor)
    return tick


def bar_of(
    ts: int,
    symbol: str,
    prices: tuple[Decimal, Decimal, Decimal, Decimal],
    volume: int,
    period_ns: int,
) -> Bar:
    """A Bar of values already checked, checked again: a bar's own checks span its fields
    (its range holds its open and close), so they run; raises ValueError as ``Bar`` does."""
    open_, high, low, close = prices
    return Bar(
        ts=ts,
        symbol=symbol,
        open=open_,
        high=high,
        low=low,
        close=close,
        volume=volume,
        period_ns=period_ns,
    )


UNCHECKED: Final = _fields_are(
    Quote, ("ts", "symbol", "bid", "ask", "bid_size", "ask_size")
) and _fields_are(Tick, ("ts", "symbol", "price", "qty", "aggressor"))
"""Whether the event classes are as the unchecked builders expect (else they check)."""
quote_of: Final = _unchecked_quote if UNCHECKED else _checked_quote
"""A Quote of values already checked (a fast reader's)."""
tick_of: Final = _unchecked_tick if UNCHECKED else _checked_tick
"""A Tick of values already checked (a fast reader's)."""
