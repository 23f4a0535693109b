"""The backtest's fast writer of market events gives the codec's very bytes."""

from __future__ import annotations

from gateways.feed import market_stream
from yard_actors.backtest.market_payloads import market_payload
from yard_actors.testing import quote, tick
from yard_actors.wire.codec import encode
from yard_actors.wire.events import Event, SessionState, SessionStatus


def test_every_event_of_the_sample_day_is_written_as_the_codec_writes_it() -> None:
    events = list(market_stream([], seed=7, sessions=True))

    assert [market_payload(e) for e in events] == [encode(e) for e in events]


def test_prices_the_fast_path_cannot_vouch_for_go_through_the_codec() -> None:
    events: list[Event] = [
        quote("Si", "1E+3", "1001", ts=1),  # an exponent: the codec writes plain digits
        quote("Si", "0.0000001", "0.0000002", ts=2),
        tick("Si", "12345678901234567890.123456", ts=3),  # past the fast path's digits
        SessionStatus(ts=4, session="main", state=SessionState.OPEN),
    ]

    assert [market_payload(e) for e in events] == [encode(e) for e in events]


def test_symbols_that_json_must_escape_are_written_as_the_codec_writes_them() -> None:
    events: list[Event] = [
        quote('S"i\\', "88591", "88592", ts=1),
        tick("\u0421\u0431\u0435\u0440\n", "250", ts=2),  # Cyrillic, and a newline
    ]

    assert [market_payload(e) for e in events] == [encode(e) for e in events]
