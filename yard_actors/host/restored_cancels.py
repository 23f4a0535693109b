"""A restored robot's unanswered cancels, sent again before anything new it sends.

Apart from :mod:`.host` because it is one step of a restore with its own reasoning: a host
killed with a cancel in flight cannot know whether it arrived, and a cancel is idempotent
(``docs/wire.md`` 4a), so every cancel the restored robot awaits an answer to goes out
again, and those its restore journaled but never sent go out for the first time.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import cast

from yard_actors.errors import GatewayError
from yard_actors.host.order_link import OrderLink
from yard_actors.robot.robot import Robot
from yard_actors.wire.codec import decode, encode
from yard_actors.wire.events import CancelOrder

__all__ = ["send_restored_cancels"]

logger = logging.getLogger(__name__)


def send_restored_cancels(link: OrderLink, robot: Robot, ahead: Sequence[bytes]) -> None:
    """Send the restored robot's unanswered cancels, before anything new; track them.

    ``ahead``: the cancels its restore journaled past the journal's last, never sent.
    Every other cancel it awaits an answer to is sent again: a host killed with it in
    flight cannot know whether it arrived. A cancel is idempotent (``docs/wire.md``
    4a); one that arrived gets a second answer, ``cancelled=False``.
    """
    name = robot.name
    never_sent = {cast(CancelOrder, decode(c)).client_order_id: c for c in ahead}
    cancels: list[tuple[str, int | None]] = [
        (o.client_order_id, o.remaining) for o in robot.open_orders() if o.cancel_requested
    ]
    known = {coid for coid, _ in cancels}
    cancels += [(coid, None) for coid in never_sent if coid not in known]
    for coid, remaining in cancels:
        payload = never_sent.get(coid) or encode(
            CancelOrder(ts=robot.now, client_order_id=coid, robot=name)
        )
        try:
            link.send_cancel(name, payload, coid, remaining)
        except GatewayError as exc:  # in flight: sent again after reply_timeout
            logger.error("robot %s: a restored cancel was not sent: %s", name, exc)
    if cancels:  # a cancel may have died with the host that sent it: send it again
        logger.warning(
            "robot %s: sent the %d cancels it was restored awaiting an answer to (%d "
            "never sent before)",
            *(name, len(cancels), len(never_sent)),
        )
