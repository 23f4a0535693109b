"""Bars as they reach the gateway on ``data``: read under their symbol, refused under another."""

from __future__ import annotations

import pytest

from gateways.incoming import read_market
from yard_actors.errors import DecodeError
from yard_actors.testing import bar
from yard_actors.wire.codec import encode

BAR = bar("Si", 90000, 90010, 89990, 90005, volume=12)


def test_a_bar_under_its_symbol_is_market_data_for_the_gateway() -> None:
    assert read_market([b"Si", encode(BAR)]) == BAR


def test_a_bar_under_another_topic_is_a_topic_mismatch() -> None:
    with pytest.raises(DecodeError) as caught:
        read_market([b"RTS", encode(BAR)])

    assert caught.value.reason == "topic_mismatch"
