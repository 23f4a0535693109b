"""The ZAP handler of a ZeroMQ context: who may connect to its CURVE endpoints, and as whom.

A CURVE server socket asks the ZAP handler of its context (RFC 27, on
``inproc://zeromq.zap.01``) about every peer that completed the handshake; this one
admits a peer whose public key is in the endpoint's trusted directory and names it: the
ZeroMQ ``User-Id`` of everything the peer sends is its key's name (``host-a``), which a
server reads with ``frame.get("User-Id")``. It refuses any other key, and counts and logs
the refusal (:mod:`.refusal_log`).

A peer without keys, or without the server's public key, fails the handshake before ZAP
is asked; a socket monitor on each server socket reports those failures here, so they are
counted and logged too. pyzmq's ``ThreadAuthenticator`` could admit the keys, but not
count the refusals ZAP never sees, nor tell one endpoint's trusted keys from another's;
hence this handler, one per context.

One :class:`Authenticator` per context, made by the first CURVE bind in it
(:func:`yard_actors.net.sockets.bind`); its thread lives until the context is terminated
(``context.term()`` ends it: a blocked poll there raises ``ContextTerminated``), closing
its sockets so that ``term`` can return. Each endpoint is its own ZAP *domain*, so a
refusal names the endpoint, and two endpoints of one context may trust different keys.
Sockets made for the thread (the monitor readers) are made and connected on the caller's
thread, so no event is lost, and handed over through a locked list (the memory barrier
ZeroMQ asks for when a socket changes thread).
"""

from __future__ import annotations

import itertools
import logging
import struct
import threading
import time
from pathlib import Path
from typing import Final

import attrs
import zmq
from zmq.utils import z85

from yard_actors.errors import GatewayError
from yard_actors.net.keys import KeyPair, TrustedKeys
from yard_actors.net.refusal_log import Refusals

__all__ = ["Authenticator", "Guarded", "refusals"]

logger = logging.getLogger(__name__)

ZAP_ENDPOINT: Final = "inproc://zeromq.zap.01"
_TICK_MS: Final = 100  # how often the thread takes new monitors and logs refusal periods
_WATCHED: Final = (
    zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL
    | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
    | zmq.EVENT_MONITOR_STOPPED
)  # a failed ZAP check (EVENT_HANDSHAKE_FAILED_AUTH) is counted where it is decided
_PROTOCOL_REASONS: Final = {
    zmq.PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH: "no_keys",
    zmq.PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC: "wrong_server_key",
}
_CURVE_KEY_BYTES: Final = 32
_ids = itertools.count(1)
_registry: dict[int, Authenticator] = {}  # by id(context); an entry keeps its context alive
_registry_lock = threading.Lock()


@attrs.define
class Guarded:
    """One guarded endpoint: whom it trusts, and where it is (set once it is bound)."""

    trusted: TrustedKeys
    where: str


def refusals(context: zmq.Context[zmq.Socket[bytes]], where: str | None = None) -> dict[str, int]:
    """The peers refused so far by the CURVE endpoints of ``context`` (or the one bound at
    ``where``, as :func:`~.sockets.bind` returned it), by reason.

    Empty if nothing in the context was bound with keys. Reasons: ``no_keys``,
    ``wrong_server_key``, ``unknown_key``, ``bad_handshake`` (:mod:`.refusal_log`). A peer
    without keys is ``no_keys`` or, when it hangs up first, ``bad_handshake``.
    """
    with _registry_lock:
        found = _registry.get(id(context))
    return {} if found is None else found.refusals.by_reason(where)


class Authenticator:
    """The ZAP handler and handshake watch of one context; get it with :meth:`of`."""

    def __init__(self, context: zmq.Context[zmq.Socket[bytes]]) -> None:
        self._context = context
        self._zap = context.socket(zmq.ROUTER)
        self._zap.setsockopt(zmq.LINGER, 0)
        try:
            self._zap.bind(ZAP_ENDPOINT)
        except zmq.ZMQError as exc:
            self._zap.close()
            msg = (
                f"another ZAP handler already serves this ZeroMQ context ({exc}); "
                "yard's CURVE endpoints need their own: give them a context of their own"
            )
            raise GatewayError(msg) from exc
        self.refusals = Refusals()
        self._lock = threading.Lock()
        self._alive = True
        self._domains: dict[bytes, Guarded] = {}
        self._new: list[tuple[zmq.Socket[bytes], bytes]] = []  # monitor readers to take
        self._trusted: dict[tuple[Path, bytes], TrustedKeys] = {}
        self._thread = threading.Thread(target=self._run, name="yard-zap", daemon=True)
        self._thread.start()

    @classmethod
    def of(cls, context: zmq.Context[zmq.Socket[bytes]]) -> Authenticator:
        """The context's authenticator, started now if it has none."""
        with _registry_lock:
            found = _registry.get(id(context))
            if found is None:
                found = _registry[id(context)] = cls(context)
            return found

    def guard(self, socket: zmq.Socket[bytes], url: str, trusted: Path, own: KeyPair) -> Guarded:
        """Check the CURVE peers of ``socket``, to be bound to ``url``, against ``trusted``.

        Call before binding it. Sets its ZAP domain and watches its failed handshakes;
        ``own`` is trusted too. Set the :class:`Guarded`'s ``where`` to the endpoint once
        bound (a ``*`` port). Raises ConfigError if ``trusted`` cannot be read,
        GatewayError if the context is being terminated.
        """
        keys = self._trusted_keys(trusted, own)
        number = next(_ids)
        domain = f"yard-{number}".encode()
        guarded = Guarded(trusted=keys, where=url)
        with self._lock:
            self._check_alive()
            self._domains[domain] = guarded
        socket.setsockopt(zmq.ZAP_DOMAIN, domain)
        socket.setsockopt(zmq.ZAP_ENFORCE_DOMAIN, 1)  # no handler, no entry: fail closed
        watch = f"inproc://yard-handshakes-{number}"
        socket.monitor(watch, _WATCHED)
        reader = self._context.socket(zmq.PAIR)
        reader.setsockopt(zmq.LINGER, 0)
        reader.connect(watch)
        with self._lock:
            if not self._alive:
                reader.close()
                self._check_alive()
            self._new.append((reader, domain))
        return guarded

    def _check_alive(self) -> None:
        if not self._alive:
            msg = "cannot guard a socket: its ZeroMQ context is being terminated"
            raise GatewayError(msg)

    def _trusted_keys(self, directory: Path, own: KeyPair) -> TrustedKeys:
        key = (directory.resolve(), own.public)
        with self._lock:
            found = self._trusted.get(key)
        if found is None:
            found = TrustedKeys(directory, own)  # on the caller's thread: errors raise here
            with self._lock:
                found = self._trusted.setdefault(key, found)
        return found

    # --- the thread -----------------------------------------------------------------------

    def _run(self) -> None:
        poller = zmq.Poller()
        poller.register(self._zap, zmq.POLLIN)
        watching: dict[zmq.Socket[bytes], bytes] = {}
        try:
            while True:
                with self._lock:
                    new, self._new = self._new, []
                for reader, domain in new:
                    poller.register(reader, zmq.POLLIN)
                    watching[reader] = domain
                for socket, _ in poller.poll(_TICK_MS):
                    if socket is self._zap:
                        self._answer()
                    else:
                        self._on_handshake_event(socket, watching, poller)
                self.refusals.flush(time.monotonic())
        except zmq.ContextTerminated:
            pass
        except Exception:  # the handler is gone: CURVE endpoints now refuse everyone
            logger.exception("the ZAP handler failed; CURVE endpoints refuse every peer now")
        finally:
            self._close(watching)

    def _close(self, watching: dict[zmq.Socket[bytes], bytes]) -> None:
        with self._lock:
            self._alive = False
            waiting, self._new = self._new, []
        with _registry_lock:
            if _registry.get(id(self._context)) is self:
                del _registry[id(self._context)]
        for reader in [*watching, *(reader for reader, _ in waiting)]:
            reader.close()
        self._zap.close()

    def _answer(self) -> None:
        frames = self._zap.recv_multipart(zmq.NOBLOCK)
        if len(frames) < 8 or frames[1] != b"":
            return  # not a ZAP request (RFC 27): nobody waits for an answer
        peer, _, version, request_id, domain, address, _, mechanism, *credentials = frames
        try:
            status, text, user = self._decide(version, domain, address, mechanism, credentials)
        except Exception:
            logger.exception("the ZAP handler could not decide on a peer; refused")
            status, text, user = b"500", b"internal error", b""
        self._zap.send_multipart([peer, b"", b"1.0", request_id, status, text, user, b""])

    def _decide(
        self,
        version: bytes,
        domain: bytes,
        address: bytes,
        mechanism: bytes,
        credentials: list[bytes],
    ) -> tuple[bytes, bytes, bytes]:
        """(status, status text, user id) for one ZAP request: RFC 27's 200, 400 or 500."""
        if version != b"1.0":
            return b"500", b"ZAP version 1.0 only", b""
        guarded = self._domains.get(domain)
        curve = mechanism == b"CURVE" and len(credentials) == 1
        if guarded is None or not curve or len(credentials[0]) != _CURVE_KEY_BYTES:
            return b"400", b"not a yard CURVE endpoint", b""
        public = z85.encode(credentials[0])
        name = guarded.trusted.name_of(public)
        if name is None:
            detail = f"its key {public.decode()} is not in {guarded.trusted.directory}"
            peer = address.decode(errors="replace")
            self.refusals.refuse("unknown_key", guarded.where, peer, detail, time.monotonic())
            return b"400", b"unknown key", b""
        return b"200", b"OK", name.encode()

    def _on_handshake_event(
        self,
        reader: zmq.Socket[bytes],
        watching: dict[zmq.Socket[bytes], bytes],
        poller: zmq.Poller,
    ) -> None:
        frames = reader.recv_multipart(zmq.NOBLOCK)
        event, value = struct.unpack("=HI", frames[0][:6])
        domain = watching[reader]
        if event == zmq.EVENT_MONITOR_STOPPED:  # the socket was closed
            poller.unregister(reader)
            reader.close()
            del watching[reader]
            with self._lock:
                self._domains.pop(domain, None)
            return
        guarded = self._domains.get(domain)
        where = guarded.where if guarded is not None else frames[1].decode(errors="replace")
        reason = "bad_handshake"
        if event == zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL:
            reason = _PROTOCOL_REASONS.get(value, reason)
        detail = "" if reason != "bad_handshake" else f"ZeroMQ event {event:#x}, value {value:#x}"
        self.refusals.refuse(reason, where, "", detail, time.monotonic())
