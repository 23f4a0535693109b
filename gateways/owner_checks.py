"""The order thread's checks of keyed peers against the robots' owners: commands, subscriptions.

Both run only on sockets bound with CURVE, where every message names its sender's key
(:mod:`yard_actors.net.peers`); elsewhere nobody is told apart and nothing is checked.

* :class:`CommandGate` reads the ``orders`` PULL: a command whose topic (its robot) the
  sending key does not own is dropped before it is decoded, counted as
  ``dropped_command_not_owner`` and logged rate-limited; nothing is stored, nothing
  reaches the exchange. The cost per command is one property read and one dict lookup.
* :class:`TradesSubscriptions` reads the ``trades`` XPUB (``XPUB_MANUAL``): ZeroMQ adds
  no subscription by itself, so a peer hears only what this honours for it: a robot its
  key owns, ``$system``, and ``$seqs``, taken as its own heartbeat topic
  (:func:`~yard_actors.wire.names.owner_seqs_topic`: only its robots' seqs). Anything
  else (another key's robot, the empty prefix, ``$``) is refused, counted as
  ``dropped_subscription_not_owner`` and logged; the peer simply hears nothing of it.
  A subscription refused because it came before its robot was registered is honoured
  when the peer subscribes again (a yard host does, once its registration is answered).
"""

from __future__ import annotations

from typing import Final

import zmq

from gateways.drops import Drops
from gateways.owners import Owners
from yard_actors.net import key_name
from yard_actors.net.peers import USER_ID
from yard_actors.wire.frames import holds_more
from yard_actors.wire.names import SEQS_TOPIC, SYSTEM_TOPIC, owner_seqs_topic

__all__ = ["CommandGate", "TradesSubscriptions"]

_NOBLOCK: Final = int(zmq.NOBLOCK)
_SUBSCRIBE: Final = int(zmq.SUBSCRIBE)
_UNSUBSCRIBE: Final = int(zmq.UNSUBSCRIBE)
_SYSTEM: Final = SYSTEM_TOPIC.encode()
_SEQS: Final = SEQS_TOPIC.encode()
_SHOWN: Final = 40  # bytes of a topic quoted in a log line
_TAKE: Final = 200  # subscription messages handled per turn of the gateway's loop


class CommandGate:
    """Reads commands off a keyed ``orders`` socket, keeping only those from the robot's owner."""

    __slots__ = ("_drops", "_owner_of_topic")

    def __init__(self, owners: Owners, drops: Drops) -> None:
        self._owner_of_topic = owners.owner_of_topic
        self._drops = drops

    def read(self, socket: zmq.Socket[bytes]) -> list[bytes] | None:
        """Take one message (``zmq.Again`` if none); its frames, or None if it was refused."""
        frame = socket.recv(_NOBLOCK, copy=False)
        sender = frame.get(USER_ID)
        frames = [frame.bytes]
        while frame.more:
            frame = socket.recv(_NOBLOCK, copy=False)
            frames.append(frame.bytes)
        owner = self._owner_of_topic(frames[0])
        if owner == sender:
            return frames
        robot = frames[0][:_SHOWN]
        if owner is None:
            detail = f"key {sender} sent a command for robot {robot!r}, which no key registered"
        else:
            detail = f"key {sender} sent a command for robot {robot!r}, which is key {owner}'s"
        self._drops.drop("command", "not_owner", detail)
        return None


class TradesSubscriptions:
    """Honours the subscriptions of a keyed ``trades`` XPUB (``XPUB_MANUAL``) by ownership."""

    def __init__(self, owners: Owners, drops: Drops) -> None:
        self._owners = owners
        self._drops = drops

    def take(self, socket: zmq.Socket[bytes]) -> None:
        """Handle the (un)subscriptions waiting on ``socket``, up to a turn's worth.

        Each is honoured right after it is read: ``XPUB_MANUAL`` applies a SUBSCRIBE to
        the peer whose message was read last.
        """
        for _ in range(_TAKE):
            if not holds_more(socket):
                return
            frame = socket.recv(_NOBLOCK, copy=False)
            message = frame.bytes
            if frame.more:  # an XSUB peer may send more than subscriptions: none is wanted
                while frame.more:
                    frame = socket.recv(_NOBLOCK, copy=False)
                self._drops.drop("subscription", "bad_frames", "a message of several frames")
                continue
            kind, topic = message[:1], message[1:]
            if kind == b"\x01":
                self._subscribe(socket, topic, key_name(frame))
            elif kind == b"\x00":
                socket.setsockopt(_UNSUBSCRIBE, self._meant(topic, key_name(frame)))
            else:
                detail = f"{message[:_SHOWN]!r} is neither a subscription nor an unsubscription"
                self._drops.drop("subscription", "bad_frames", detail)

    def _subscribe(self, socket: zmq.Socket[bytes], topic: bytes, key: str | None) -> None:
        honoured = self.honoured(topic, key)
        if honoured is not None:
            socket.setsockopt(_SUBSCRIBE, honoured)
            return
        owner = self._owners.owner_of_topic(topic)
        whose = "no key registered" if owner is None else f"key {owner}'s"
        detail = (
            f"key {key} subscribed to {topic[:_SHOWN]!r} on trades, which is {whose}: "
            "a keyed host hears only its own robots, $system and its $seqs"
        )
        self._drops.drop("subscription", "not_owner", detail)

    def honoured(self, topic: bytes, key: str | None) -> bytes | None:
        """The topic a subscription to ``topic`` from ``key`` gets, or None if it is refused."""
        if key is None:  # on a CURVE socket every peer has a name: a message without is odd
            return None
        if topic == _SYSTEM:
            return topic
        if topic == _SEQS:
            return owner_seqs_topic(key).encode()
        if topic and self._owners.owner_of_topic(topic) == key:
            return topic
        return None

    @staticmethod
    def _meant(topic: bytes, key: str | None) -> bytes:
        """The topic an unsubscription undoes: ``$seqs`` was honoured as the key's own."""
        if topic == _SEQS and key is not None:
            return owner_seqs_topic(key).encode()
        return topic
