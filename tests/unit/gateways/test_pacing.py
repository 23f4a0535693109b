"""A speed: 'max' or a positive number of times real time, checked the same way everywhere."""

from __future__ import annotations

import pytest

from gateways.pacing import check_speed
from yard_actors.errors import ConfigError


@pytest.mark.parametrize(
    ("value", "speed"),
    [("max", None), (None, None), (1, 1.0), (0.5, 0.5), ("10", 10.0), ("2.5", 2.5)],
)
def test_max_and_positive_numbers_are_speeds(value: object, speed: float | None) -> None:
    assert check_speed(value, source="--speed") == speed


@pytest.mark.parametrize("value", [0, -1, 0.0, "0", "fast", "", True, float("nan"), "inf", [1]])
def test_anything_else_is_refused_with_where_it_came_from(value: object) -> None:
    message = (
        r"yard\.toml: feed\.speed must be 'max' or a positive number of times real time "
        r"\(1: real time, 10: ten times faster\), was "
    )

    with pytest.raises(ConfigError, match=message):
        check_speed(value, source="yard.toml: feed.speed")
