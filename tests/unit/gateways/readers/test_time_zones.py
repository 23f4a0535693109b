"""CSV timestamps written without a zone follow one rule: UTC unless the reader is told a zone."""

from __future__ import annotations

import re
from datetime import UTC
from pathlib import Path

import pytest

from gateways.readers import FeedError, read_file, time_zone
from gateways.readers.generic_csv import parse_timestamp
from tests.unit.gateways.readers.sample_files import QUOTE_HEADER, SECOND, T0, lines, write_file

MOSCOW = time_zone("Europe/Moscow")


def test_a_naive_time_is_utc_by_default_and_in_the_zone_the_reader_is_given(
    tmp_path: Path,
) -> None:
    path = write_file(tmp_path, lines(QUOTE_HEADER, "2025-11-27 10:00:00,Si,90000,90001,3,4"))

    [utc] = list(read_file(path))
    [moscow] = list(read_file(path, zone=MOSCOW))

    assert utc.ts == T0 + 3 * 3600 * SECOND
    assert moscow.ts == T0  # 10:00 in Moscow is 07:00 UTC


@pytest.mark.parametrize("written", ["2025-11-27T07:00:00Z", "2025-11-27T10:00:00+03:00", str(T0)])
def test_a_time_with_a_zone_or_in_nanoseconds_ignores_the_readers_zone(written: str) -> None:
    assert parse_timestamp(written, MOSCOW) == parse_timestamp(written, UTC) == T0


def test_a_zone_with_summer_time_uses_the_offset_of_that_date() -> None:
    new_york = time_zone("America/New_York")

    summer = parse_timestamp("2025-07-01 12:00:00", new_york)
    winter = parse_timestamp("2025-01-15 12:00:00", new_york)

    assert summer == parse_timestamp("2025-07-01T16:00:00Z")
    assert winter == parse_timestamp("2025-01-15T17:00:00Z")


def test_an_unknown_zone_is_refused_by_name() -> None:
    with pytest.raises(FeedError, match=re.escape("--tz 'Mars/Base' is not a time zone")):
        time_zone("Mars/Base")
