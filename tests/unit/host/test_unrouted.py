"""Unrouted messages: every one counted, each topic logged the 1st, 10th, 100th... time."""

from __future__ import annotations

import logging

import pytest

from yard_actors.host.unrouted import Unrouted


def _lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "yard_actors.host.unrouted"]


def test_each_topic_is_logged_at_each_power_of_ten_and_every_message_counted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="yard_actors.host.unrouted")
    unrouted = Unrouted("data intake on inproc://x", lambda topic: False)

    for _ in range(150):
        unrouted.note(b"SiZ4")
    unrouted.note(b"RTS")

    assert unrouted.count == 151
    lines = _lines(caplog)
    assert [line.split("(")[1].split(" of")[0] for line in lines] == ["1", "10", "100", "1"]
    assert lines[0] == (
        "data intake on inproc://x: no robot on this host takes topic 'SiZ4' (1 of it so far, "
        "1 unrouted in all); topics must be exactly a robot's symbol or name"
    )


def test_a_topic_that_is_a_routed_one_with_whitespace_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="yard_actors.host.unrouted")
    unrouted = Unrouted("data intake", lambda topic: topic == b"Si")

    unrouted.note(b"Si ")
    unrouted.note(b"Si\n")

    assert [
        line.endswith(": without its whitespace it would be 'Si'") for line in _lines(caplog)
    ] == [
        True,
        True,
    ]


def test_reserved_topics_are_counted_not_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="yard_actors.host.unrouted")
    unrouted = Unrouted("data intake", lambda topic: False)

    unrouted.note(b"$session")

    assert (unrouted.count, _lines(caplog)) == (1, [])


def test_past_1024_topics_the_new_ones_share_one_count(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="yard_actors.host.unrouted")
    unrouted = Unrouted("data intake", lambda topic: False)

    for n in range(1034):
        unrouted.note(f"S{n}".encode())

    lines = _lines(caplog)
    assert len(lines) == 1024 + 2  # each of the first 1024, then the 1st and 10th of the rest
    assert "(one of more than 1024 topics) (10 of it so far, 1034 unrouted in all)" in lines[-1]
