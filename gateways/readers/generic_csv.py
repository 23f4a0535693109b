"""Generic CSV: a header names the columns, and each row becomes a Quote or a Tick.

Columns come in any order and extra ones are ignored:
``timestamp,symbol,bid,ask,bid_size,ask_size`` gives :class:`Quote`;
``timestamp,symbol,last,volume`` with an optional ``side`` (B, S, buy or sell;
empty is buy) gives :class:`Tick`. ``timestamp`` is ISO-8601 (``Z`` or an
offset; up to nanoseconds) or integer nanoseconds since the epoch. A file is
this format when its first line has a ``timestamp`` column.

An ISO time without a zone is read in the reader's time zone: UTC unless told
otherwise (``yard feed --tz Europe/Moscow``, ``[feed] tz`` in yard.toml;
:func:`time_zone`), with the zone's offset on that date, summer time included.
Finam exports carry no zone either; theirs is always Moscow time (:mod:`.finam`).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from gateways.readers._rows import (
    EPOCH_ORDINAL,
    KNOWN_LIMIT,
    MAX_TS,
    FeedError,
    RowError,
    RowFormat,
    RowParser,
    column_indexes,
    parse_price,
    parse_side,
    parse_size,
    quote_of,
    remember,
    seconds_of_day,
    tick_of,
)
from yard_actors.wire.events import MarketEvent, Quote, Side, Tick

__all__ = [
    "QUOTE_COLUMNS",
    "TICK_COLUMNS",
    "generic_parser",
    "generic_rows",
    "parse_timestamp",
    "time_zone",
]

QUOTE_COLUMNS: Final = ("timestamp", "symbol", "bid", "ask", "bid_size", "ask_size")
TICK_COLUMNS: Final = ("timestamp", "symbol", "last", "volume")

_NS_DIGITS: Final = 19  # integer nanoseconds up to MAX_TS
_ISO = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d)(?::(\d\d)(?:[.,](\d{1,9}))?)?"
    r"(Z|[+-]\d\d(?::?\d\d)?)?",
    re.ASCII | re.IGNORECASE,
)


def time_zone(name: str, *, source: str = "--tz") -> tzinfo:
    """The zone named ``name`` (``UTC``, ``Europe/Moscow``); FeedError naming ``source`` if none."""
    if name.upper() in ("UTC", "Z"):
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        msg = f"{source} {name!r} is not a time zone; give UTC or a name like Europe/Moscow"
        raise FeedError(msg) from exc


def generic_parser(path: str, names: list[str], comma: bool, zone: tzinfo = UTC) -> RowParser:
    """The row parser for a header of lower-cased ``names``: quotes if it has ``bid``, else ticks.

    Raises :class:`~gateways.readers.FeedError` if a column the format needs is
    missing or one is repeated. ``comma`` accepts a decimal comma in prices;
    ``zone`` is the time zone of timestamps written without one.
    """
    if "bid" in names:
        columns = column_indexes(path, names, QUOTE_COLUMNS)
        t, s, b, a, bs, az = (columns[n] for n in QUOTE_COLUMNS)

        def quote(fields: list[str]) -> MarketEvent:
            return Quote(
                ts=parse_timestamp(fields[t], zone),
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
            ts=parse_timestamp(fields[t], zone),
            symbol=fields[s],
            price=parse_price(fields[p], "last", comma),
            qty=parse_size(fields[v], "volume", 1),
            aggressor=parse_side(fields[side] if side is not None else "", "side"),
        )

    return tick


def generic_rows(path: str, names: list[str], comma: bool, zone: tzinfo = UTC) -> RowFormat:
    """:func:`generic_parser` with its fast reader (see :class:`~gateways.readers._rows.RowFormat`).

    The fast reader knows, per symbol, the prices good rows had (on that symbol's grid),
    and the sizes; it reads integer timestamps itself and ISO ones with
    :func:`parse_timestamp`.
    """
    parse = generic_parser(path, names, comma, zone)
    prices: dict[str, dict[str, Decimal]] = {}  # symbol -> price text -> its price
    sizes: dict[str, int] = {}
    if "bid" in names:
        columns = column_indexes(path, names, QUOTE_COLUMNS)
        t, s, b, a, bs, az = (columns[n] for n in QUOTE_COLUMNS)

        def fast_quote(fields: list[str]) -> MarketEvent | None:
            text = fields[t]  # integer nanoseconds, mostly: read here, not in a call
            fast = len(text) <= _NS_DIGITS and text.isdigit() and text.isascii()
            ts = int(text) if fast else _iso_timestamp(text, zone)
            known = prices.get(fields[s])
            if ts is None or ts > MAX_TS or known is None:
                return None
            bid, ask = known.get(fields[b]), known.get(fields[a])
            bid_size, ask_size = sizes.get(fields[bs]), sizes.get(fields[az])
            if bid is None or ask is None or bid_size is None or ask_size is None or bid >= ask:
                return None
            return quote_of(ts, fields[s], bid, ask, bid_size, ask_size)

        def learn_quote(fields: list[str], event: MarketEvent) -> None:
            assert isinstance(event, Quote)
            known = _prices_of(prices, event.symbol)
            remember(known, fields[b], event.bid)
            remember(known, fields[a], event.ask)
            remember(sizes, fields[bs], event.bid_size)
            remember(sizes, fields[az], event.ask_size)

        return RowFormat(parse, fast_quote, learn_quote)
    columns = column_indexes(path, names, TICK_COLUMNS)
    t, s, p, v = (columns[n] for n in TICK_COLUMNS)
    side = columns.get("side")
    sides: dict[str, Side] = {}

    def fast_tick(fields: list[str]) -> MarketEvent | None:
        text = fields[t]
        fast = len(text) <= _NS_DIGITS and text.isdigit() and text.isascii()
        ts = int(text) if fast else _iso_timestamp(text, zone)
        known = prices.get(fields[s])
        if ts is None or ts > MAX_TS or known is None:
            return None
        price, qty = known.get(fields[p]), sizes.get(fields[v])
        aggressor = sides.get(fields[side] if side is not None else "")
        if price is None or qty is None or aggressor is None:
            return None
        return tick_of(ts, fields[s], price, qty, aggressor)

    def learn_tick(fields: list[str], event: MarketEvent) -> None:
        assert isinstance(event, Tick)
        remember(_prices_of(prices, event.symbol), fields[p], event.price)
        remember(sizes, fields[v], event.qty)
        remember(sides, fields[side] if side is not None else "", event.aggressor)

    return RowFormat(parse, fast_tick, learn_tick)


def _prices_of(prices: dict[str, dict[str, Decimal]], symbol: str) -> dict[str, Decimal]:
    known = prices.get(symbol)
    if known is None:
        if len(prices) >= KNOWN_LIMIT:
            prices.clear()
        known = prices[symbol] = {}
    return known


def _iso_timestamp(text: str, zone: tzinfo) -> int | None:
    """:func:`parse_timestamp`'s answer, or None where it raises."""
    try:
        return parse_timestamp(text, zone)
    except RowError:
        return None


def parse_timestamp(text: str, zone: tzinfo = UTC) -> int:
    """Integer nanoseconds since the epoch, or ISO-8601 (naive: in ``zone``) as such."""
    if text.isascii() and text.isdigit() and len(text) <= _NS_DIGITS and int(text) <= MAX_TS:
        return int(text)
    match = _ISO.fullmatch(text)
    if match is None:
        msg = f"timestamp {text!r} is neither ISO-8601 nor integer nanoseconds"
        raise RowError(msg)
    year, month, day, hour, minute, second, fraction, written = match.groups()
    offset = 0
    zone_given = bool(written)
    if written and written.upper() != "Z":
        digits = written[1:].replace(":", "")
        sign = -60 if written[0] == "-" else 60
        offset = (int(digits[:2]) * 60 + int(digits[2:] or 0)) * sign
    try:
        days = date(int(year), int(month), int(day)).toordinal() - EPOCH_ORDINAL
    except ValueError:
        days = -1
    seconds = seconds_of_day(hour, minute, second or "00")
    if not zone_given and zone is not UTC and days >= 0 and seconds >= 0:
        offset = _offset(zone, days, seconds)
    ts = ((days * 86_400 + seconds - offset) * 10**9) + int((fraction or "0").ljust(9, "0"))
    if days < 0 or seconds < 0 or not 0 <= ts <= MAX_TS:
        msg = f"timestamp {text!r} is not a valid time between 1970 and 2262"
        raise RowError(msg)
    return ts


def _offset(zone: tzinfo, days: int, seconds: int) -> int:
    """Seconds ``zone`` is ahead of UTC at that wall time (the earlier, in a repeated hour)."""
    wall = datetime.fromordinal(days + EPOCH_ORDINAL).replace(
        hour=seconds // 3600, minute=seconds // 60 % 60, second=seconds % 60, tzinfo=zone
    )
    delta = wall.utcoffset()
    return 0 if delta is None else int(delta.total_seconds())
