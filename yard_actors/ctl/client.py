"""A client of a host's control endpoint: the supervision API over request/reply.

:func:`connect` opens a DEALER to the host's ROUTER (``docs/wire.md`` section 4c); each
call sends one request and waits for the reply with its id, at most ``timeout``
seconds (the calls that do more on the host, such as ``halt``, three times that).
A reply that comes after its call gave up is recognised by its id and dropped.

Errors are the host's: a refused call raises the same class with the same message
(``RobotError("no robot named 'x' on this host (robots: a, b)")``). A host that does
not answer, or refuses this client's key, raises :class:`GatewayError` naming the URL.

On ``tcp://`` the client needs keys (``keys``: a :class:`~yard_actors.net.Security`,
such as ``Security.from_keys("keys", "controller")``) and the host's public key,
found by ``server`` (the host's key name) among its public keys. A client is used
from one thread at a time; :meth:`Client.close` it (or use it as a context manager).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Mapping, Sequence
from typing import Any, Final

import attrs
import zmq
from zmq.utils.monitor import parse_monitor_message

from yard_actors import net
from yard_actors.errors import DecodeError, GatewayError
from yard_actors.host.table import RobotTable
from yard_actors.net import LOCAL_ONLY, Security
from yard_actors.wire.control_protocol import (
    decode_reply,
    encode_request,
    error_class,
)

__all__ = ["DEFAULT_TIMEOUT_S", "MAX_REPLY_BYTES", "Client", "HaltResult", "connect"]

DEFAULT_TIMEOUT_S: Final = 5.0
MAX_REPLY_BYTES: Final = 64 * 1024 * 1024
"""The largest reply the client takes: ``robots()`` of thousands of robots, or a snapshot of
a robot with many orders, is larger than the 512 KiB a yard socket takes by default; it
comes from the host the client chose (and, on tcp, authenticated)."""
_LONG_CALLS: Final = frozenset({"halt", "restart", "add_robot", "remove_robot"})
_LONG_FACTOR: Final = 3  # those wait on the gateway or on a journal's replay
_HANDSHAKE_EVENTS: Final = (
    zmq.EVENT_HANDSHAKE_FAILED_AUTH
    | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
    | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL
)


@attrs.frozen(kw_only=True)
class HaltResult:
    """What a remote ``halt()`` did, as the host's ``HaltReport`` says it; ``str()`` is its
    sentence. ``cancelled``: cancels the gateway confirmed; ``robots``: robots halted;
    ``unconfirmed``: cancels still unanswered when the host stopped waiting."""

    cancelled: int
    robots: int
    unconfirmed: int
    text: str

    def __str__(self) -> str:
        return self.text


def connect(
    url: str,
    *,
    keys: Security | None = None,
    server: str = "host",
    timeout: float = DEFAULT_TIMEOUT_S,
    context: zmq.Context[zmq.Socket[bytes]] | None = None,
) -> Client:
    """A client of the host whose control endpoint is ``url``.

    ``keys``: this client's keys (``tcp://`` needs them); ``server``: the name of the
    host's public key among them. ``context``: the host's, for an ``inproc://`` URL.
    Connecting does not wait for the host: the first call finds out whether it answers.
    Raises ConfigError for ``tcp://`` without usable keys, GatewayError for a bad URL.
    """
    return Client(url, keys=keys, server=server, timeout=timeout, context=context)


class Client:
    """The supervision calls of a remote host; see :func:`connect`."""

    def __init__(
        self,
        url: str,
        *,
        keys: Security | None = None,
        server: str = "host",
        timeout: float = DEFAULT_TIMEOUT_S,
        context: zmq.Context[zmq.Socket[bytes]] | None = None,
    ) -> None:
        if not timeout > 0:
            msg = f"timeout must be a positive number of seconds, was {timeout!r}"
            raise ValueError(msg)
        self.url = url
        self.timeout = timeout
        self._own_context = context is None
        self._context: zmq.Context[zmq.Socket[bytes]] = context or zmq.Context()
        self._ids = itertools.count(1)
        self._socket = self._context.socket(zmq.DEALER)
        self._socket.setsockopt(zmq.LINGER, 0)
        self._monitor = self._socket.get_monitor_socket(_HANDSHAKE_EVENTS)
        security = keys or LOCAL_ONLY
        limit = max(security.max_message_size, MAX_REPLY_BYTES)
        try:
            net.connect(
                self._socket, url, attrs.evolve(security, max_message_size=limit), server=server
            )
        except zmq.ZMQError as exc:
            self.close()
            msg = f"cannot connect to the control endpoint {url}: {exc}"
            raise GatewayError(msg) from exc
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the socket (and the context, if the client made it); the host runs on."""
        self._socket.disable_monitor()
        self._monitor.close()
        self._socket.close()
        if self._own_context:
            self._context.term()

    # --- the supervision calls ------------------------------------------------------------

    def robots(self) -> RobotTable:
        return RobotTable(self.call("robots"))

    def snapshot(self, name: str) -> dict[str, Any]:
        result: dict[str, Any] = self.call("snapshot", name=name)
        return result

    def failure(self, name: str) -> str | None:
        result: str | None = self.call("failure", name=name)
        return result

    def pause(self, name: str) -> str:
        return str(self.call("pause", name=name))

    def resume(self, name: str) -> str:
        return str(self.call("resume", name=name))

    def set_params(self, name: str, **params: Any) -> dict[str, Any]:
        result: dict[str, Any] = self.call("set_params", name=name, params=params)
        return result

    def restart(self, name: str) -> str:
        return str(self.call("restart", name=name))

    def add_robot(
        self,
        robot_class: str,
        *,
        name: str,
        symbols: Sequence[str] | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> str:
        """Start a robot of ``robot_class`` (a class path) on the host; return its name."""
        args = {
            "robot_class": robot_class,
            "name": name,
            "symbols": None if symbols is None else list(symbols),
            "params": None if params is None else dict(params),
        }
        return str(self.call("add_robot", **args))

    def remove_robot(self, name: str) -> list[str]:
        return list(self.call("remove_robot", name=name))

    def halt(self) -> HaltResult:
        result = self.call("halt")
        return HaltResult(
            cancelled=int(result.get("cancelled", 0)),
            robots=int(result.get("robots", 0)),
            unconfirmed=int(result.get("unconfirmed", 0)),
            text=str(result.get("text", "")),
        )

    def control_stats(self) -> dict[str, Any]:
        """The host's control endpoint counters: requests, malformed ones, refused peers."""
        result: dict[str, Any] = self.call("control_stats")
        return result

    # --- the protocol -----------------------------------------------------------------------

    def call(self, call: str, **args: Any) -> Any:
        """Send one request and return its result; raise the host's error if it refused."""
        request_id = next(self._ids)
        try:
            self._socket.send(encode_request(request_id, call, args), zmq.NOBLOCK)
        except zmq.ZMQError as exc:
            msg = f"cannot send {call} to the host at {self.url}: {exc}"
            raise GatewayError(msg) from exc
        timeout = self.timeout * (_LONG_FACTOR if call in _LONG_CALLS else 1)
        reply = self._await(request_id, call, timeout)
        if reply.ok:
            return reply.result
        cls = error_class(reply.kind)
        if cls is DecodeError:
            raise DecodeError("refused_request", reply.error)
        raise cls(reply.error)

    def _await(self, request_id: int, call: str, timeout: float) -> Any:
        deadline = time.monotonic() + timeout
        poller = zmq.Poller()
        poller.register(self._socket, zmq.POLLIN)
        poller.register(self._monitor, zmq.POLLIN)
        while (left := deadline - time.monotonic()) > 0:
            ready = dict(poller.poll(int(left * 1000) + 1))
            if self._monitor in ready:
                self._refused(parse_monitor_message(self._monitor.recv_multipart()))
            if self._socket in ready:
                payload = self._socket.recv()
                try:
                    reply = decode_reply(payload)
                except DecodeError as exc:
                    msg = f"the host at {self.url} answered {call} with a bad reply: {exc}"
                    raise GatewayError(msg) from exc
                if reply.id == request_id:
                    return reply
                # else: the late answer to a call that gave up before; dropped
        msg = (
            f"no answer from the host at {self.url} to {call} within {timeout:g} s: "
            "is the host running there, and is that its control endpoint?"
        )
        raise GatewayError(msg)

    def _refused(self, event: Mapping[str, Any]) -> None:
        """Raise GatewayError for a failed handshake: the host will never answer."""
        kind, value = event["event"], event["value"]
        if kind == zmq.EVENT_HANDSHAKE_FAILED_AUTH:
            why = "it does not trust this client's key (not among its public keys)"
        elif value == zmq.PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH:
            why = "one side speaks CURVE and the other does not (keys on one side only)"
        elif value == zmq.PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC:
            why = "it does not hold the server key this client expects (--server)"
        else:
            why = f"the handshake failed (ZeroMQ event {kind:#x}, value {value:#x})"
        msg = f"the host at {self.url} refused this client: {why}"
        raise GatewayError(msg)
