"""What sets the intakes apart: the topic of each event, the events each takes, their sockets."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import zmq

from yard_actors.errors import ConfigError, GatewayError
from yard_actors.host.intake_kinds import ACCEPTS, IntakeKind, open_socket, topic_of
from yard_actors.net import Security
from yard_actors.testing import accepted, bar, quote, tick
from yard_actors.wire.events import (
    Bar,
    Control,
    ControlAction,
    NewOrder,
    SessionState,
    SessionStatus,
    Side,
    SystemStatus,
)
from yard_actors.wire.names import SESSION_TOPIC, SYSTEM_TOPIC

TS = 1_700_000_000_000_000_000
ORDER = NewOrder(ts=TS, client_order_id="alpha-1", robot="alpha", symbol="Si", side=Side.BUY, qty=1)
SESSION = SessionStatus(ts=TS, session="main", state=next(iter(SessionState)))
SYSTEM = SystemStatus(ts=TS, component="feed", status="up")
CONTROL = Control(ts=TS, robot="alpha", action=ControlAction.HALT)


@pytest.fixture
def context() -> Iterator[zmq.Context[zmq.Socket[bytes]]]:
    context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    yield context
    context.term()


@pytest.mark.parametrize(
    ("event", "topic"),
    [
        (quote("Si", 1, 2), "Si"),
        (tick("RTS", 10), "RTS"),
        (bar("Si", 1, 2, 1, 2), "Si"),
        (SESSION, SESSION_TOPIC),
        (SYSTEM, SYSTEM_TOPIC),
        (accepted(ORDER), "alpha"),
        (CONTROL, "alpha"),
    ],
    ids=lambda value: type(value).__name__ if not isinstance(value, str) else value,
)
def test_an_event_travels_under_its_symbol_its_robot_or_its_status_topic(
    event: Any, topic: str
) -> None:
    assert topic_of(event) == topic


def test_bars_come_in_on_the_data_intake() -> None:
    assert Bar in ACCEPTS[IntakeKind.DATA]


def test_each_event_type_belongs_to_one_kind_of_intake_but_a_system_status() -> None:
    every = [kind for accepted_types in ACCEPTS.values() for kind in accepted_types]
    system = [kind for kind, accepted_types in ACCEPTS.items() if SystemStatus in accepted_types]

    assert len(every) - 1 == len(set(every))
    assert set(system) == {IntakeKind.DATA, IntakeKind.TRADES}  # a feed's, a gateway's own
    assert set(ACCEPTS) == set(IntakeKind)


def test_a_bound_socket_subscribes_and_reports_the_port_the_system_chose(
    context: zmq.Context[zmq.Socket[bytes]],
) -> None:
    insecure = Security(allow_insecure_tcp=True)
    socket, url = open_socket(
        context, IntakeKind.DATA, "tcp://127.0.0.1:*", bind=True, security=insecure
    )
    try:
        assert socket.type == zmq.SUB
        assert url.startswith("tcp://127.0.0.1:")
        assert int(url.rsplit(":", 1)[1]) > 0
    finally:
        socket.close()


@pytest.mark.parametrize("bind", [True, False])
def test_a_tcp_socket_without_keys_refuses_and_is_closed(
    context: zmq.Context[zmq.Socket[bytes]], bind: bool
) -> None:
    with pytest.raises(ConfigError, match="without CURVE keys"):
        open_socket(context, IntakeKind.DATA, "tcp://127.0.0.1:5561", bind=bind)
    # the fixture's context.term() would wait for ever on a socket left open


def test_a_socket_that_cannot_bind_raises_a_gateway_error_naming_the_intake_and_url(
    context: zmq.Context[zmq.Socket[bytes]],
) -> None:
    with pytest.raises(GatewayError, match=r"^data intake cannot bind nonsense://here: "):
        open_socket(context, IntakeKind.DATA, "nonsense://here", bind=True)


def test_a_data_socket_subscribes_to_the_status_topics_before_any_route(
    context: zmq.Context[zmq.Socket[bytes]],
) -> None:
    publisher = context.socket(zmq.XPUB)  # an XPUB hears each subscription as a message
    publisher.bind("inproc://feed")
    socket, _ = open_socket(context, IntakeKind.DATA, "inproc://feed", bind=False)
    try:
        assert publisher.poll(5000)
        first = publisher.recv()
        assert publisher.poll(5000)
        second = publisher.recv()
    finally:
        socket.close()
        publisher.close(linger=0)

    assert {first, second} == {b"\x01" + SESSION_TOPIC.encode(), b"\x01" + SYSTEM_TOPIC.encode()}
