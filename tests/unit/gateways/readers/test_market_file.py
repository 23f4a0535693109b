"""Reading any market data file: telling the format, bad rows, empty files, merging."""

from __future__ import annotations

import contextlib
import logging
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateways.readers import FeedError, ReadStats, merge, read_file
from tests.unit.gateways.readers.sample_files import (
    FINAM_TICK_HEADER,
    QUOTE_HEADER,
    T0,
    TICK_HEADER,
    lines,
    write_file,
)
from yard_actors.testing import tick
from yard_actors.wire.events import Quote, Tick


def test_a_byte_order_mark_before_a_headerless_finam_file_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "bom.txt"
    path.write_bytes("\ufeffSiZ5;0;20251127;100000;90000;5\r\n".encode())

    assert list(read_file(path)) == [tick("Si", 90000, 5, ts=T0)]


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
    path = write_file(tmp_path, lines(QUOTE_HEADER, good, row, good))
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
    path = write_file(tmp_path, lines(QUOTE_HEADER, f"{T0},Si,90000,90001,3,4", row))

    with pytest.raises(FeedError, match=re.escape(f"{path} line 3: {problem}")):
        list(read_file(path, strict=True))


def test_a_flood_of_bad_rows_logs_the_first_twenty_and_counts_all(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write_file(tmp_path, lines(QUOTE_HEADER, *[f"{T0},Si,x,90001,3,4"] * 500))
    reader = read_file(path)

    with caplog.at_level(logging.WARNING, logger="gateways.readers"):
        assert list(reader) == []

    assert caplog.text.count("is not a decimal number") == 20
    assert reader.stats == ReadStats(rows=500, events=0, bad_rows=500)
    assert "500 rows, 0 events, 500 bad rows skipped" in caplog.text


@pytest.mark.parametrize("strict", [False, True])
def test_a_file_with_only_a_header_is_an_error(tmp_path: Path, strict: bool) -> None:
    path = write_file(tmp_path, lines(QUOTE_HEADER))

    with pytest.raises(FeedError, match=f"Market data file {re.escape(str(path))} has a header "):
        list(read_file(path, strict=strict))


@pytest.mark.parametrize("strict", [False, True])
def test_an_empty_file_is_an_error(tmp_path: Path, strict: bool) -> None:
    path = write_file(tmp_path, "\n\n")

    with pytest.raises(FeedError, match=f"Market data file {re.escape(str(path))} is empty: "):
        list(read_file(path, strict=strict))


@pytest.mark.parametrize(
    ("bid", "ask"),
    [pytest.param(90001, 90000, id="crossed"), pytest.param(90000, 90000, id="locked")],
)
def test_a_crossed_quote_is_counted_and_dropped_naming_file_and_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, bid: int, ask: int
) -> None:
    good = f"{T0},Si,90000,90001,3,4"
    path = write_file(tmp_path, lines(QUOTE_HEADER, good, f"{T0},Si,{bid},{ask},3,4", good))
    reader = read_file(path)

    with caplog.at_level(logging.WARNING, logger="gateways.readers"):
        events = list(reader)

    assert len(events) == 2
    assert (
        f"{path} line 3: its bid {bid} is not below its ask {ask} (a crossed or locked quote)."
        in caplog.text
    )
    assert reader.stats == ReadStats(rows=3, events=2, bad_rows=1, crossed=1)


def test_a_file_of_unknown_format_raises_even_when_lenient(tmp_path: Path) -> None:
    path = write_file(tmp_path, lines("date,open,close", "2025-11-27,1,2"))

    with pytest.raises(
        FeedError, match=r"Cannot tell the format of market data file .* 'date,open"
    ):
        list(read_file(path))


def test_a_missing_file_raises_a_feed_error(tmp_path: Path) -> None:
    with pytest.raises(FeedError, match=r"Cannot read market data file .*nowhere\.csv"):
        list(read_file(tmp_path / "nowhere.csv"))


# --- merging -----------------------------------------------------------------------------------


def test_merge_interleaves_files_in_time_and_keeps_file_then_row_order_on_ties(
    tmp_path: Path,
) -> None:
    si = write_file(
        tmp_path,
        lines(TICK_HEADER, *(f"{T0 + n * 3},Si,{90000 + n},1," for n in range(5))),
        "si.csv",
    )
    rts = write_file(
        tmp_path,
        lines(TICK_HEADER, *(f"{T0 + n * 2},RTS,{110000 + 10 * n},1," for n in range(5))),
        "rts.csv",
    )

    events = list(merge(read_file(si), read_file(rts)))

    assert [(e.ts - T0, e.symbol) for e in events] == [
        (0, "Si"), (0, "RTS"), (2, "RTS"), (3, "Si"), (4, "RTS"),
        (6, "Si"), (6, "RTS"), (8, "RTS"), (9, "Si"), (12, "Si"),
    ]  # fmt: skip


def test_a_file_that_goes_back_in_time_is_merged_without_its_late_rows(tmp_path: Path) -> None:
    shuffled = [f"{T0 + n},Si,{90000 + n},1," for n in (0, 5, 3, 6, 1, 9)]
    late = write_file(tmp_path, lines(TICK_HEADER, *shuffled), "late.csv")
    other = write_file(tmp_path, lines(TICK_HEADER, f"{T0 + 4},RTS,110000,1,"), "other.csv")
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


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(first=st.sampled_from(_first_lines), rows=st.lists(st.lists(_field, max_size=9), max_size=6))
def test_random_rows_never_raise_when_lenient(
    tmp_path: Path, first: str, rows: list[list[str]]
) -> None:
    delimiter = ";" if ";" in first else ","
    text = "\n".join([first, *(delimiter.join(row) for row in rows)]) + "\n"
    path = tmp_path / "random.csv"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    reader = read_file(path)

    if not any(delimiter.join(row).strip() for row in rows) and not first.startswith("SiZ5"):
        with pytest.raises(FeedError, match="has a header but no rows"):  # the one error lenient
            list(reader)
        return
    events = list(reader)

    assert all(isinstance(event, Quote | Tick) for event in events)
    assert reader.stats.rows == reader.stats.events + reader.stats.bad_rows


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(content=st.binary(max_size=200) | _row_text.map(str.encode), strict=st.booleans())
def test_random_files_raise_nothing_but_feed_error(
    tmp_path: Path, content: bytes, strict: bool
) -> None:
    path = tmp_path / "random.txt"
    path.write_bytes(content)

    with contextlib.suppress(FeedError):
        list(read_file(path, strict=strict))
