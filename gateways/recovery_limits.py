"""How much the gateway's recovery endpoint will hold and send for its peers.

Recovery answers can be whole histories, asked for by any peer, some of which
never read: every amount the recovery thread (:mod:`.recovery_server`) holds
is bounded by one of these. A peer's replies wait in its ZeroMQ queue (at most
:data:`SEND_QUEUE` messages of at most ``page_reports`` reports each); a job
holds one page; requests wait in a queue of their own, bounded per peer and in
all. So the gateway's memory for recovery is about ``active_peers`` times two
pages, plus ``SEND_QUEUE`` pages per connected peer, plus ``queued_bytes``:
with the defaults and reports of a few hundred bytes, a few MB.
"""

from __future__ import annotations

from typing import Any, Final

import attrs

__all__ = ["CLOSE_LINGER_MS", "SEND_QUEUE", "RecoveryLimits"]

SEND_QUEUE: Final = 4
"""Reply messages queued for one peer (the recovery ROUTER's ``SNDHWM``). Set on the
socket before it binds (a connection takes the options of the moment it binds), so it
is fixed, not a setting."""

CLOSE_LINGER_MS: Final = 1000
"""How long the recovery ROUTER's connections outlive its close (its ``LINGER``), in ms.

Not for the pages queued (a peer that reads gets them meanwhile, one that does not
is no loss) but for libzmq 4.3.5: a reply is many frames, and a connection whose
peer stopped reading holds one half-written. Closed with ``LINGER`` 0, the
connection lets go of the rest of that reply at once; if the peer disconnects
before the connection has ended, libzmq goes to discard the rest, finds it gone
and aborts the process (``Resource temporarily unavailable
(src/session_base.cpp:233)``; libzmq issue 3442). A peer closing as the gateway
stops did that in one stop in two or three. With a linger the rest stays readable
for that long, and a peer that disconnects meanwhile is taken off cleanly; so a
gateway's ``context.term()`` waits at most this long for a peer that neither reads
nor disconnects. (The race is left only in the instant the linger ends.)"""


def _positive(instance: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if not value > 0:
        msg = f"RecoveryLimits.{attribute.name} must be positive, was {value!r}"
        raise ValueError(msg)


@attrs.frozen(kw_only=True)
class RecoveryLimits:
    """The recovery endpoint's bounds; ValueError names a field that is not positive.

    * ``page_reports``: reports per reply message, and per read of the store.
    * ``peer_requests``: requests one peer may have waiting or being answered;
      more are refused (``dropped_recovery_peer_busy``). A host asks one replay
      per robot when it starts, so this is above the robots a host runs.
    * ``queued_bytes``: the requests waiting, of all peers, in bytes (each
      counted at least 256); more are refused (``dropped_recovery_busy``).
    * ``active_peers``: peers answered at once; the others wait their turn.
    * ``stall_s``: a peer whose queue stays full this long is not reading: its
      replies left and its requests waiting are discarded
      (``dropped_recovery_not_reading``). Dropped once, it gets no such grace
      again until it takes a message.
    """

    page_reports: int = attrs.field(default=200, validator=_positive)
    peer_requests: int = attrs.field(default=1024, validator=_positive)
    queued_bytes: int = attrs.field(default=16 * 2**20, validator=_positive)
    active_peers: int = attrs.field(default=16, validator=_positive)
    stall_s: float = attrs.field(default=2.0, validator=_positive)
