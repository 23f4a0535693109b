"""Orders and cancels nobody answered: ask the gateway about the orders, send the cancels again.

The trades intake's receive thread decides when (idle moments, heartbeats, a restored
robot, the order link's connection coming back; :mod:`.trades_intake`); this module does
the asking (``resolve`` on the recovery DEALER, ``docs/wire.md`` 4a) and the sending again
(on the order link), with one log line per call however many robots, so a gateway away
for long does not flood the log. Everything here runs on that receive thread, the only one
that touches the recovery socket.
"""

from __future__ import annotations

import logging
import time

import zmq

from yard_actors.host.in_flight import InFlight, UnansweredCancel, by_robot
from yard_actors.host.order_link import OrderLink
from yard_actors.wire.names import MAX_RESOLVE_IDS, RECOVERY_RESOLVE

__all__ = ["Unanswered"]

logger = logging.getLogger(__name__)


class Unanswered:
    """Chase what ``in_flight`` holds unanswered; without ``recovery`` or ``order_link``, log.

    ``recovery``: the gateway's recovery DEALER, owned by the receive thread.
    """

    def __init__(
        self,
        recovery: zmq.Socket[bytes] | None,
        order_link: OrderLink | None,
        in_flight: InFlight | None,
    ) -> None:
        self._recovery = recovery
        self._order_link = order_link
        self._in_flight = in_flight
        self._link_lost_at: float | None = None  # when the order link's connection dropped

    def resolve_overdue(self) -> None:
        """Ask about the orders, and send again the cancels, unanswered for ``reply_timeout``."""
        in_flight = self._in_flight
        if in_flight is not None:
            why = f"unanswered for {in_flight.reply_timeout:g} s"
            overdue = in_flight.overdue()
            if overdue:
                self.resolve(by_robot(overdue), why)
            cancels = in_flight.overdue_cancels()
            if cancels:
                self.send_again(cancels, why)

    def link_event(self, event: int) -> None:
        """The order link's socket monitor reported ``event`` (a ``zmq.EVENT_*``).

        Once its connection comes back after a drop, what was sent before the drop is
        asked about (orders) or sent again (cancels).
        """
        if event == zmq.EVENT_DISCONNECTED and self._link_lost_at is None:
            self._link_lost_at = time.monotonic()
            logger.warning("trades intake: the order link lost its gateway connection")
        elif event == zmq.EVENT_CONNECTED and self._link_lost_at is not None:
            lost_at, self._link_lost_at = self._link_lost_at, None
            if self._in_flight is not None:
                why = "sent before the gateway connection dropped"
                self.resolve(by_robot(self._in_flight.sent_before(lost_at)), why)
                cancels = self._in_flight.cancels_sent_before(lost_at)
                if cancels:
                    self.send_again(cancels, why)

    def resolve(self, orders: dict[str, list[str]], why: str) -> None:
        """Ask the gateway about ``orders`` (client order ids by robot); it answers on trades.

        One log line per call, however many robots: a gateway away for long must not
        flood the log every ``reply_timeout``.
        """
        if not orders:
            return
        count = sum(len(ids) for ids in orders.values())
        shown = ", ".join(ids[0] for ids in list(orders.values())[:5])
        if self._recovery is None:
            logger.warning(
                "trades intake: %d orders of %d robots %s (%s, ...); no recovery endpoint to "
                "ask the gateway about them",
                count,
                len(orders),
                why,
                shown,
            )
            return
        unsent = 0
        for robot, client_order_ids in orders.items():
            ids = [c.encode() for c in client_order_ids]
            try:
                for start in range(0, len(ids), MAX_RESOLVE_IDS):
                    chunk = ids[start : start + MAX_RESOLVE_IDS]
                    self._recovery.send_multipart(
                        [RECOVERY_RESOLVE, robot.encode(), *chunk], zmq.NOBLOCK
                    )
            except zmq.Again:  # the gateway is away and the queue full: asked again later
                unsent += len(ids)
        logger.warning(
            "trades intake: asked the gateway about %d orders of %d robots %s (%s, ...)%s",
            count - unsent,
            len(orders),
            why,
            shown,
            f"; {unsent} more wait for the recovery queue to drain" if unsent else "",
        )

    def send_again(self, cancels: list[UnansweredCancel], why: str) -> None:
        """Send unanswered cancels again on the order link, as they were first sent.

        One log line per call, as for :meth:`resolve`. A cancel the link cannot take now
        (its queue full) is sent again at the next ``reply_timeout``.
        """
        shown = ", ".join(cancel.client_order_id for cancel in cancels[:5])
        if self._order_link is None:
            logger.warning(
                "trades intake: %d cancels %s (%s, ...); no order link to send them again",
                len(cancels),
                why,
                shown,
            )
            return
        unsent = sum(not self._order_link.resend(c.robot, c.payload) for c in cancels)
        logger.warning(
            "trades intake: sent %d cancels again, %s (%s, ...)%s",
            len(cancels) - unsent,
            why,
            shown,
            f"; {unsent} more wait for the order link's queue to drain" if unsent else "",
        )
