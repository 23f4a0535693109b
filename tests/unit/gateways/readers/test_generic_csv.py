"""Generic CSV files into events: headers in any order, every timestamp form, exact prices."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from gateways.readers import FeedError, read_file
from tests.unit.gateways.readers.sample_files import (
    QUOTE_HEADER,
    SECOND,
    T0,
    TICK_HEADER,
    lines,
    write_file,
)
from yard_actors.testing import quote, tick
from yard_actors.wire.events import Side, Tick


def test_generic_quotes_read_every_timestamp_form_exactly(tmp_path: Path) -> None:
    path = write_file(
        tmp_path,
        lines(
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
    path = write_file(
        tmp_path,
        lines(TICK_HEADER, "2025-11-27T07:00:00Z,Si,90000,2,sell", f"{T0},RTS,110010,1,"),
    )

    events = list(read_file(path))

    assert events == [
        tick("Si", 90000, 2, aggressor=Side.SELL, ts=T0),
        tick("RTS", 110010, 1, aggressor=Side.BUY, ts=T0),
    ]


def test_generic_columns_may_come_in_any_order_with_extras(tmp_path: Path) -> None:
    path = write_file(
        tmp_path, lines("venue,volume,symbol,timestamp,last", f"MOEX,3,Si,{T0},90000")
    )

    assert list(read_file(path)) == [tick("Si", 90000, 3, ts=T0)]


def test_a_header_missing_a_column_raises(tmp_path: Path) -> None:
    path = write_file(tmp_path, lines("timestamp,symbol,bid,ask,bid_size", f"{T0},Si,1,2,3"))

    with pytest.raises(FeedError, match=r"The header of market data file .* lacks ask_size"):
        list(read_file(path))


def test_prices_are_exact_decimals(tmp_path: Path) -> None:
    path = write_file(tmp_path, lines(TICK_HEADER, f"{T0},GAZP,123.4500,1,"))

    [event] = read_file(path)

    assert isinstance(event, Tick)
    assert str(event.price) == "123.4500"
    assert event.price == Decimal("123.45")
