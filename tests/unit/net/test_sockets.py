"""Binding and connecting with keys, over real ZeroMQ sockets on loopback tcp.

Each test has a context of its own, terminated in teardown: that also ends the
context's authenticator thread, which the suite's guard checks.
"""

from __future__ import annotations

import logging
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import zmq

from yard_actors.errors import ConfigError
from yard_actors.net import GATEWAY, LOCAL_ONLY, Security, bind, connect, make_keys, refusals
from yard_actors.testing import wait_until

Context = zmq.Context[zmq.Socket[bytes]]
ANY_PORT = "tcp://127.0.0.1:*"
QUIET_MS = 300  # how long a refused message is given to arrive anyway: it must not


@pytest.fixture
def context() -> Iterator[Context]:
    context: Context = zmq.Context()
    yield context
    context.term()


@pytest.fixture
def keys(tmp_path: Path) -> Path:
    make_keys(tmp_path / "keys", [GATEWAY, "host-a"])
    make_keys(tmp_path / "strangers", ["mallory"])
    return tmp_path / "keys"


@pytest.fixture
def sockets(context: Context) -> Iterator[list[zmq.Socket[bytes]]]:
    """Sockets the test makes; closed before the context ends."""
    made: list[zmq.Socket[bytes]] = []
    yield made
    for socket in made:
        socket.close(linger=0)


def _socket(context: Context, kind: int, made: list[zmq.Socket[bytes]]) -> zmq.Socket[bytes]:
    socket = context.socket(kind)
    socket.setsockopt(zmq.LINGER, 0)
    made.append(socket)
    return socket


def _server(
    context: Context, made: list[zmq.Socket[bytes]], security: Security
) -> tuple[zmq.Socket[bytes], str]:
    pull = _socket(context, zmq.PULL, made)
    return pull, bind(pull, ANY_PORT, security)


def _client(
    context: Context, made: list[zmq.Socket[bytes]], url: str, security: Security
) -> zmq.Socket[bytes]:
    push = _socket(context, zmq.PUSH, made)
    connect(push, url, security, server=GATEWAY)
    return push


def test_a_tcp_bind_without_keys_refuses_and_says_how_to_make_them(
    context: Context, sockets: list[zmq.Socket[bytes]]
) -> None:
    pull = _socket(context, zmq.PULL, sockets)

    with pytest.raises(
        ConfigError, match=r"cannot bind tcp://127\.0\.0\.1:\* without CURVE keys.*yard keys"
    ):
        bind(pull, ANY_PORT, LOCAL_ONLY)


def test_a_tcp_connect_without_keys_refuses_too(
    context: Context, sockets: list[zmq.Socket[bytes]]
) -> None:
    push = _socket(context, zmq.PUSH, sockets)

    with pytest.raises(ConfigError, match=r"cannot connect to tcp://127\.0\.0\.1:5562 without"):
        connect(push, "tcp://127.0.0.1:5562", LOCAL_ONLY, server=GATEWAY)


def test_allow_insecure_tcp_works_without_keys_and_warns(
    context: Context, sockets: list[zmq.Socket[bytes]], caplog: pytest.LogCaptureFixture
) -> None:
    insecure = Security(allow_insecure_tcp=True)
    with caplog.at_level(logging.WARNING, logger="yard_actors.net"):
        pull, url = _server(context, sockets, insecure)
        _client(context, sockets, url, insecure).send(b"plain")

    assert pull.poll(5000)
    assert pull.recv() == b"plain"
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(w.startswith("binding tcp://127.0.0.1:* without CURVE keys") for w in warnings)
    assert any(w.startswith(f"connecting to {url} without CURVE keys") for w in warnings)


def test_a_keyed_peer_is_admitted_under_its_key_name(
    context: Context, sockets: list[zmq.Socket[bytes]], keys: Path
) -> None:
    pull, url = _server(context, sockets, Security.from_keys(keys, GATEWAY))
    _client(context, sockets, url, Security.from_keys(keys, "host-a")).send(b"order")

    assert pull.poll(5000)
    frame = pull.recv(copy=False)
    assert frame.bytes == b"order"
    assert frame.get("User-Id") == "host-a"
    assert refusals(context) == {}


def test_a_peer_without_keys_is_refused_and_counted(
    context: Context, sockets: list[zmq.Socket[bytes]], keys: Path
) -> None:
    pull, url = _server(context, sockets, Security.from_keys(keys, GATEWAY))
    plain = _socket(context, zmq.PUSH, sockets)
    plain.connect(url)
    plain.send(b"forged")

    # no_keys, or bad_handshake when the plain peer hangs up first (refusals' docstring)
    wait_until(lambda: sum(refusals(context).values()) >= 1, what="a refusal")
    assert not pull.poll(QUIET_MS)


def test_a_peer_whose_key_is_not_trusted_is_refused_and_counted(
    context: Context, sockets: list[zmq.Socket[bytes]], keys: Path
) -> None:
    pull, url = _server(context, sockets, Security.from_keys(keys, GATEWAY))
    stranger = Security(
        secret_key=keys.parent / "strangers" / "mallory.key_secret", public_keys=keys
    )
    _client(context, sockets, url, stranger).send(b"forged")

    wait_until(lambda: refusals(context).get("unknown_key", 0) >= 1, what="an unknown_key refusal")
    assert not pull.poll(QUIET_MS)


def test_a_peer_without_the_servers_public_key_is_refused_and_counted(
    context: Context, sockets: list[zmq.Socket[bytes]], keys: Path
) -> None:
    pull, url = _server(context, sockets, Security.from_keys(keys, GATEWAY))
    wrong = Security.from_keys(
        keys, "host-a", server_keys={GATEWAY: keys.parent / "strangers" / "mallory.key"}
    )
    _client(context, sockets, url, wrong).send(b"lost")

    wait_until(
        lambda: refusals(context).get("wrong_server_key", 0) >= 1, what="a wrong_server_key refusal"
    )
    assert not pull.poll(QUIET_MS)


def test_a_peer_that_keeps_retrying_is_logged_once_a_period_and_counted_every_time(
    context: Context, sockets: list[zmq.Socket[bytes]], keys: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _, url = _server(context, sockets, Security.from_keys(keys, GATEWAY))
    wrong = Security.from_keys(
        keys, "host-a", server_keys={GATEWAY: keys.parent / "strangers" / "mallory.key"}
    )
    with caplog.at_level(logging.WARNING, logger="yard_actors.net"):
        _client(context, sockets, url, wrong)  # ZeroMQ retries every 100 ms
        wait_until(lambda: refusals(context).get("wrong_server_key", 0) >= 5, what="five refusals")

    lines = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert len(lines) == 1
    assert "(wrong_server_key): a peer that does not hold this endpoint's public key" in lines[0]


def test_a_key_added_to_the_trusted_directory_is_admitted_without_a_restart(
    context: Context, sockets: list[zmq.Socket[bytes]], keys: Path
) -> None:
    pull, url = _server(context, sockets, Security.from_keys(keys, GATEWAY))
    make_keys(keys, ["host-b"])
    _client(context, sockets, url, Security.from_keys(keys, "host-b")).send(b"hello")

    assert pull.poll(5000)
    assert pull.recv(copy=False).get("User-Id") == "host-b"


@pytest.mark.parametrize("keyed", [False, True], ids=["plain", "curve"])
def test_a_frame_over_the_limit_cuts_its_peer_off_and_one_at_the_limit_passes(
    context: Context, sockets: list[zmq.Socket[bytes]], keys: Path, keyed: bool
) -> None:
    limit = 10_000

    def security(name: str) -> Security:
        if keyed:
            return Security.from_keys(keys, name, max_message_size=limit)
        return Security(allow_insecure_tcp=True, max_message_size=limit)

    pull, url = _server(context, sockets, security(GATEWAY))
    push = _client(context, sockets, url, security("host-a"))
    push.send(b"x" * limit)
    assert pull.poll(5000)
    assert len(pull.recv()) == limit

    push.send(b"y" * (limit + 1))
    assert not pull.poll(QUIET_MS)  # ZeroMQ dropped the connection before reading the frame
    push.send(b"after")  # the peer reconnects; what it sends next arrives
    assert pull.poll(5000)
    assert pull.recv() == b"after"


def test_an_ipc_socket_file_is_its_owners_only(
    context: Context, sockets: list[zmq.Socket[bytes]], tmp_path: Path
) -> None:
    pull = _socket(context, zmq.PULL, sockets)

    url = bind(pull, f"ipc://{tmp_path}/orders", LOCAL_ONLY)

    assert url == f"ipc://{tmp_path}/orders"
    assert stat.S_IMODE((tmp_path / "orders").stat().st_mode) == 0o600


def test_inproc_needs_no_keys(context: Context, sockets: list[zmq.Socket[bytes]]) -> None:
    pull = _socket(context, zmq.PULL, sockets)
    bind(pull, "inproc://orders", LOCAL_ONLY)
    _client(context, sockets, "inproc://orders", LOCAL_ONLY).send(b"local")

    assert pull.poll(5000)
    assert pull.recv() == b"local"
