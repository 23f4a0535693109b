"""How fast a feed replays event time: the one check of a speed, wherever it is given.

A speed is ``"max"`` (publish as fast as possible, :data:`None` in code) or a
positive number of times real time: 1 keeps the gaps between events' times, 10
makes them ten times shorter. ``yard run --speed``, ``yard feed --speed``,
``[feed] speed`` in yard.toml and :func:`gateways.feed.replay_events` all check
it with :func:`check_speed`, so they accept and refuse the same values.
"""

from __future__ import annotations

import math

from yard_actors.errors import ConfigError

__all__ = ["MAX_SPEED", "check_speed"]

MAX_SPEED = "max"
"""The word for "as fast as possible", on the command line and in yard.toml."""


def check_speed(value: object, *, source: str) -> float | None:
    """``value`` as a speed: None for ``"max"`` (or None), else a positive number of times.

    Numbers and numeric strings (as the command line gives them) are accepted;
    ``source`` names where the value came from (``"--speed"``, ``"yard.toml:
    feed.speed"``) for the ConfigError raised when it is neither.
    """
    if value is None or value == MAX_SPEED:
        return None
    speed = _number(value)
    if speed is None or not speed > 0 or not math.isfinite(speed):
        msg = (
            f"{source} must be {MAX_SPEED!r} or a positive number of times real time "
            f"(1: real time, 10: ten times faster), was {value!r}"
        )
        raise ConfigError(msg)
    return speed


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None  # True is an int to Python, not a speed to anyone
    try:
        return float(value)
    except ValueError:
        return None
