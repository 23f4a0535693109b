"""Finam exports into events: their layouts, ticks and bars, Moscow time, tickers, bad rows."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gateways.readers import FeedError, finam_symbol, read_file
from tests.unit.gateways.readers.sample_files import (
    FINAM_TICK_HEADER,
    SECOND,
    T0,
    lines,
    write_file,
)
from yard_actors.testing import bar, tick
from yard_actors.wire.events import Bar, Side

# --- the layouts -----------------------------------------------------------------------------


def test_finam_ticks_with_header_read_oper_and_map_the_ticker(tmp_path: Path) -> None:
    path = write_file(
        tmp_path,
        lines(
            FINAM_TICK_HEADER,
            "SiZ5;0;20251127;100000;90000;5;101;S",
            "RIZ5;0;20251127;100000250;110010;2;102;B",
        ),
        name="finam.txt",
    )

    events = list(read_file(path))

    assert events == [
        tick("Si", 90000, 5, aggressor=Side.SELL, ts=T0),
        tick("RTS", 110010, 2, aggressor=Side.BUY, ts=T0 + 250_000_000),
    ]


def test_finam_ticks_without_header_comma_separated_are_buys(tmp_path: Path) -> None:
    path = write_file(
        tmp_path,
        lines("SPFB.Si,0,20251127,100000,90000,5", "SPFB.Si,0,27/11/25,10:00:01,90001,1"),
    )

    events = list(read_file(path))

    assert events == [tick("Si", 90000, 5, ts=T0), tick("Si", 90001, 1, ts=T0 + SECOND)]


def test_finam_with_semicolons_accepts_a_decimal_comma(tmp_path: Path) -> None:
    path = write_file(
        tmp_path,
        lines("<TICKER>;<PER>;<DATE>;<TIME>;<LAST>;<VOL>", "GAZP;0;20251127;100000;123,45;10"),
    )

    assert list(read_file(path)) == [tick("GAZP", "123.45", 10, ts=T0)]


def test_finam_bars_become_bars_stamped_at_their_last_nanosecond(tmp_path: Path) -> None:
    header = "<TICKER>,<PER>,<DATE>,<TIME>,<OPEN>,<HIGH>,<LOW>,<CLOSE>,<VOL>"
    path = write_file(
        tmp_path,
        lines(
            header,
            "SiZ5,5,20251127,100000,90000,90010,89990,90005,120",
            "SiZ5,5,20251127,100500,90005,90006,90001,90002,7",
        ),
    )

    events = list(read_file(path))

    five_minutes = 300 * SECOND
    assert events == [
        bar(
            "Si",
            90000,
            90010,
            89990,
            90005,
            volume=120,
            period_ns=five_minutes,
            ts=T0 + 300 * SECOND - 1,
        ),
        bar(
            "Si",
            90005,
            90006,
            90001,
            90002,
            volume=7,
            period_ns=five_minutes,
            ts=T0 + 600 * SECOND - 1,
        ),
    ]
    assert isinstance(events[0], Bar)
    assert events[0].start == T0


def test_headerless_finam_bars_are_told_by_their_nine_columns(tmp_path: Path) -> None:
    path = write_file(tmp_path, lines("RIZ5;D;20251127;000000;110000;111000;109000;110500;9000"))

    [event] = read_file(path)

    day = 86_400 * SECOND
    midnight = T0 - 10 * 3600 * SECOND
    assert event == bar(
        "RTS", 110000, 111000, 109000, 110500, volume=9000, period_ns=day, ts=midnight + day - 1
    )


def test_a_finam_export_of_close_and_volume_alone_gives_bars_of_their_close(
    tmp_path: Path,
) -> None:
    path = write_file(
        tmp_path,
        lines("<TICKER>;<PER>;<DATE>;<TIME>;<CLOSE>;<VOL>", "SPFB.Si;1;20251127;100000;90003;0"),
    )

    [event] = read_file(path)

    assert event == bar("Si", 90003, 90003, 90003, 90003, volume=0, ts=T0 + 60 * SECOND - 1)


def test_a_finam_file_of_ticks_stays_ticks_whatever_its_columns(tmp_path: Path) -> None:
    path = write_file(
        tmp_path,
        lines(
            "<TICKER>;<PER>;<DATE>;<TIME>;<OPEN>;<HIGH>;<LOW>;<CLOSE>;<VOL>",
            "SiZ5;0;20251127;100000;90000;90000;90000;90000;3",
        ),
    )

    assert list(read_file(path)) == [tick("Si", 90000, 3, ts=T0)]


# --- time and names --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "clock", "utc"),
    [
        ("20251127", "100000", "2025-11-27T07:00:00"),  # UTC+3 since October 2014
        ("20251127", "000000500", "2025-11-26T21:00:00.5"),  # before 03:00 Moscow is yesterday
        ("20130603", "100000", "2013-06-03T06:00:00"),  # UTC+4 from 2011 to 2014
        ("20100603", "100000", "2010-06-03T06:00:00"),  # summer time: UTC+4
        ("20100115", "100000", "2010-01-15T07:00:00"),  # winter time: UTC+3
    ],
)
def test_moscow_time_becomes_utc_exactly(tmp_path: Path, day: str, clock: str, utc: str) -> None:
    path = write_file(tmp_path, lines(f"Si;0;{day};{clock};90000;1"))
    seconds, _, fraction = utc.partition(".")
    expected = int(datetime.fromisoformat(seconds).replace(tzinfo=UTC).timestamp()) * SECOND
    expected += int(fraction.ljust(9, "0")) if fraction else 0

    [event] = read_file(path)

    assert event.ts == expected


@pytest.mark.parametrize(
    ("ticker", "symbol"),
    [
        ("SiZ5", "Si"),
        ("SiH26", "Si"),
        ("Si-12.25", "Si"),
        ("SPFB.Si", "Si"),
        ("RIZ5", "RTS"),
        ("SPFB.RTS", "RTS"),
        ("GAZP", "GAZP"),
        ("BRZ5", "BR"),
        ("NGZ5", "NGZ5"),  # a root yard does not know stays as it is
    ],
)
def test_finam_tickers_map_to_yard_symbols(ticker: str, symbol: str) -> None:
    assert finam_symbol(ticker) == symbol


def test_a_symbol_map_adds_and_overrides_tickers(tmp_path: Path) -> None:
    path = write_file(
        tmp_path, lines("BRZ5;0;20251127;100000;63.5;1", "SiZ5;0;20251127;100000;90000;1")
    )

    events = list(read_file(path, symbol_map={"BR": "Brent", "SiZ5": "SiDec"}))

    assert [event.symbol for event in events] == ["Brent", "SiDec"]


# --- bad rows --------------------------------------------------------------------------------

FINAM_SIX = "<TICKER>;<PER>;<DATE>;<TIME>;<LAST>;<VOL>"
FINAM_BARS = "<TICKER>;<PER>;<DATE>;<TIME>;<OPEN>;<HIGH>;<LOW>;<CLOSE>;<VOL>"


@pytest.mark.parametrize(
    ("header", "row", "problem"),
    [
        (FINAM_SIX, "Si;0;20251127;100000;90000;0", "volume must be a positive whole number"),
        (FINAM_SIX, "Si;0;20251127;250000;90000;1", "TIME '250000' is not HHMMSS"),
        (FINAM_SIX, "Si;0;20251327;100000;90000;1", "DATE '20251327' is not a date"),
        (FINAM_SIX, "Si;7x;20251127;100000;90000;1", "period '7x' is not 0 (ticks)"),
        (FINAM_TICK_HEADER, "Si;0;20251127;100000;90000;1;1;X", "OPER must be B or S"),
        (
            FINAM_BARS,
            "Si;1;20251127;100000;90000;90001;89999;90000.5;1",
            "close price 90000.5 is off the Si tick",
        ),
        (
            FINAM_BARS,
            "Si;1;20251127;100000;90000.5;90001;89999;90000;1",
            "open price 90000.5 is off the Si tick",
        ),
        (
            FINAM_BARS,
            "Si;1;20251127;100000;90000;89999;90001;90000;1",
            "high and low must hold the open and the close",
        ),
        (FINAM_BARS, "Si;1;20251127;100000;90000;90001;89999;90000;-1", "volume must be a non"),
    ],
)
def test_bad_finam_rows_name_their_problem(
    tmp_path: Path, header: str, row: str, problem: str
) -> None:
    path = write_file(tmp_path, lines(header, row))

    with pytest.raises(FeedError, match=re.escape(f"{path} line 2: {problem}")):
        list(read_file(path, strict=True))
