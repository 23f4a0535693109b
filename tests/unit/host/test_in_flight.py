"""The orders a host awaits a first report for, and when to ask the gateway about them."""

from __future__ import annotations

import threading
import time

import pytest

from yard_actors.errors import ConfigError
from yard_actors.host.in_flight import InFlight, by_robot


def test_an_answered_order_is_never_overdue() -> None:
    in_flight = InFlight(reply_timeout=1.0)
    in_flight.sent("alpha", "alpha-1")

    in_flight.answered("alpha-1")

    assert in_flight.overdue(time.monotonic() + 10) == []
    assert len(in_flight) == 0


def test_an_order_is_overdue_after_the_reply_timeout_and_then_again_after_another() -> None:
    in_flight = InFlight(reply_timeout=1.0)
    in_flight.sent("alpha", "alpha-1")
    sent = time.monotonic()

    early = in_flight.overdue(sent + 0.5)
    due = in_flight.overdue(sent + 1.5)
    just_asked = in_flight.overdue(sent + 2.0)
    again = in_flight.overdue(sent + 2.6)

    assert early == []
    assert due == [("alpha", "alpha-1")]
    assert just_asked == []
    assert again == [("alpha", "alpha-1")]


def test_overdue_orders_come_oldest_first_and_the_young_stay() -> None:
    in_flight = InFlight(reply_timeout=1.0)
    for n in (1, 2):
        in_flight.sent("alpha", f"alpha-{n}")
    in_flight.sent("beta", "beta-1")
    cut = time.monotonic()
    in_flight.sent("alpha", "alpha-3")

    due = in_flight.overdue(cut + 1.0)

    assert due == [("alpha", "alpha-1"), ("alpha", "alpha-2"), ("beta", "beta-1")]
    assert by_robot(due) == {"alpha": ["alpha-1", "alpha-2"], "beta": ["beta-1"]}
    assert in_flight.waiting() == {"alpha": 3, "beta": 1}


def test_orders_sent_before_a_lost_connection_are_taken_and_later_ones_kept() -> None:
    in_flight = InFlight(reply_timeout=60.0)
    in_flight.sent("alpha", "alpha-1")
    lost_at = time.monotonic()
    in_flight.sent("alpha", "alpha-2")

    assert in_flight.sent_before(lost_at) == [("alpha", "alpha-1")]
    assert in_flight.sent_before(lost_at) == []  # armed again from now


def test_a_removed_robot_leaves_no_order_waiting() -> None:
    in_flight = InFlight()
    in_flight.sent("alpha", "alpha-1")
    in_flight.sent("beta", "beta-1")

    in_flight.forget("alpha")

    assert in_flight.waiting() == {"beta": 1}


def test_a_reply_timeout_that_is_not_positive_is_refused() -> None:
    with pytest.raises(ConfigError, match="reply_timeout must be a positive number of seconds"):
        InFlight(reply_timeout=0)


def test_senders_and_the_intake_on_other_threads_lose_no_order() -> None:
    in_flight = InFlight(reply_timeout=1000.0)

    def send(robot: str) -> None:
        for n in range(5000):
            in_flight.sent(robot, f"{robot}-{n}")
            if n % 2:
                in_flight.answered(f"{robot}-{n}")

    threads = [threading.Thread(target=send, args=(f"r{t}",)) for t in range(4)]
    for thread in threads:
        thread.start()
    while any(t.is_alive() for t in threads):
        in_flight.overdue()
    for thread in threads:
        thread.join(timeout=10)

    assert in_flight.waiting() == {f"r{t}": 2500 for t in range(4)}
