"""The one rule every receiver logs repeated bad input by: the first few, then a sample."""

from __future__ import annotations

from yard_actors.wire.log_limit import LOG_EVERY, LOG_FIRST, should_log


def test_the_first_few_are_logged_then_one_in_every_thousand() -> None:
    logged = [count for count in range(1, 3 * LOG_EVERY + 1) if should_log(count)]

    assert logged == [*range(1, LOG_FIRST + 1), LOG_EVERY, 2 * LOG_EVERY, 3 * LOG_EVERY]
