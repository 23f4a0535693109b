"""What a host runs besides its robots, opened in order and closed in order.

The ZeroMQ context (unless the caller gives one), the journal and its
:class:`~.restore.Restorer`, the order link, the trades and data intakes and the
control server. Separate from :mod:`.host` because it is wiring, done once as a host
starts and once as it stops, while the :class:`~.host.Host` is the robots' life (add,
route, restart, remove); and because here the order is the point. Opening: the link
before the trades intake, which watches the link's events; the control server last,
once there is a host to serve. Closing (:meth:`HostParts.close`): the control server
first, so no call starts while the rest stops; the intakes before the robots, so no
event reaches a stopped robot; the robots before the link, so their last commands go
out; the journal after the robots, so their last records are written; the context last.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from typing import Any

import pykka
import zmq

from yard_actors.host.backlog import Backlog, MailboxLimits
from yard_actors.host.control_server import ControlServer
from yard_actors.host.in_flight import InFlight
from yard_actors.host.intake import IntakeActor, IntakeKind
from yard_actors.host.order_link import OrderLink
from yard_actors.host.registrations import Registrations
from yard_actors.host.restore import Restorer
from yard_actors.host.runtimes import RobotRuntime
from yard_actors.host.stopping import shed_market_data, stop_actors, stop_robots
from yard_actors.host.stores import fill_source_for, without_credentials
from yard_actors.host.trades_intake import TradesIntake
from yard_actors.journal import Journal, JournalConfig
from yard_actors.net import Security

__all__ = ["HostParts"]

logger = logging.getLogger(__name__)

_RUNTIME_GRACE_S = 1.0  # for the pool's workers to end once the robots have stopped


class HostParts:
    """A host's context, journal, order link, intakes and control server (each None, or
    absent from :attr:`intakes`, until opened). For the host's controlling thread."""

    def __init__(self, context: zmq.Context[zmq.Socket[bytes]] | None) -> None:
        self.own_context = context is None
        self.context: zmq.Context[zmq.Socket[bytes]] = (
            context if context is not None else zmq.Context()
        )
        self.journal: Journal | None = None
        self.restorer: Restorer | None = None
        self.link: OrderLink | None = None
        self.intakes: dict[IntakeKind, pykka.ActorRef[Any]] = {}
        self.control: ControlServer | None = None

    def open(
        self,
        *,
        data: str,
        orders: str,
        trades: str,
        recovery: str | None,
        store: str | None,
        journal_dir: str | os.PathLike[str] | None,
        journal: JournalConfig | None,
        in_flight: InFlight,
        security: Security,
        registrations: Registrations | None,
        mailbox: MailboxLimits | None,
        refuse_divergence: bool,
    ) -> None:
        """Open the journal (unless ``journal_dir`` is None), the order link and the intakes.

        Raises what a part raises; :meth:`close` then releases those already open.
        """
        if journal_dir is not None:
            self.journal = Journal(journal_dir, journal)
            self.restorer = Restorer(self.journal, refuse_divergence=refuse_divergence)
        self.link = OrderLink(self.context, orders, in_flight=in_flight, security=security)
        self.intakes[IntakeKind.TRADES] = TradesIntake.start(
            trades,
            context=self.context,
            journal=self.journal,
            recovery=recovery,
            fills=fill_source_for(store),
            fills_from=without_credentials(store or ""),
            in_flight=in_flight,
            link_events=self.link.events_url,
            order_link=self.link,
            security=security,
            registrations=registrations,
        )
        self.intakes[IntakeKind.DATA] = IntakeActor.start(
            IntakeKind.DATA,
            data,
            context=self.context,
            journal=self.journal,
            security=security,
            limits=mailbox,
        )

    def serve_control(self, host: Any, url: str, security: Security) -> str:
        """Bind the control endpoint for ``host``; return its URL (a ``*`` port: the one bound)."""
        self.control = ControlServer(host, url, context=self.context, security=security)
        return self.control.url

    def close(
        self,
        robots: Sequence[tuple[str, pykka.ActorRef[Any], Backlog]],
        runtime: RobotRuntime,
        *,
        timeout: float,
        control_timeout: float,
    ) -> None:
        """Stop the control server, the intakes and ``robots`` (name, ref, backlog), then
        ``runtime``'s workers; close link, journal and context. Within ``timeout`` seconds
        where a part can be hurried (:mod:`.stopping`); ``control_timeout`` for the
        control server's call in progress."""
        deadline = time.monotonic() + timeout
        if self.control is not None:
            self.control.stop(control_timeout)
        shed_market_data([backlog for _, _, backlog in robots])  # while the intakes stop
        if stop_actors(list(self.intakes.values()), deadline):
            logger.error("an intake did not stop within %s s; the host closes without it", timeout)
        self.intakes.clear()
        stop_robots(robots, deadline)
        runtime.shutdown(max(_RUNTIME_GRACE_S, deadline - time.monotonic()))
        if self.link is not None:
            self.link.close()
        if self.journal is not None:
            self.journal.close()
        if self.own_context:
            self.context.term()
