"""The data endpoint's publisher: events out on XPUB, and the last statuses for late joiners.

Apart from :mod:`gateways.feed`, which decides what to publish and when (a
file, the sample day, paced by event time): this module only binds the
endpoint, sends each event under its topic in the wire format of
``docs/wire.md``, and keeps a last-value cache of the session and component
statuses, sent again to whoever subscribes late and every few seconds to all.
XPUB lets it wait until the host has subscribed instead of losing the first
quotes to ZeroMQ's slow-joiner window: until hosts and the gateway say they are
ready (:meth:`QuotePublisher.wait_until_ready`, ``yard feed --hosts``), or until
some symbol has enough subscribers. ``yard feed`` and ``yard run`` both
publish through it.
"""

from __future__ import annotations

import logging
import math
import time
from collections import Counter
from collections.abc import Iterable
from typing import TypeAlias

import zmq

from yard_actors import net
from yard_actors.errors import ConfigError, GatewayError
from yard_actors.net import LOCAL_ONLY, Security, key_name
from yard_actors.wire.codec import encode
from yard_actors.wire.events import Bar, Quote, SessionStatus, SystemStatus, Tick
from yard_actors.wire.frames import holds_more, send
from yard_actors.wire.names import (
    GATEWAY_READY,
    HOST_READY,
    RESERVED_PREFIX,
    SESSION_TOPIC,
    SYSTEM_TOPIC,
)

__all__ = ["REPEAT_EVERY_S", "Published", "QuotePublisher", "peers"]

Published: TypeAlias = Quote | Tick | Bar | SessionStatus | SystemStatus
"""What a feed publishes on the data endpoint."""

log = logging.getLogger(__name__)

_SESSION, _SYSTEM = SESSION_TOPIC.encode(), SYSTEM_TOPIC.encode()
_RESERVED = RESERVED_PREFIX.encode()
_READY = {HOST_READY.encode(): "host", GATEWAY_READY.encode(): "gateway"}
_SUBSCRIBE, _UNSUBSCRIBE = 1, 0  # the first byte of an XPUB subscription message
# How often publish() looks for new subscribers: a monotonic clock read per event, where
# looking (holds_more) costs a few µs; a late joiner waits at most this for the statuses.
_LOOK_EVERY_S = 0.01
REPEAT_EVERY_S = 5.0
"""How often a :class:`QuotePublisher` sends its last statuses again, to every subscriber."""


class QuotePublisher:
    """Binds the data endpoint and publishes events; call from one thread only.

    A last-value cache for late joiners: it keeps the last ``SessionStatus`` of
    each session and the last ``SystemStatus`` of each component, and sends
    them again when a subscription to ``$session`` or ``$system`` (or to a
    prefix of them) arrives, and to everyone every ``repeat_every`` seconds
    (None: never). PUB has no way to send to one subscriber, so every
    subscriber of the topic gets the repeat: byte for byte the message it had,
    which a host does not deliver twice. Subscriptions are read while
    publishing (every 10 ms at most) and while :meth:`idle`; ``repeat_every``
    is wall-clock time. ``security``: its keys and message size limit; binding
    ``tcp://`` without keys raises ConfigError (:mod:`yard_actors.net`).
    """

    def __init__(
        self,
        context: zmq.Context[zmq.Socket[bytes]],
        url: str,
        *,
        repeat_every: float | None = REPEAT_EVERY_S,
        security: Security = LOCAL_ONLY,
    ) -> None:
        if repeat_every is not None and not repeat_every > 0:
            msg = f"repeat_every must be a positive number of seconds or None, was {repeat_every}"
            raise ConfigError(msg)
        self._socket = context.socket(zmq.XPUB)
        self._socket.setsockopt(zmq.LINGER, 0)
        self._socket.setsockopt(zmq.SNDHWM, 0)  # never drop: the host reads as fast as it can
        self._socket.setsockopt(zmq.XPUB_VERBOSE, 1)  # see every subscriber, not just the first
        try:
            self.endpoint = net.bind(self._socket, url, security)
        except zmq.ZMQError as exc:
            self._socket.close()
            msg = f"feed cannot bind {url}: {exc}"
            raise GatewayError(msg) from exc
        except BaseException:  # keys missing or unreadable: ConfigError says which
            self._socket.close()
            raise
        self._subscribed: Counter[bytes] = Counter()
        self._ready_keys: list[str] = []  # the key names of the peers that said they are ready
        # topic and session (or component) -> the payload last published: the statuses
        self._statuses: dict[tuple[bytes, str], bytes] = {}
        self._repeat_every = math.inf if repeat_every is None else repeat_every
        self._next_look = 0.0
        self._next_repeat = math.inf

    def wait_for_subscribers(
        self, topics: Iterable[str], *, count: int = 1, timeout: float = 10.0
    ) -> None:
        """Block until every topic has ``count`` subscribers, or raise GatewayError."""
        wanted = {t.encode() for t in topics}
        deadline = time.monotonic() + timeout
        while any(self._subscribed[t] < count for t in wanted):
            if not self._take_subscription(deadline):
                missing = sorted(t.decode() for t in wanted if self._subscribed[t] < count)
                msg = f"fewer than {count} subscribers to {', '.join(missing)} after {timeout} s"
                raise GatewayError(msg)

    def wait_for_market_subscribers(
        self, *, count: int = 1, timeout: float = 10.0, settle: float = 0.2
    ) -> None:
        """Block until some symbol has ``count`` subscribers, or raise GatewayError.

        For a feed that does not know its symbols in advance: any topic not
        starting with ``$`` counts, and so does the empty prefix (everything).
        A host subscribes to its symbols one after another, so once one has
        enough, this goes on taking subscriptions until none has come for
        ``settle`` seconds: the first symbol's messages are not the only ones
        that arrive.
        """
        deadline = time.monotonic() + timeout
        while self._most_on_a_symbol() < count:
            if not self._take_subscription(deadline):
                msg = (
                    f"fewer than {count} subscribers to any symbol on {self.endpoint} "
                    f"after {timeout} s; is the host running and connected to it?"
                )
                raise GatewayError(msg)
        while self._take_subscription(time.monotonic() + settle):
            pass

    def wait_until_ready(
        self, *, hosts: int, gateways: int = 1, timeout: float = 60.0, settle: float = 0.2
    ) -> None:
        """Block until ``hosts`` hosts and ``gateways`` gateways are ready, or raise GatewayError.

        Each says so once, by subscribing to ``$ready/host`` or ``$ready/gateway`` after
        its symbols (``docs/wire.md`` 1), so a host counts once whatever its robots
        trade, with keys or without. Then it goes on taking subscriptions until none
        has come for ``settle`` seconds: a peer that reconnected sends its subscriptions
        again, ``$ready`` first.
        """
        wanted = {HOST_READY.encode(): hosts, GATEWAY_READY.encode(): gateways}
        deadline = time.monotonic() + timeout
        while any(self._subscribed[topic] < n for topic, n in wanted.items()):
            if not self._take_subscription(deadline):
                msg = (
                    f"after {timeout:g} s on {self.endpoint}: {self.readiness(hosts, gateways)}; "
                    "start each host (yard run CONFIG --role host) and the gateway "
                    f"(yard gateway --data {self.endpoint}), their keys trusted by the feed"
                )
                raise GatewayError(msg)
        while self._take_subscription(time.monotonic() + settle):
            pass

    def readiness(self, hosts: int, gateways: int) -> str:
        """Who is ready of those waited for: ``1 of 2 hosts and 0 of 1 gateway ready``, with
        the key names of those that have keys."""
        counts = (
            (self._subscribed[HOST_READY.encode()], hosts, "host"),
            (self._subscribed[GATEWAY_READY.encode()], gateways, "gateway"),
        )
        said = [f"{have} of {_count(n, noun)}" for have, n, noun in counts if n]
        names = f" ({', '.join(self._ready_keys)})" if self._ready_keys else ""
        return f"{' and '.join(said) or 'nobody'} ready{names}"

    def publish(self, event: Published) -> None:
        """Send ``event`` with its topic: the symbol, ``$session`` or ``$system`` (wire.md).

        Also, at most every 10 ms, answers the subscriptions that came meanwhile and
        repeats the statuses when they are due.
        """
        if isinstance(event, Quote | Tick | Bar):
            send(self._socket, event.symbol.encode(), encode(event))
        else:
            self._publish_status(event)
        if (now := time.monotonic()) >= self._next_look:
            self._look(now)

    def idle(self, seconds: float) -> None:
        """Let ``seconds`` pass, answering new subscribers and repeating the statuses on time.

        For a feed with nothing to publish for a while: :func:`replay_events`
        waits here for an event's time to come.
        """
        deadline = time.monotonic() + seconds
        while (now := time.monotonic()) < deadline:
            wake = min(deadline, self._next_repeat)
            if wake > now:
                self._socket.poll(math.ceil((wake - now) * 1000))
            self._look(time.monotonic())

    def close(self, *, linger: float = 0.0) -> None:
        """Close the socket, first giving unsent messages up to ``linger`` seconds to leave.

        The linger is spent in ``context.term()``, not here.
        """
        self._socket.setsockopt(zmq.LINGER, int(linger * 1000))
        self._socket.close()

    def _publish_status(self, status: SessionStatus | SystemStatus) -> None:
        if isinstance(status, SessionStatus):
            topic, name = _SESSION, status.session
        else:
            topic, name = _SYSTEM, status.component
        payload = encode(status)
        send(self._socket, topic, payload)
        if not self._statuses:
            self._next_repeat = time.monotonic() + self._repeat_every
        self._statuses[topic, name] = payload

    def _look(self, now: float) -> None:
        """Take the subscriptions waiting, answer them, repeat the statuses if due."""
        wanted: set[bytes] = set()
        while holds_more(self._socket):
            wanted |= self._count_subscription(self._socket.recv())
        if now >= self._next_repeat:
            wanted = {_SESSION, _SYSTEM}
            self._next_repeat = now + self._repeat_every
        self._repeat(wanted)
        self._next_look = now + _LOOK_EVERY_S

    def _repeat(self, topics: set[bytes]) -> None:
        for (topic, _), payload in self._statuses.items():
            if topic in topics:
                send(self._socket, topic, payload)

    def _take_subscription(self, deadline: float) -> bool:
        """Count and answer one (un)subscription, waiting until ``deadline``; False if none came."""
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not self._socket.poll(int(remaining * 1000)):
            return False
        frame = self._socket.recv(copy=False)
        message = frame.bytes
        if message[:1] == bytes([_SUBSCRIBE]) and message[1:] in _READY:
            key = key_name(frame)  # None without keys: the peers are then only counted
            self._ready_keys += [] if key is None else [key]
            log.info(
                "a %s is ready on %s%s",
                _READY[message[1:]],
                self.endpoint,
                "" if key is None else f": {key}",
            )
        self._repeat(self._count_subscription(message))
        return True

    def _count_subscription(self, frame: bytes) -> set[bytes]:
        """Count an XPUB (un)subscription; return the status topics a new subscriber wants."""
        prefix = frame[1:]
        if frame[:1] == bytes([_SUBSCRIBE]):
            self._subscribed[prefix] += 1
            return {topic for topic in (_SESSION, _SYSTEM) if topic.startswith(prefix)}
        if frame[:1] == bytes([_UNSUBSCRIBE]) and self._subscribed[prefix] > 0:
            self._subscribed[prefix] -= 1
        return set()

    def _most_on_a_symbol(self) -> int:
        everything = self._subscribed[b""]
        symbols = [n for topic, n in self._subscribed.items() if topic and topic[:1] != _RESERVED]
        return everything + max(symbols, default=0)


def peers(hosts: int, gateways: int) -> str:
    """``2 hosts and 1 gateway``: whom :meth:`QuotePublisher.wait_until_ready` waits for."""
    said = [_count(n, noun) for n, noun in ((hosts, "host"), (gateways, "gateway")) if n]
    return " and ".join(said) or "nobody"


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"
