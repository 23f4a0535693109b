"""The order link: one PUSH per host; what it notes in flight, and a resend that never waits."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator

import pytest
import zmq

from yard_actors.errors import GatewayError
from yard_actors.host.in_flight import UnansweredCancel
from yard_actors.host.order_link import OrderLink

CANCEL = b'{"type":"CancelOrder","v":1,"ts":1,"client_order_id":"alpha-1","robot":"alpha"}'


@pytest.fixture
def context() -> Iterator[zmq.Context[zmq.Socket[bytes]]]:
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    yield ctx
    ctx.term()


@pytest.fixture
def link(context: zmq.Context[zmq.Socket[bytes]]) -> Iterator[OrderLink]:
    # ipc:// in a short directory (a socket path has ~100 bytes); nobody binds it, so the
    # link's queue fills and nothing drains it
    with tempfile.TemporaryDirectory(prefix="yard-") as directory:
        nobody = f"ipc://{directory}/orders"
        made = OrderLink(context, nobody, send_timeout_ms=50, high_water_mark=2)
        yield made
        made.close()


def test_a_cancel_is_in_flight_even_when_the_gateway_does_not_take_it(link: OrderLink) -> None:
    filled = next(n for n in range(10_000) if not link.resend("alpha", CANCEL))  # queue full

    with pytest.raises(GatewayError, match="did not take a command from alpha in time"):
        link.send_cancel("alpha", CANCEL, "alpha-1", remaining=1)

    assert filled > 0
    assert link.in_flight.cancelling() == {"alpha": 1}
    assert link.in_flight.cancels_sent_before(float("inf")) == [
        UnansweredCancel("alpha", "alpha-1", CANCEL)
    ]


def test_a_resend_never_waits_for_a_full_queue_it_says_false(link: OrderLink) -> None:
    taken = [link.resend("alpha", CANCEL) for _ in range(10)]

    assert taken[0] is True
    assert taken[-1] is False
    assert link.resent == taken.count(True)


def test_a_resend_on_a_closed_link_says_false(link: OrderLink) -> None:
    link.close()

    assert link.resend("alpha", CANCEL) is False
