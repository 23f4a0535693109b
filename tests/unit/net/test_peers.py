"""Telling peers apart: which URLs speak CURVE, and a frame's key name where there is none."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import zmq

from yard_actors.net import LOCAL_ONLY, Security, is_keyed, key_name, make_keys, speaks_curve

Context = zmq.Context[zmq.Socket[bytes]]


@pytest.fixture
def context() -> Iterator[Context]:
    made: Context = zmq.Context()
    yield made
    made.term()


def test_only_a_keyed_component_on_a_network_transport_speaks_curve(tmp_path: Path) -> None:
    make_keys(tmp_path, ["host-a"])
    keyed = Security.from_keys(tmp_path, "host-a")
    insecure = Security(allow_insecure_tcp=True)

    assert speaks_curve("tcp://127.0.0.1:5562", keyed)
    assert not speaks_curve("ipc:///tmp/orders", keyed)
    assert not speaks_curve("inproc://orders", keyed)
    assert not speaks_curve("tcp://127.0.0.1:5562", insecure)
    assert not speaks_curve("tcp://127.0.0.1:5562", LOCAL_ONLY)


def test_a_frame_from_an_inproc_peer_has_no_key_name_and_its_socket_is_not_keyed(
    context: Context,
) -> None:
    pull = context.socket(zmq.PULL)
    push = context.socket(zmq.PUSH)
    try:
        pull.bind("inproc://peers")
        push.connect("inproc://peers")
        push.send(b"hello")
        assert pull.poll(5000)
        frame = pull.recv(copy=False)

        assert key_name(frame) is None
        assert not is_keyed(pull)
    finally:
        push.close(linger=0)
        pull.close(linger=0)
