"""The tick grid check takes any price the wire allows without raising."""

from __future__ import annotations

from decimal import Decimal

import pytest

from yard_actors.wire.instruments import Instrument


@pytest.mark.parametrize(
    ("price", "on_grid"),
    [
        ("110010", True),
        ("110005", False),
        ("10000000000000000000000000000", True),  # 1e28: decimal's default context raised here
        ("10000000000000000000000000005", False),
        ("1e999999", False),  # too large to tell: not on the grid, never an exception
    ],
)
def test_a_price_is_on_the_grid_or_not_and_never_raises(price: str, on_grid: bool) -> None:
    rts = Instrument(symbol="RTS", tick_size=Decimal(10))
    assert rts.on_grid(Decimal(price)) is on_grid
