"""Market data files into events: the formats, Moscow time, bad rows, merging."""

from __future__ import annotations

import contextlib
import logging
import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateways.readers import FeedError, ReadStats, finam_symbol, merge, read_file
from yard_actors.testing import quote, tick
from yard_actors.wire.events import Quote, Side, Tick

T0 = 1_764_226_800_000_000_000  # 2025-11-27T07:00:00Z, 10:00 in Moscow
SECOND = 10**9
QUOTE_HEADER = "timestamp,symbol,bid,ask,bid_size,ask_size"
TICK_HEADER = "timestamp,symbol,last,volume,side"
FINAM_TICK_HEADER = "<TICKER>;<PER>;<DATE>;<TIME>;<LAST>;<VOL>;<ID>;<OPER>"


def _file(tmp_path: Path, text: str, name: str = "data.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _lines(*lines: str) -> str:
    return "\n".join(lines) + "\n"


# --- the formats ---------------------------------------------------------------------------


def test_generic_quotes_read_every_timestamp_form_exactly(tmp_path: Path) -> None:
    path = _file(
        tmp_path,
        _lines(
            QUOTE_HEADER,
            "2025-11-27T07:00:00Z,Si,90000,90001,3,4",
            "2025-11-27T10:00:00.000000001+03:00,Si,90000,90002,1,0",
            "2025-11-27 07:00:01,RTS,110000,110010,5,6",
            f"{T0 + 2 * SECOND},Si,90001.0,90002,7,8",
        ),
    )

    events = list(read_file(path))

    assert events == [
        quote("Si", 90000, 90001, bid_size=3, ask_size=4, ts=T0),
        quote("Si", 90000, 90002, bid_size=1, ask_size=0, ts=T0 + 1),
        quote("RTS", 110000, 110010, bid_size=5, ask_size=6, ts=T0 + SECOND),
        quote("Si", "90001.0", 90002, bid_size=7, ask_size=8, ts=T0 + 2 * SECOND),
    ]


def test_generic_ticks_read_the_side_and_default_to_buy(tmp_path: Path) -> None:
    path = _file(
        tmp_path,
        _lines(TICK_HEADER, "2025-11-27T07:00:00Z,Si,90000,2,sell", f"{T0},RTS,110010,1,"),
    )

    events = list(read_file(path))

    assert events == [
        tick("Si", 90000, 2, aggressor=Side.SELL, ts=T0),
        tick("RTS", 110010, 1, aggressor=Side.BUY, ts=T0),
    ]


def test_generic_columns_may_come_in_any_order_with_extras(tmp_path: Path) -> None:
    path = _file(tmp_path, _lines("venue,volume,symbol,timestamp,last", f"MOEX,3,Si,{T0},90000"))

    assert list(read_file(path)) == [tick("Si", 90000, 3, ts=T0)]


def test_finam_ticks_with_header_read_oper_and_map_the_ticker(tmp_path: Path) -> None:
    path = _file(
        tmp_path,
        _lines(
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
    path = _file(
        tmp_path,
        _lines("SPFB.Si,0,20251127,100000,90000,5", "SPFB.Si,0,27/11/25,10:00:01,90001,1"),
    )

    events = list(read_file(path))

    assert events == [tick("Si", 90000, 5, ts=T0), tick("Si", 90001, 1, ts=T0 + SECOND)]


def test_a_byte_order_mark_before_a_headerless_finam_file_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "bom.txt"
    path.write_bytes("\ufeffSiZ5;0;20251127;100000;90000;5\r\n".encode())

    assert list(read_file(path)) == [tick("Si", 90000, 5, ts=T0)]


def test_finam_with_semicolons_accepts_a_decimal_comma(tmp_path: Path) -> None:
    path = _file(
        tmp_path,
        _lines("<TICKER>;<PER>;<DATE>;<TIME>;<LAST>;<VOL>", "GAZP;0;20251127;100000;123,45;10"),
    )

    assert list(read_file(path)) == [tick("GAZP", "123.45", 10, ts=T0)]


def test_finam_bars_become_one_tick_at_the_close_in_the_bars_last_nanosecond(
    tmp_path: Path,
) -> None:
    header = "<TICKER>,<PER>,<DATE>,<TIME>,<OPEN>,<HIGH>,<LOW>,<CLOSE>,<VOL>"
    path = _file(
        tmp_path,
        _lines(
            header,
            "SiZ5,5,20251127,100000,90000,90010,89990,90005,120",
            "SiZ5,5,20251127,100500,90005,90006,90001,90002,7",
        ),
    )

    events = list(read_file(path))

    assert events == [
        tick("Si", 90005, 120, ts=T0 + 300 * SECOND - 1),
        tick("Si", 90002, 7, ts=T0 + 600 * SECOND - 1),
    ]


def test_headerless_finam_bars_are_told_by_their_nine_columns(tmp_path: Path) -> None:
    path = _file(tmp_path, _lines("RIZ5;D;20251127;000000;110000;111000;109000;110500;9000"))

    [event] = read_file(path)

    assert event == tick("RTS", 110500, 9000, ts=T0 - 10 * 3600 * SECOND + 86_400 * SECOND - 1)


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
    path = _file(tmp_path, _lines(f"Si;0;{day};{clock};90000;1"))
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
        ("BRZ5", "BRZ5"),  # a root yard does not know stays as it is
    ],
)
def test_finam_tickers_map_to_yard_symbols(ticker: str, symbol: str) -> None:
    assert finam_symbol(ticker) == symbol


def test_a_symbol_map_adds_and_overrides_tickers(tmp_path: Path) -> None:
    path = _file(
        tmp_path, _lines("BRZ5;0;20251127;100000;63.5;1", "SiZ5;0;20251127;100000;90000;1")
    )

    events = list(read_file(path, symbol_map={"BR": "Brent", "SiZ5": "SiDec"}))

    assert [event.symbol for event in events] == ["Brent", "SiDec"]


# --- bad rows --------------------------------------------------------------------------------

BAD_ROWS = [
    pytest.param(f"{T0},Si,90000,90001,3", "it has 5 columns, not the 6 of the format", id="width"),
    pytest.param(f"{T0},Si,9000O,90001,3,4", "bid '9000O' is not a decimal number", id="number"),
    pytest.param(
        f"{T0},Si,90000,90001,-3,4",
        "bid_size must be a non-negative whole number, was '-3'",
        id="negative-size",
    ),
    pytest.param(
        f"{T0},Si,90000.5,90001,3,4", "price 90000.5 is off the Si tick grid of 1", id="si-grid"
    ),
    pytest.param(
        f"{T0},RTS,110000,110005,3,4",
        "price 110005 is off the RTS tick grid of 10",
        id="rts-grid",
    ),
    pytest.param(
        "yesterday,Si,90000,90001,3,4", "timestamp 'yesterday' is neither ISO-8601", id="time"
    ),
    pytest.param(
        "2025-02-30T10:00:00,Si,90000,90001,3,4",
        "timestamp '2025-02-30T10:00:00' is not a valid time",
        id="date",
    ),
    pytest.param(
        f"{T0 - 1},Si,90000,90001,3,4",
        "its time 2025-11-27T06:59:59.999999999Z is earlier than the row before's",
        id="back-in-time",
    ),
]


@pytest.mark.parametrize(("row", "problem"), BAD_ROWS)
def test_a_bad_row_is_logged_with_file_and_line_and_skipped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, row: str, problem: str
) -> None:
    good = f"{T0},Si,90000,90001,3,4"
    path = _file(tmp_path, _lines(QUOTE_HEADER, good, row, good))
    reader = read_file(path)

    with caplog.at_level(logging.WARNING, logger="gateways.readers"):
        events = list(reader)

    assert len(events) == 2
    assert f"{path} line 3: {problem}" in caplog.text
    assert reader.stats.rows == 3
    assert reader.stats.bad_rows == 1
    assert reader.stats.events == 2


@pytest.mark.parametrize(("row", "problem"), BAD_ROWS)
def test_a_bad_row_in_strict_mode_raises_the_same_sentence(
    tmp_path: Path, row: str, problem: str
) -> None:
    path = _file(tmp_path, _lines(QUOTE_HEADER, f"{T0},Si,90000,90001,3,4", row))

    with pytest.raises(FeedError, match=re.escape(f"{path} line 3: {problem}")):
        list(read_file(path, strict=True))


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
        (FINAM_BARS, "Si;1;20251127;100000;1;1;1;90000.5;1", "price 90000.5 is off the Si tick"),
    ],
)
def test_bad_finam_rows_name_their_problem(
    tmp_path: Path, header: str, row: str, problem: str
) -> None:
    path = _file(tmp_path, _lines(header, row))

    with pytest.raises(FeedError, match=re.escape(f"{path} line 2: {problem}")):
        list(read_file(path, strict=True))


def test_a_flood_of_bad_rows_logs_the_first_twenty_and_counts_all(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = _file(tmp_path, _lines(QUOTE_HEADER, *[f"{T0},Si,x,90001,3,4"] * 500))
    reader = read_file(path)

    with caplog.at_level(logging.WARNING, logger="gateways.readers"):
        assert list(reader) == []

    assert caplog.text.count("is not a decimal number") == 20
    assert reader.stats == ReadStats(rows=500, events=0, bad_rows=500)
    assert "500 rows, 0 events, 500 bad rows skipped" in caplog.text


def test_a_file_with_only_a_header_gives_nothing_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = _file(tmp_path, _lines(QUOTE_HEADER))

    with caplog.at_level(logging.WARNING, logger="gateways.readers"):
        assert list(read_file(path)) == []

    assert f"Market data file {path} has a header but no rows" in caplog.text


def test_an_empty_file_gives_nothing_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = _file(tmp_path, "\n\n")

    with caplog.at_level(logging.WARNING, logger="gateways.readers"):
        assert list(read_file(path)) == []

    assert f"Market data file {path} is empty" in caplog.text


def test_a_file_of_unknown_format_raises_even_when_lenient(tmp_path: Path) -> None:
    path = _file(tmp_path, _lines("date,open,close", "2025-11-27,1,2"))

    with pytest.raises(
        FeedError, match=r"Cannot tell the format of market data file .* 'date,open"
    ):
        list(read_file(path))


def test_a_header_missing_a_column_raises(tmp_path: Path) -> None:
    path = _file(tmp_path, _lines("timestamp,symbol,bid,ask,bid_size", f"{T0},Si,1,2,3"))

    with pytest.raises(FeedError, match=r"The header of market data file .* lacks ask_size"):
        list(read_file(path))


def test_a_missing_file_raises_a_feed_error(tmp_path: Path) -> None:
    with pytest.raises(FeedError, match=r"Cannot read market data file .*nowhere\.csv"):
        list(read_file(tmp_path / "nowhere.csv"))


# --- merging -----------------------------------------------------------------------------------


def test_merge_interleaves_files_in_time_and_keeps_file_then_row_order_on_ties(
    tmp_path: Path,
) -> None:
    si = _file(
        tmp_path,
        _lines(TICK_HEADER, *(f"{T0 + n * 3},Si,{90000 + n},1," for n in range(5))),
        "si.csv",
    )
    rts = _file(
        tmp_path,
        _lines(TICK_HEADER, *(f"{T0 + n * 2},RTS,{110000 + 10 * n},1," for n in range(5))),
        "rts.csv",
    )

    events = list(merge(read_file(si), read_file(rts)))

    assert [(e.ts - T0, e.symbol) for e in events] == [
        (0, "Si"), (0, "RTS"), (2, "RTS"), (3, "Si"), (4, "RTS"),
        (6, "Si"), (6, "RTS"), (8, "RTS"), (9, "Si"), (12, "Si"),
    ]  # fmt: skip


def test_a_file_that_goes_back_in_time_is_merged_without_its_late_rows(tmp_path: Path) -> None:
    shuffled = [f"{T0 + n},Si,{90000 + n},1," for n in (0, 5, 3, 6, 1, 9)]
    late = _file(tmp_path, _lines(TICK_HEADER, *shuffled), "late.csv")
    other = _file(tmp_path, _lines(TICK_HEADER, f"{T0 + 4},RTS,110000,1,"), "other.csv")
    reader = read_file(late)

    events = list(merge(reader, read_file(other)))

    assert [e.ts - T0 for e in events] == [0, 4, 5, 6, 9]
    assert reader.stats == ReadStats(rows=6, events=4, bad_rows=2, out_of_order=2)


# --- nothing but FeedError, whatever the rows ----------------------------------------------------

_field = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        [
            *("Si", "RTS", "SiZ5", "0", "5", "D", "-3", "1e999", "NaN", "90000", "90000,5", "B"),
            *(str(T0), "2025-11-27T07:00:00Z", "20251127", "27/11/25", "100000", "100000123"),
        ]
    ),
)
_row_text = st.lists(_field, max_size=9).map(",".join)
_first_lines = [
    QUOTE_HEADER,
    TICK_HEADER,
    FINAM_TICK_HEADER,
    "<TICKER>,<PER>,<DATE>,<TIME>,<OPEN>,<HIGH>,<LOW>,<CLOSE>,<VOL>",
    "SiZ5;0;20251127;100000;90000;1",  # a headerless Finam file
]


@settings(max_examples=400, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(first=st.sampled_from(_first_lines), rows=st.lists(st.lists(_field, max_size=9), max_size=6))
def test_random_rows_never_raise_when_lenient(
    tmp_path: Path, first: str, rows: list[list[str]]
) -> None:
    delimiter = ";" if ";" in first else ","
    text = "\n".join([first, *(delimiter.join(row) for row in rows)]) + "\n"
    path = tmp_path / "random.csv"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    reader = read_file(path)

    events = list(reader)

    assert all(isinstance(event, Quote | Tick) for event in events)
    assert reader.stats.rows == reader.stats.events + reader.stats.bad_rows


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=st.binary(max_size=200) | _row_text.map(str.encode), strict=st.booleans())
def test_random_files_raise_nothing_but_feed_error(
    tmp_path: Path, content: bytes, strict: bool
) -> None:
    path = tmp_path / "random.txt"
    path.write_bytes(content)

    with contextlib.suppress(FeedError):
        list(read_file(path, strict=strict))


def test_prices_are_exact_decimals(tmp_path: Path) -> None:
    path = _file(tmp_path, _lines(TICK_HEADER, f"{T0},GAZP,123.4500,1,"))

    [event] = read_file(path)

    assert isinstance(event, Tick)
    assert str(event.price) == "123.4500"
    assert event.price == Decimal("123.45")
