"""Integers on the wire are signed 64-bit: the page, the codec and its refusals agree.

docs/wire.md once said ``0 ≤ ts < 2^64`` while the codec refused 2^63 and up, and the
refusal called 2^63 "not a non-negative integer". MongoDB stores an int64, so 2^63 is
the bound everywhere; the sentence says which side of the range a value missed.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from yard_actors.errors import DecodeError
from yard_actors.wire.codec import decode, encode

WIRE_MD = Path(__file__).resolve().parents[3] / "docs" / "wire.md"
QUOTE = (
    '{{"type":"Quote","v":1,"ts":{ts},"symbol":"Si","bid":"1","ask":"2","bid_size":1,"ask_size":1}}'
)
TICK = '{{"type":"Tick","v":1,"ts":1,"symbol":"Si","price":"1","qty":{qty},"aggressor":"buy"}}'
ACCEPTED = (
    '{{"type":"OrderAccepted","v":1,"ts":1,"client_order_id":"c","robot":"r",'
    '"exchange_order_id":"","seq":{seq}}}'
)


@pytest.mark.parametrize("ts", [2**63, 2**64 - 1])
def test_a_ts_from_2_to_the_63_is_refused_as_too_large_not_as_negative(ts: int) -> None:
    with pytest.raises(DecodeError, match=rf"^Quote\.ts must be below 2\^63 .*, was {ts}$"):
        decode(QUOTE.format(ts=ts).encode())


def test_a_negative_ts_is_refused_as_negative() -> None:
    with pytest.raises(DecodeError, match=r"^Quote\.ts must be a non-negative integer.*, was -1$"):
        decode(QUOTE.format(ts=-1).encode())


def test_the_largest_ts_is_read_and_written_back_unchanged() -> None:
    payload = QUOTE.format(ts=2**63 - 1).encode()

    assert encode(decode(payload)) == payload


def test_sizes_and_seqs_past_2_to_the_63_are_refused_as_too_large() -> None:
    with pytest.raises(DecodeError, match=r"^Tick\.qty must be below 2\^63"):
        decode(TICK.format(qty=2**63).encode())
    with pytest.raises(DecodeError, match=r"^OrderAccepted\.seq must be below 2\^63"):
        decode(ACCEPTED.format(seq=2**63).encode())


def test_the_page_gives_the_bound_the_codec_keeps() -> None:
    text = WIRE_MD.read_text(encoding="utf-8")

    assert "< 2^64" not in text
    assert re.search(r"`0 ≤ ts < 2\^63`", text)
