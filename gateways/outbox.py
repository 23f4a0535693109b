"""What the order gateway sends on ``trades``, and when: its outbox.

A robot may only see a report the store cannot lose, so the gateway's handlers
do not send what they store: they put each record the store took in
:attr:`Outbox.written`, and the gateway's loop has the outbox send them once
the transaction that wrote them commits (or forget them, when it failed: the
outage writes them again, :mod:`.outage`). In market time (:mod:`.paced`) they
wait for the pacer's release. Beside the reports it sends the refusals the
store could not take (unnumbered), each robot's last seq at every heartbeat
(``$seqs``, or each key's own robots' on a keyed socket) and the gateway's
status (``$system``), repeated for late joiners.

Apart from :mod:`.gateway_loop` because sending is one job with its own state
(what is held, what was published, the last status), which the gateway's
health reads from any thread. Every method runs on the gateway's thread (or,
before it starts, on the thread that builds the gateway, for its restore).
"""

from __future__ import annotations

from collections import Counter
from typing import Final

import orjson
import zmq

from gateways.owners import Owners
from gateways.recording import Rewritten
from gateways.store.base import ReportRecord
from yard_actors.wire.codec import encode
from yard_actors.wire.events import NewOrder, OrderRejected, SystemStatus
from yard_actors.wire.frames import send
from yard_actors.wire.names import SEQS_TOPIC, SYSTEM_TOPIC

__all__ = ["COMPONENT", "Outbox"]

COMPONENT: Final = "order-gateway"
"""``SystemStatus.component`` of the gateway's own status messages."""

_STATUS_EVERY_BEATS: Final = 10  # heartbeats between repeats of the gateway's status (5 s)


class Outbox:
    """Sends on ``trades`` what the store took, the refusals it could not, seqs and status.

    ``last_seqs``: each robot's last report seq published, updated as reports go
    out; the gateway's, shared (never rebound). ``owners`` and ``keyed``: a keyed
    trades socket hears each key's robots' seqs apart. ``holding``: market time,
    where reports wait for a release (:attr:`holding` is False during one).
    :attr:`published`, :attr:`pending` and ``last_seqs`` may be read from any thread.
    """

    def __init__(
        self,
        trades: zmq.Socket[bytes],
        *,
        last_seqs: dict[str, int],
        stats: Counter[str],
        owners: Owners,
        keyed: bool,
        holding: bool,
    ) -> None:
        self._trades = trades
        self._last_seqs = last_seqs
        self._stats = stats
        self._owners = owners
        self._keyed = keyed
        self.holding = holding
        # Stored, not yet sent: the gateway's handlers append to this very list (the
        # store's records, straight from Recorder.record_all), so it is never rebound.
        self.written: list[ReportRecord] = []
        self._unsent: list[ReportRecord] = []  # market time: stored, held for a release
        self._unnumbered: list[OrderRejected] = []  # refusals the store could not take
        self.published = 0  # reports sent, for a pacer to see that some were
        self._status: bytes | None = None  # the last SystemStatus announced, repeated
        self._beats = 0

    @property
    def pending(self) -> int:
        """Reports not yet sent: held for a release, or waiting for their batch's commit."""
        return len(self._unsent) + len(self.written) + len(self._unnumbered)

    def send_written(self) -> None:
        """Send what the store took (market time: hold it until a release), then the refusals.

        Call it once the batch that wrote :attr:`written` has committed, or after
        :meth:`forget_written` when it failed.
        """
        outgoing = self.written
        if self.holding:  # market time: what the store took waits for the pacer's release
            self._unsent += outgoing
            outgoing.clear()
            return
        if self._unsent:  # a release: what was held goes first
            self._unsent += outgoing
            outgoing.clear()
            outgoing, self._unsent = self._unsent, []
        trades, last_seqs = self._trades, self._last_seqs
        for record in outgoing:
            last_seqs[record.robot] = record.seq
            send(trades, record.robot.encode(), record.payload or encode(record.report))
        sent = len(outgoing)
        outgoing.clear()
        self._stats["reports"] += sent
        self.published += sent
        if self._unnumbered:
            self._send_unnumbered()

    def forget_written(self) -> None:
        """Drop what the failed batch wrote: never committed (an outage writes it again)."""
        self.written.clear()

    def refuse(self, order: NewOrder, reason: str) -> None:
        """Tell ``order``'s robot it is refused, with the next send: unnumbered, unstored."""
        self._unnumbered.append(
            OrderRejected(
                ts=order.ts, client_order_id=order.client_order_id, robot=order.robot, reason=reason
            )
        )

    def take_up(self, rewritten: Rewritten) -> None:
        """Send what an outage's writes stored; take the store's seqs (hosts ask for the rest)."""
        self.written += rewritten.records
        self.send_written()
        last_seqs = self._last_seqs
        for robot, seq in rewritten.last_seqs.items():
            last_seqs[robot] = max(seq, last_seqs.get(robot, 0))

    def heartbeat(self) -> None:
        """Send each robot's last seq; every few beats, the last status again."""
        if self._keyed:  # each key hears its own robots' seqs
            for topic, seqs in self._owners.heartbeats(self._last_seqs):
                send(self._trades, topic, orjson.dumps(seqs))
        elif self._last_seqs:
            send(self._trades, SEQS_TOPIC.encode(), orjson.dumps(self._last_seqs))
        self._beats += 1
        if self._beats % _STATUS_EVERY_BEATS == 0:
            self.repeat_status()

    def announce(self, status: str, detail: str, ts: int) -> None:
        """Send the gateway's ``status`` (``ok``, ``degraded``), and repeat it from now on.

        ``ts``: market time once the gateway has one, as a resolve's: robots take an
        event's ts as their clock, and the wall clock would move theirs ahead of the
        market's (past every risk window).
        """
        event = SystemStatus(ts=ts, component=COMPONENT, status=status, detail=detail)
        self._status = encode(event)
        self.repeat_status()

    def repeat_status(self) -> None:
        """Send the last status announced again, as the same bytes.

        A late joiner learns it; a host that has it drops the repeat (docs/wire.md 4b).
        """
        if self._status is not None:
            send(self._trades, SYSTEM_TOPIC.encode(), self._status)

    def _send_unnumbered(self) -> None:
        unnumbered, self._unnumbered = self._unnumbered, []
        for report in unnumbered:
            send(self._trades, report.robot.encode(), encode(report))
        self.published += len(unnumbered)
