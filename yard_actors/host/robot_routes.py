"""One robot's routes on the host's two intakes: its symbols and its reports.

Apart from :mod:`.host` so the list of what a robot subscribes to (its symbols, the
reserved ``$session`` and ``$system`` topics, its own name on trades) is one
function, the same for a route and an unroute. The asks go out together and are awaited
together, with the host's ask timeout.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pykka

from yard_actors.host.intake_kinds import IntakeKind
from yard_actors.host.intake_messages import Route, Unroute
from yard_actors.host.restore import Restored
from yard_actors.host.trades_intake import TradesRoute
from yard_actors.wire.names import SESSION_TOPIC, SYSTEM_TOPIC

__all__ = ["set_routes"]


def set_routes(
    intakes: Mapping[IntakeKind, pykka.ActorRef[Any]],
    name: str,
    symbols: Sequence[str],
    ref: pykka.ActorRef[Any],
    how: type[Route | Unroute],
    *,
    restored: Restored | None,
    timeout: float,
) -> None:
    """Route (or unroute) robot ``name``'s topics to ``ref``; a route carries its restore."""
    trades = (
        how(name, ref)
        if restored is None
        else TradesRoute(name, ref, restored.seen, restored.unanswered)
    )
    asks = [intakes[IntakeKind.DATA].ask(how(s, ref), block=False) for s in symbols]
    asks += [
        intakes[IntakeKind.DATA].ask(how(SESSION_TOPIC, ref), block=False),
        intakes[IntakeKind.DATA].ask(how(SYSTEM_TOPIC, ref), block=False),
        intakes[IntakeKind.TRADES].ask(trades, block=False),
        intakes[IntakeKind.TRADES].ask(how(SYSTEM_TOPIC, ref), block=False),
    ]
    pykka.get_all(asks, timeout=timeout)
