"""The readers' fast path: rows of fields seen before, read as the exact parser reads them."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateways.readers import read_file
from gateways.readers._rows import KNOWN_LIMIT, UNCHECKED, quote_of, remember, tick_of
from tests.unit.gateways.readers.sample_files import (
    FINAM_TICK_HEADER,
    QUOTE_HEADER,
    SECOND,
    T0,
    TICK_HEADER,
    lines,
    write_file,
)
from yard_actors.wire.events import Quote, Side, Tick

_FIELDS = {  # few values, so rows repeat each other's fields; good and bad, on and off grid
    "symbol": ["Si", "RTS", "", " Si", "Si "],
    "price": ["88591", "88592", "88591.0", "107200", "107210", "1E+3", "88591,5", "x", ""],
    "size": ["0", "1", "18", "-1", "007", "x", " 2"],
    "side": ["B", "s", "", "buy", "X"],
}


def read_alone(tmp_path: Path, header: str, rows: list[str]) -> list[str]:
    """Each row in a file of its own: what the exact parser makes of it, with no row before."""
    events = []
    for n, row in enumerate(rows):
        path = write_file(tmp_path, lines(header, row), f"alone-{n}.csv")
        events += [repr(event) for event in read_file(path)]
    return events


def test_the_events_built_unchecked_equal_those_built_checked() -> None:
    price = Decimal("88591.0")

    quote = quote_of(T0, "Si", price, price + 1, 3, 0)
    tick = tick_of(T0, "Si", price, 2, Side.SELL)

    assert UNCHECKED  # the event classes are as the fast builders expect
    assert repr(quote) == repr(
        Quote(ts=T0, symbol="Si", bid=price, ask=price + 1, bid_size=3, ask_size=0)
    )
    assert quote == Quote(ts=T0, symbol="Si", bid=price, ask=price + 1, bid_size=3, ask_size=0)
    assert tick == Tick(ts=T0, symbol="Si", price=price, qty=2, aggressor=Side.SELL)
    assert hash(tick) == hash(Tick(ts=T0, symbol="Si", price=price, qty=2, aggressor=Side.SELL))


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.tuples(
            *(st.sampled_from(_FIELDS[f]) for f in ("symbol", "price", "price", "size", "size"))
        ),
        min_size=1,
        max_size=12,
    )
)
def test_quotes_read_in_one_file_are_each_row_read_alone(
    tmp_path: Path, rows: list[tuple[str, ...]]
) -> None:
    text = [f"{T0 + n * SECOND},{','.join(row)}" for n, row in enumerate(rows)]

    whole = read_file(write_file(tmp_path, lines(QUOTE_HEADER, *text), "whole.csv"))

    assert [repr(event) for event in whole] == read_alone(tmp_path, QUOTE_HEADER, text)
    assert whole.stats.events + whole.stats.bad_rows == len(rows)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.tuples(*(st.sampled_from(_FIELDS[f]) for f in ("symbol", "price", "size", "side"))),
        min_size=1,
        max_size=12,
    )
)
def test_trade_prints_read_in_one_file_are_each_row_read_alone(
    tmp_path: Path, rows: list[tuple[str, ...]]
) -> None:
    text = [f"{T0 + n * SECOND},{','.join(row)}" for n, row in enumerate(rows)]

    whole = read_file(write_file(tmp_path, lines(TICK_HEADER, *text), "whole.csv"))

    assert [repr(event) for event in whole] == read_alone(tmp_path, TICK_HEADER, text)


def test_a_price_on_one_symbols_grid_is_not_taken_for_anothers(tmp_path: Path) -> None:
    rows = [f"{T0},Si,88590,88591,1,1", f"{T0 + 1},RTS,88590,88591,1,1"]  # RTS moves by 10

    reader = read_file(write_file(tmp_path, lines(QUOTE_HEADER, *rows)))

    assert [event.symbol for event in reader] == ["Si"]
    assert reader.stats.bad_rows == 1


def test_a_repeated_row_that_goes_back_in_time_or_crosses_is_still_counted_with_its_line(
    tmp_path: Path,
) -> None:
    rows = [
        f"{T0 + 2},Si,88590,88591,1,1",
        f"{T0 + 1},Si,88590,88591,1,1",  # every field seen: earlier than the row before
        f"{T0 + 3},Si,88591,88590,1,1",  # every field seen: crossed
    ]

    reader = read_file(write_file(tmp_path, lines(QUOTE_HEADER, *rows)))

    assert len(list(reader)) == 1
    assert (reader.stats.out_of_order, reader.stats.crossed, reader.stats.bad_rows) == (1, 1, 2)


def test_finam_trades_read_in_one_file_are_each_row_read_alone(tmp_path: Path) -> None:
    rows = [
        f"SiZ5;0;20251127;{clock};{price};{qty};{n};{side}"
        for n, (clock, price, qty, side) in enumerate(
            [
                ("100000", "88591", "1", "B"),
                ("100000", "88591", "1", "B"),
                ("100001500", "88592", "2", "S"),
                ("10:00:02", "88591", "0", "S"),  # a trade of no lots: bad
                ("100003", "88591,0", "2", "Q"),  # no such side: bad
                ("100003", "88591", "2", "S"),
                ("250000", "88591", "2", "S"),  # no such time: bad
            ]
        )
    ]

    whole = read_file(write_file(tmp_path, lines(FINAM_TICK_HEADER, *rows), "whole.csv"))

    assert [repr(event) for event in whole] == read_alone(tmp_path, FINAM_TICK_HEADER, rows)
    assert whole.stats.bad_rows == 3


def test_finam_bars_read_in_one_file_are_each_row_read_alone(tmp_path: Path) -> None:
    header = "<TICKER>;<PER>;<DATE>;<TIME>;<OPEN>;<HIGH>;<LOW>;<CLOSE>;<VOL>"
    rows = [
        "SiZ5;1;20251127;100000;88590;88592;88590;88591;5",
        "SiZ5;1;20251127;100100;88590;88592;88590;88591;5",
        "SiZ5;1;20251127;100200;88592;88591;88590;88591;5",  # high below the open: bad
        "SiZ5;M;20251127;100300;88590;88592;88590;88591;0",
        "SiZ5;M;20251201;100300;88590;88592;88590;88591;0",  # a month of 31 days, not 30
    ]

    whole = read_file(write_file(tmp_path, lines(header, *rows), "whole.csv"))

    assert [repr(event) for event in whole] == read_alone(tmp_path, header, rows)
    assert whole.stats.bad_rows == 1


def test_a_table_of_known_fields_is_forgotten_whole_past_its_limit() -> None:
    known: dict[str, object] = {}

    for n in range(KNOWN_LIMIT + 1):
        remember(known, str(n), n)

    assert known == {str(KNOWN_LIMIT): KNOWN_LIMIT}
