"""Who may talk to a yard component over the network: CURVE keys, checked at every socket.

Keys (:mod:`.keys`), the settings of one component (:mod:`.security`), the only way
yard binds and connects an endpoint (:mod:`.sockets`), and the ZAP handler that admits
or refuses each peer (:mod:`.authenticator`, counting refusals in :mod:`.refusal_log`),
and the key a message came with (:mod:`.peers`).
Beside the wire vocabulary: no Pykka, no host, so the feed and the gateway use it too.
"""

from __future__ import annotations

from yard_actors.net.authenticator import refusals
from yard_actors.net.keys import KeyPair, load_key_pair, load_public_key, make_keys
from yard_actors.net.peers import is_keyed, key_name, receive_keyed
from yard_actors.net.security import (
    DEFAULT_MAX_MESSAGE_SIZE,
    FEED,
    GATEWAY,
    LOCAL_ONLY,
    Security,
    security_from_config,
)
from yard_actors.net.sockets import bind, connect, speaks_curve

__all__ = [
    "DEFAULT_MAX_MESSAGE_SIZE",
    "FEED",
    "GATEWAY",
    "LOCAL_ONLY",
    "KeyPair",
    "Security",
    "bind",
    "connect",
    "is_keyed",
    "key_name",
    "load_key_pair",
    "load_public_key",
    "make_keys",
    "receive_keyed",
    "refusals",
    "security_from_config",
    "speaks_curve",
]
