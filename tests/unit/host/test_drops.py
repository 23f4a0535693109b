"""An intake's drops: counted by reason, the log thinned out under a flood."""

from __future__ import annotations

import logging

import pytest

from yard_actors.host.drops import LOG_EVERY, LOG_FIRST, Drops

WHERE = "data intake on inproc://feed"


def test_a_drop_is_counted_under_its_reason_and_logged_with_where_and_detail(
    caplog: pytest.LogCaptureFixture,
) -> None:
    drops = Drops(WHERE)

    with caplog.at_level(logging.WARNING, logger="yard_actors.host.drops"):
        drops.drop("not_json", "b'{not json' is not JSON")

    assert drops.by_reason() == {"not_json": 1}
    assert caplog.messages == [
        f"{WHERE} dropped a message (not_json, 1 so far): b'{{not json' is not JSON"
    ]


def test_a_flood_logs_the_first_drops_of_each_reason_then_one_in_every_thousand(
    caplog: pytest.LogCaptureFixture,
) -> None:
    drops = Drops(WHERE)

    with caplog.at_level(logging.WARNING, logger="yard_actors.host.drops"):
        for n in range(2 * LOG_EVERY):
            drops.drop("not_json", f"message {n}")
        drops.drop("bad_frames", "3 frames instead of [topic, payload]")

    flood = [m for m in caplog.messages if "(not_json," in m]
    assert len(flood) == LOG_FIRST + 2
    assert f"(not_json, {LOG_EVERY} so far)" in flood[-2]
    assert f"(not_json, {2 * LOG_EVERY} so far)" in flood[-1]
    assert "(bad_frames, 1 so far)" in caplog.messages[-1]  # a new reason logs at once
    assert drops.by_reason() == {"not_json": 2 * LOG_EVERY, "bad_frames": 1}


def test_an_expected_drop_is_counted_without_a_log_line(caplog: pytest.LogCaptureFixture) -> None:
    drops = Drops(WHERE)

    with caplog.at_level(logging.DEBUG, logger="yard_actors.host.drops"):
        drops.count("duplicate")
        drops.count("duplicate")

    assert drops.by_reason() == {"duplicate": 2}
    assert caplog.messages == []


def test_the_counts_handed_out_are_a_copy() -> None:
    drops = Drops(WHERE)
    drops.count("duplicate")

    counts = drops.by_reason()
    drops.count("duplicate")

    assert counts == {"duplicate": 1}
