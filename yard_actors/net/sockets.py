"""Binding and connecting an endpoint: the one way yard opens one, so none goes unguarded.

:func:`bind` and :func:`connect` apply a component's :class:`~.security.Security` to a
socket and then bind or connect it:

* every socket gets ``ZMQ_MAXMSGSIZE``: a peer that sends a larger frame is disconnected
  by ZeroMQ before the frame is read, so no frame can balloon a process;
* on ``tcp://`` a keyed component speaks CURVE, as a server where it binds (its peers'
  keys checked by the context's :class:`~.authenticator.Authenticator`) and as a client
  where it connects (the server proving it holds the key named by ``server``); an unkeyed
  one raises ConfigError saying how to make keys, unless ``allow_insecure_tcp``, which
  logs a warning instead;
* an ``ipc://`` socket file is made its owner's only (0600) once bound.

Called on the thread that owns the socket, before it is used. ZeroMQ's own errors (an
address in use) are raised as ``zmq.ZMQError`` for the caller to name its endpoint in.
"""

from __future__ import annotations

import logging
import os
from typing import Final

import zmq

from yard_actors.errors import ConfigError
from yard_actors.net.authenticator import Authenticator
from yard_actors.net.security import Security

__all__ = ["CURVE_OVERHEAD", "bind", "connect", "speaks_curve"]

logger = logging.getLogger(__name__)

CURVE_OVERHEAD: Final = 33
"""Bytes CURVE adds to a frame (MESSAGE command name 8, nonce 8, MAC 16, flags 1), which
ZeroMQ counts against ``ZMQ_MAXMSGSIZE``: added to the limit, so it bounds the frame the
peer meant to send whether or not it is encrypted."""

# Every transport of ZeroMQ's that reaches beyond the process and its owner's files; an
# unknown one is left to ZeroMQ, which refuses it.
_NETWORK: Final = frozenset({"tcp", "ws", "wss", "pgm", "epgm", "norm", "udp", "vmci", "tipc"})


def bind(socket: zmq.Socket[bytes], url: str, security: Security) -> str:
    """Bind ``socket`` to ``url`` with ``security``; return the endpoint it is bound to.

    A ``*`` port comes back as the port the system chose. Raises ConfigError for a
    ``tcp://`` URL without keys (or with keys that cannot be read), ``zmq.ZMQError`` if
    ZeroMQ cannot bind.
    """
    guarded = None
    curve = _needs_keys(url) and _allowed(url, security, binding=True)
    if curve:
        pair = security.key_pair()
        assert security.public_keys is not None  # a keyed Security has both
        socket.setsockopt(zmq.CURVE_SERVER, 1)
        socket.setsockopt(zmq.CURVE_SECRETKEY, pair.secret)
        socket.setsockopt(zmq.CURVE_PUBLICKEY, pair.public)
        guarded = Authenticator.of(socket.context).guard(socket, url, security.public_keys, pair)
    _limit(socket, security, curve=curve)
    socket.bind(url)
    endpoint = socket.getsockopt_string(zmq.LAST_ENDPOINT)
    if guarded is not None:
        guarded.where = endpoint
    if endpoint.startswith("ipc://") and not endpoint.startswith("ipc://@"):
        # ZeroMQ makes the file with the umask's mode: anyone could connect. There is a
        # moment before this; a directory of the owner's own closes it (README, Security).
        os.chmod(endpoint.removeprefix("ipc://"), 0o600)
    return endpoint


def connect(socket: zmq.Socket[bytes], url: str, security: Security, *, server: str) -> None:
    """Connect ``socket`` to ``url``, the endpoint of the server whose key is named ``server``.

    ``server`` is the name of the server's public key (``feed``, ``gateway``, a host's
    name), looked up by ``security``; it matters on ``tcp://`` only. Raises ConfigError for
    a ``tcp://`` URL without keys (or a server key it cannot find), ``zmq.ZMQError`` if
    ZeroMQ refuses the URL.
    """
    curve = _needs_keys(url) and _allowed(url, security, binding=False)
    if curve:
        pair = security.key_pair()
        socket.setsockopt(zmq.CURVE_SERVERKEY, security.server_key(server))
        socket.setsockopt(zmq.CURVE_SECRETKEY, pair.secret)
        socket.setsockopt(zmq.CURVE_PUBLICKEY, pair.public)
    _limit(socket, security, curve=curve)
    socket.connect(url)


def speaks_curve(url: str, security: Security) -> bool:
    """Whether :func:`bind` or :func:`connect` puts ``url`` under CURVE with ``security``:
    a network transport and a keyed component. There, each peer is known by its key's name."""
    return security.keyed and _needs_keys(url)


def _needs_keys(url: str) -> bool:
    return url.partition("://")[0] in _NETWORK


def _allowed(url: str, security: Security, *, binding: bool) -> bool:
    """True to use CURVE; False (after a warning) for plain tcp allowed; else ConfigError."""
    if security.keyed:
        return True
    if security.allow_insecure_tcp:
        logger.warning(
            "%s %s without CURVE keys (allow_insecure_tcp): anyone who can reach it can "
            "send and read what it carries; never with real money",
            "binding" if binding else "connecting to",
            url,
        )
        return False
    verb = "bind" if binding else "connect to"
    msg = (
        f"cannot {verb} {url} without CURVE keys: every tcp:// endpoint, loopback included, "
        "is authenticated. Make keys with `yard keys keys --name feed --name gateway "
        "--name host` and give each component its NAME.key_secret and the directory of "
        "public keys it trusts ([security] secret_key and public_keys in yard.toml, "
        "--secret-key and --public-keys on the command line, Security(...) in code); "
        "or set allow_insecure_tcp for a test bench"
    )
    raise ConfigError(msg)


def _limit(socket: zmq.Socket[bytes], security: Security, *, curve: bool) -> None:
    extra = CURVE_OVERHEAD if curve else 0
    socket.setsockopt(zmq.MAXMSGSIZE, security.max_message_size + extra)
