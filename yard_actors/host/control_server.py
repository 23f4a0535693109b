"""The host's control endpoint: the supervision API served as request/reply on a ROUTER.

A controller (``yard ctl``, :func:`yard_actors.ctl.connect`, ``yard repl --connect``)
sends one JSON request and gets one JSON reply (:mod:`yard_actors.wire.control_protocol`,
``docs/wire.md`` section 4c). The server runs the call on the :class:`~.host.Host`'s own
supervision methods, so a remote ``pause`` is the local one: validated, journaled as a
``Control`` with its sender, answered with the same sentence or the same error.

Who sent it: on ``tcp://`` the socket is a CURVE server (:func:`yard_actors.net.bind`);
the ZAP handler admits only the keys in the host's public keys and names each request's
sender by its key (``User-Id``); a peer without keys or with a wrong key is refused
before any request reaches here, logged and counted (:meth:`ControlServer.stats`).
``ipc://`` (a socket file its owner's only) and ``inproc://`` need no keys: the sender
is then ``"ipc"`` or ``"inproc"``.

One thread of its own owns the socket (made and bound on the caller's, so a bind error
reaches ``Host(...)``). Calls run one at a time, each bounded by the host's ask timeout;
a malformed request is counted, logged rate-limited (:mod:`.drops`) and answered with the
error; a failing call is answered with its error; the server keeps serving either way.
"""

from __future__ import annotations

import inspect
import logging
import threading
from collections.abc import Callable
from typing import Any, Final

import attrs
import pykka
import zmq

from yard_actors import net
from yard_actors.errors import DecodeError, GatewayError, RobotError, YardError
from yard_actors.host.drops import Drops
from yard_actors.host.intake_messages import IntakeStats
from yard_actors.net import Security
from yard_actors.wire.control_protocol import (
    Request,
    decode_request,
    encode_error,
    encode_reply,
    error_kind,
    peek_id,
)
from yard_actors.wire.frames import receive
from yard_actors.wire.log_limit import should_log

__all__ = ["ControlServer", "ControlStats"]

logger = logging.getLogger(__name__)

_POLL_MS: Final = 100  # how soon the thread sees a stop
_LOCAL_SENDERS: Final = {"ipc": "ipc", "inproc": "inproc"}


@attrs.frozen(kw_only=True)
class ControlStats:
    """What the control endpoint saw: requests taken, answered, failed, dropped, refused.

    ``failed``: calls answered with an error (an unknown robot, say); ``dropped``: malformed
    requests by reason (each answered with the error); ``refused``: peers the CURVE
    handshake or the ZAP check turned away, by reason (:func:`yard_actors.net.refusals`).
    """

    url: str
    received: int
    answered: int
    failed: int
    dropped: dict[str, int]
    refused: dict[str, int]


class ControlServer:
    """Serves ``host``'s supervision calls on ``url`` until :meth:`stop`.

    ``host`` is the :class:`~.host.Host` (any object with its supervision methods);
    ``security``: the host's keys, which ``tcp://`` needs. Raises GatewayError if the
    endpoint cannot be bound, ConfigError for ``tcp://`` without keys.
    """

    def __init__(
        self,
        host: Any,
        url: str,
        *,
        context: zmq.Context[zmq.Socket[bytes]],
        security: Security,
    ) -> None:
        self._host = host
        self._context = context
        socket = context.socket(zmq.ROUTER)
        socket.setsockopt(zmq.LINGER, 0)
        try:
            self.url = net.bind(socket, url, security)
        except zmq.ZMQError as exc:
            socket.close()
            msg = f"the control endpoint cannot bind {url}: {exc}"
            raise GatewayError(msg) from exc
        except BaseException:  # keys missing or unreadable: ConfigError says which
            socket.close()
            raise
        self._socket = socket
        self._keyed = net.is_keyed(socket)
        scheme = self.url.partition("://")[0]
        self._anonymous = _LOCAL_SENDERS.get(scheme, scheme)  # tcp only with allow_insecure_tcp
        self._drops = Drops(f"control endpoint {self.url}")
        self._received = self._answered = self._failed = 0
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="yard-control", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> bool:
        """Stop serving after the call in hand; True if the thread ended within ``timeout``."""
        self._stopping.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout)
        if self._thread.is_alive():
            logger.error("control endpoint %s: its thread did not stop in %s s", self.url, timeout)
            return False
        return True

    def stats(self) -> ControlStats:
        return ControlStats(
            url=self.url,
            received=self._received,
            answered=self._answered,
            failed=self._failed,
            dropped=self._drops.by_reason(),
            refused=net.refusals(self._context, self.url),
        )

    def intake_stats(self) -> IntakeStats:
        """The stats in the intakes' shape, refusals among the drops (``refused_REASON``)."""
        stats = self.stats()
        refused = {f"refused_{reason}": n for reason, n in stats.refused.items()}
        return IntakeStats(
            kind="control",
            url=self.url,
            received=stats.received,
            delivered=stats.answered,
            unrouted=0,
            dropped={**stats.dropped, **refused},
        )

    # --- the server's thread ---------------------------------------------------------------

    def _serve(self) -> None:
        socket = self._socket
        try:
            while not self._stopping.is_set():
                if socket.poll(_POLL_MS):
                    self._take(socket)
        except zmq.ZMQError as exc:
            logger.error("control endpoint %s stopped: %s", self.url, exc)
        finally:
            socket.close()

    def _take(self, socket: zmq.Socket[bytes]) -> None:
        if self._keyed:
            frames, sender = net.receive_keyed(socket)
        else:
            frames, sender = receive(socket), self._anonymous
        self._received += 1
        # [peer, request] from a DEALER, [peer, "", request] from a REQ: answered alike.
        split = 2 if len(frames) > 2 and frames[1] == b"" else 1
        envelope, body = frames[:split], frames[split:]
        if len(body) != 1:
            self._drops.drop("bad_frames", f"{len(body)} frames after the envelope, not 1")
            self._send(socket, envelope, encode_error(None, _BAD_FRAMES, DecodeError.__name__))
            return
        self._send(socket, envelope, self._answer(body[0], sender))

    def _answer(self, payload: bytes, sender: str) -> bytes:
        try:
            request = decode_request(payload)
        except DecodeError as exc:
            self._drops.drop(exc.reason, f"from {sender}: {exc}")
            return encode_error(peek_id(payload), str(exc), DecodeError.__name__)
        try:
            result = self._call(request, sender)
            return encode_reply(request.id, result)
        except YardError as exc:
            self._failed += 1  # an operator's refused call (an unknown robot...): shown by default
            if should_log(self._failed):
                logger.warning(
                    "control endpoint %s: %s from %s refused: %s",
                    *(self.url, request.call, sender, exc),
                )
            return encode_error(request.id, str(exc), error_kind(exc))
        except pykka.Timeout as exc:
            self._failed += 1
            msg = f"{request.call}: the host did not finish it in time ({exc})"
            return encode_error(request.id, msg, RobotError.__name__)
        except Exception as exc:  # a bug in a call: answered, logged whole, still serving
            self._failed += 1
            logger.exception("control endpoint %s: %s from %s failed", self.url, request, sender)
            msg = f"{request.call} failed on the host: {type(exc).__name__}: {exc}"
            return encode_error(request.id, msg, YardError.__name__)

    def _send(self, socket: zmq.Socket[bytes], envelope: list[bytes], reply: bytes) -> None:
        try:
            socket.send_multipart([*envelope, reply], zmq.NOBLOCK)
        except zmq.Again:  # the peer is gone or does not read: its answer is dropped
            self._drops.drop("unanswered", "the controller no longer takes answers")
            return
        self._answered += 1

    def _call(self, request: Request, sender: str) -> Any:
        call = _CALLS[request.call]
        return call(self, sender=sender, **request.args)

    # --- the calls, each on the host's own method ------------------------------------------

    def _robots(self, *, sender: str) -> list[dict[str, Any]]:
        return [dict(row) for row in self._host.robots()]

    def _snapshot(self, name: str, *, sender: str) -> Any:
        return self._host.snapshot(name)

    def _failure(self, name: str, *, sender: str) -> str | None:
        result: str | None = self._host.failure(name)
        return result

    def _pause(self, name: str, *, sender: str) -> Any:
        return self._lifecycle("pause", name, sender, "paused")

    def _resume(self, name: str, *, sender: str) -> Any:
        return self._lifecycle("resume", name, sender, "resumed")

    def _lifecycle(self, action: str, name: str, sender: str, done: str) -> Any:
        method = getattr(self._host, action, None)
        if method is not None:
            return _with_sender(method, sender)(name)
        _with_sender(self._host.control, sender)(name, action)  # a host without them yet
        return f"{name} {done}"

    def _set_params(self, name: str, params: dict[str, Any], *, sender: str) -> Any:
        method = getattr(self._host, "set_params", None)
        if method is not None:
            return _with_sender(method, sender)(name, **params)
        _with_sender(self._host.control, sender)(name, "set_params", params)
        return self._host.snapshot(name)["params"]  # asked after the control: it has it

    def _restart(self, name: str, *, sender: str) -> Any:
        method = getattr(self._host, "restart", None)
        if method is None:
            self._host.snapshot(name)  # an unknown name says so first
            msg = "this host cannot restart a robot (a yard without restart)"
            raise RobotError(msg)
        return _with_sender(method, sender)(name)

    def _add_robot(
        self,
        robot_class: str,
        name: str,
        symbols: list[str] | None = None,
        params: dict[str, Any] | None = None,
        *,
        sender: str,
    ) -> str:
        add = _with_sender(self._host.add_robot, sender)
        add(robot_class, name=name, symbols=symbols, params=params)
        return name

    def _remove_robot(self, name: str, *, sender: str) -> list[str]:
        cancelled = _with_sender(self._host.remove_robot, sender)(name)
        return list(cancelled or [])

    def _halt(self, *, sender: str) -> dict[str, Any]:
        method = getattr(self._host, "halt", None)
        if method is not None:
            report = _with_sender(method, sender)()
            fields = attrs.asdict(report) if attrs.has(type(report)) else {}
            return {**fields, "text": str(report)}
        names = [row["name"] for row in self._host.robots()]
        for name in names:
            _with_sender(self._host.control, sender)(name, "halt")
        text = f"{len(names)} robots halted (working orders not cancelled by this host)"
        return {"cancelled": 0, "robots": len(names), "unconfirmed": 0, "text": text}

    def _control_stats(self, *, sender: str) -> dict[str, Any]:
        return attrs.asdict(self.stats())


_BAD_FRAMES: Final = "a request is one frame of JSON (after a REQ's empty delimiter, if any)"
_CALLS: Final[dict[str, Callable[..., Any]]] = {
    "robots": ControlServer._robots,
    "snapshot": ControlServer._snapshot,
    "failure": ControlServer._failure,
    "pause": ControlServer._pause,
    "resume": ControlServer._resume,
    "set_params": ControlServer._set_params,
    "restart": ControlServer._restart,
    "add_robot": ControlServer._add_robot,
    "remove_robot": ControlServer._remove_robot,
    "halt": ControlServer._halt,
    "control_stats": ControlServer._control_stats,
}


def _with_sender(method: Callable[..., Any], sender: str) -> Callable[..., Any]:
    """``method`` with ``sender=`` bound where it takes one (the supervision calls do)."""
    try:
        takes = "sender" in inspect.signature(method).parameters
    except (TypeError, ValueError):
        takes = False
    if not takes:
        return method
    return lambda *args, **kwargs: method(*args, sender=sender, **kwargs)
