"""Peers an endpoint refused: counted by reason, logged once per peer every few seconds.

A peer with a wrong key reconnects every 100 ms, and a scanner may try thousands of
times: a line per attempt would flood the log. So the first refusal of each peer (its
address, or the endpoint where ZeroMQ does not say who) and reason is logged at once;
what follows within :data:`LOG_EVERY_S` is counted and logged as one line when the period
ends, with the count. At most :data:`MAX_PEERS` peers are tracked apart; beyond that they
share one line. The counts by reason are kept for good (:meth:`Refusals.by_reason`).

Written by the authenticator's thread; :meth:`Refusals.by_reason` may be called from any.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from typing import Final

import attrs

__all__ = ["LOG_EVERY_S", "MAX_PEERS", "REASONS", "Refusals"]

logger = logging.getLogger(__name__)

LOG_EVERY_S: Final = 10.0
MAX_PEERS: Final = 1000

REASONS: Final = {
    "no_keys": "a peer without CURVE keys (plain ZeroMQ)",
    "wrong_server_key": "a peer that does not hold this endpoint's public key",
    "unknown_key": "a peer whose key is not among the trusted public keys",
    "bad_handshake": "a peer that broke off the handshake (often one without keys, quicker "
    "to hang up than this endpoint to notice)",
}
"""Each reason a peer is refused for, and how the log says it."""

_OTHERS: Final = "other peers"


@attrs.define
class _Period:
    ends: float
    more: int = 0  # refusals since the line that opened the period


class Refusals:
    """The refusals of one ZeroMQ context's endpoints (one :class:`Authenticator`)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._at: dict[str, Counter[str]] = {}  # by endpoint, then reason
        self._periods: dict[tuple[str, str, str], _Period] = {}

    def refuse(self, reason: str, where: str, peer: str, detail: str, now: float) -> None:
        """Count a refusal of ``peer`` at ``where``; log it unless its period already did."""
        with self._lock:
            self._counts[reason] += 1
            self._at.setdefault(where, Counter())[reason] += 1
        if (where, reason, peer) not in self._periods and len(self._periods) >= MAX_PEERS:
            peer = _OTHERS
        key = (where, reason, peer)
        period = self._periods.get(key)
        if period is not None:
            period.more += 1
            return
        self._periods[key] = _Period(ends=now + LOG_EVERY_S)
        logger.warning(
            "%s refused %s (%s): %s%s",
            where,
            peer or "a peer",
            reason,
            REASONS.get(reason, reason),
            f"; {detail}" if detail else "",
        )

    def flush(self, now: float) -> None:
        """Log the periods that ended with refusals in them; forget the quiet ones."""
        for key, period in list(self._periods.items()):
            if now < period.ends:
                continue
            if period.more == 0:
                del self._periods[key]
                continue
            where, reason, peer = key
            logger.warning(
                "%s refused %s (%s) %d more times in the last %.0f s",
                where,
                peer or "a peer",
                reason,
                period.more,
                LOG_EVERY_S,
            )
            self._periods[key] = _Period(ends=now + LOG_EVERY_S)

    def by_reason(self, where: str | None = None) -> dict[str, int]:
        """A copy of the counts so far, by reason: of every endpoint, or of ``where``'s."""
        with self._lock:
            return dict(self._counts if where is None else self._at.get(where, Counter()))
