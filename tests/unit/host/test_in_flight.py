"""The orders a host awaits a first report for, the cancels it awaits an answer to, and when
to ask the gateway about the one or send the other again."""

from __future__ import annotations

import threading
import time
from decimal import Decimal

import pytest

from yard_actors.errors import ConfigError
from yard_actors.host.in_flight import InFlight, UnansweredCancel, by_robot
from yard_actors.testing import accepted, cancelled, filled, rejected
from yard_actors.wire.codec import encode
from yard_actors.wire.events import CancelOrder, NewOrder, OrderReply, Side

TS = 1_700_000_000_000_000_000


def _order(robot: str = "alpha", n: int = 1, qty: int = 3) -> NewOrder:
    return NewOrder(
        ts=TS,
        client_order_id=f"{robot}-{n}",
        robot=robot,
        symbol="Si",
        side=Side.BUY,
        qty=qty,
        price=Decimal(90_000),
    )


def _cancel_of(order: NewOrder) -> bytes:
    return encode(CancelOrder(ts=TS, client_order_id=order.client_order_id, robot=order.robot))


def _cancelling(in_flight: InFlight, order: NewOrder, remaining: int | None = None) -> bytes:
    payload = _cancel_of(order)
    in_flight.cancel_sent(order.robot, order.client_order_id, payload, remaining)
    return payload


# --- orders awaiting a first report -------------------------------------------------------------


def test_an_answered_order_is_never_overdue() -> None:
    in_flight = InFlight(reply_timeout=1.0)
    order = _order()
    in_flight.sent("alpha", "alpha-1")

    in_flight.reported(accepted(order))

    assert in_flight.overdue(time.monotonic() + 10) == []
    assert len(in_flight) == 0


def test_a_duplicate_report_answers_an_order_too() -> None:
    in_flight = InFlight(reply_timeout=1.0)
    in_flight.sent("alpha", "alpha-1")

    in_flight.reported(rejected(_order()), fresh=False)

    assert in_flight.waiting() == {}


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


def test_a_removed_robot_leaves_no_order_or_cancel_waiting() -> None:
    in_flight = InFlight()
    in_flight.sent("alpha", "alpha-1")
    in_flight.sent("beta", "beta-1")
    _cancelling(in_flight, _order("alpha", 7))
    _cancelling(in_flight, _order("beta", 7))

    in_flight.forget("alpha")

    assert in_flight.waiting() == {"beta": 1}
    assert in_flight.cancelling() == {"beta": 1}


def test_a_reply_timeout_that_is_not_positive_is_refused() -> None:
    with pytest.raises(ConfigError, match="reply_timeout must be a positive number of seconds"):
        InFlight(reply_timeout=0)


# --- cancels awaiting an answer -----------------------------------------------------------------


def test_an_unanswered_cancel_is_sent_again_as_it_was_every_reply_timeout() -> None:
    in_flight = InFlight(reply_timeout=1.0)
    order = _order()
    payload = _cancelling(in_flight, order)
    sent = time.monotonic()

    early = in_flight.overdue_cancels(sent + 0.5)
    due = in_flight.overdue_cancels(sent + 1.5)
    just_sent = in_flight.overdue_cancels(sent + 2.0)
    again = in_flight.overdue_cancels(sent + 2.6)

    assert early == just_sent == []
    assert due == again == [UnansweredCancel("alpha", "alpha-1", payload)]
    assert in_flight.overdue(sent + 10) == []  # a cancel is not an order to ask about


@pytest.mark.parametrize(
    "answer",
    [cancelled(_order()), cancelled(_order(), done=False), rejected(_order(), "lost in transit")],
    ids=["cancelled", "refused", "order rejected"],
)
def test_a_cancel_reply_or_the_orders_rejection_ends_the_wait_for_a_cancel(
    answer: OrderReply,
) -> None:
    in_flight = InFlight(reply_timeout=1.0)
    _cancelling(in_flight, _order())

    in_flight.reported(answer, fresh=True)

    assert in_flight.overdue_cancels(time.monotonic() + 10) == []
    assert in_flight.cancelling() == {}


def test_an_acceptance_does_not_answer_a_cancel() -> None:
    in_flight = InFlight(reply_timeout=1.0)
    payload = _cancelling(in_flight, _order())

    in_flight.reported(accepted(_order()))

    assert in_flight.overdue_cancels(time.monotonic() + 10) == [
        UnansweredCancel("alpha", "alpha-1", payload)
    ]


def test_a_repeated_old_reply_does_not_answer_a_newer_cancel() -> None:
    # A resolve or a replay sends earlier reports again: the answer to the robot's first
    # cancel must not end the wait for the one it sent after that answer.
    in_flight = InFlight(reply_timeout=1.0)
    order = _order()
    _cancelling(in_flight, order)
    in_flight.reported(cancelled(order, done=False), fresh=True)
    payload = _cancelling(in_flight, order)

    in_flight.reported(cancelled(order, done=False), fresh=False)

    assert in_flight.cancelling() == {"alpha": 1}
    assert [c.payload for c in in_flight.overdue_cancels(time.monotonic() + 10)] == [payload]


def test_fills_that_take_what_was_left_end_the_wait_for_a_cancel_and_lesser_ones_do_not() -> None:
    in_flight = InFlight(reply_timeout=1.0)
    order = _order(qty=3)
    _cancelling(in_flight, order, remaining=3)

    in_flight.reported(filled(order, 2))
    after_two = in_flight.cancelling()
    in_flight.reported(filled(order, 1))

    assert after_two == {"alpha": 1}
    assert in_flight.cancelling() == {}


def test_a_repeated_fill_is_not_counted_against_a_cancel() -> None:
    in_flight = InFlight(reply_timeout=1.0)
    order = _order(qty=3)
    _cancelling(in_flight, order, remaining=3)
    fill = filled(order, 2)

    in_flight.reported(fill)
    in_flight.reported(fill, fresh=False)

    assert in_flight.cancelling() == {"alpha": 1}


def test_fills_never_end_a_cancel_of_an_order_whose_remaining_qty_is_unknown() -> None:
    in_flight = InFlight(reply_timeout=1.0)
    order = _order(qty=3)
    _cancelling(in_flight, order, remaining=None)

    in_flight.reported(filled(order))

    assert in_flight.cancelling() == {"alpha": 1}


def test_a_partly_filled_cancel_keeps_its_place_among_the_overdue() -> None:
    in_flight = InFlight(reply_timeout=1.0)
    first, second = _order(n=1), _order(n=2)
    _cancelling(in_flight, first, remaining=3)
    _cancelling(in_flight, second, remaining=3)
    cut = time.monotonic()

    in_flight.reported(filled(first, 1))
    due = in_flight.overdue_cancels(cut + 1.0)

    assert [c.client_order_id for c in due] == ["alpha-1", "alpha-2"]


def test_cancels_sent_before_a_lost_connection_are_taken_and_later_ones_kept() -> None:
    in_flight = InFlight(reply_timeout=60.0)
    payload = _cancelling(in_flight, _order(n=1))
    lost_at = time.monotonic()
    _cancelling(in_flight, _order(n=2))

    assert in_flight.cancels_sent_before(lost_at) == [UnansweredCancel("alpha", "alpha-1", payload)]
    assert in_flight.cancels_sent_before(lost_at) == []  # armed again from now


def test_an_order_and_its_cancel_wait_apart() -> None:
    in_flight = InFlight(reply_timeout=1.0)
    order = _order()
    in_flight.sent("alpha", "alpha-1")
    _cancelling(in_flight, order)

    in_flight.reported(accepted(order))

    assert (in_flight.waiting(), in_flight.cancelling()) == ({}, {"alpha": 1})
    assert len(in_flight) == 1


# --- threads ------------------------------------------------------------------------------------


def test_senders_and_the_intake_on_other_threads_lose_no_order_or_cancel() -> None:
    in_flight = InFlight(reply_timeout=1000.0)

    def send(robot: str) -> None:
        for n in range(5000):
            order = _order(robot, n)
            in_flight.sent(robot, order.client_order_id)
            _cancelling(in_flight, order)
            if n % 2:
                in_flight.reported(cancelled(order))

    threads = [threading.Thread(target=send, args=(f"r{t}",)) for t in range(4)]
    for thread in threads:
        thread.start()
    while any(t.is_alive() for t in threads):
        in_flight.overdue()
        in_flight.overdue_cancels()
    for thread in threads:
        thread.join(timeout=10)

    assert in_flight.waiting() == {f"r{t}": 2500 for t in range(4)}
    assert in_flight.cancelling() == {f"r{t}": 2500 for t in range(4)}
