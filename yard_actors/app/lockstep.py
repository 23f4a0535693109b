"""Market time: the feed publishes an event only when everything the last one caused is done.

At full speed the feed, the order gateway and the host's threads race: which quote
the gateway has seen when an order arrives, and which quotes a robot has handled
when its fill arrives, would depend on thread scheduling, and the same day would
trade differently on every run. In market time (``yard run`` at ``--speed max``, the
default; ``--clock wall`` turns it off) :class:`Lockstep` stands between the feed
and its publisher, and the gateway is paced (:mod:`gateways.paced`: it applies market
data as it comes, holds commands until released, and holds reports until a release
publishes them). :meth:`Lockstep.publish` sends one event, then returns only when

1. the gateway has applied it (if it subscribes to its topic), and the robots that
   route it have handled it (each robot's :class:`~yard_actors.host.backlog.Backlog`:
   told it, and taken all it was told; a robot counts an event taken once it has sent
   what the event made it send);
2. if the robots sent commands or the event caused reports (fills of resting orders):
   the gateway has taken every command the order link sent, and a release has applied
   them, in an order that does not depend on the threads, and published every report;
3. the robots those reports went to have handled them (each report's ``seq`` says how
   many each got; their ``events_in`` counts them, then a ``Ping`` behind them closes
   the wait), and whatever commands those caused have gone round 2-3 in turn.

The counters are read in this process without asking any actor, but for the pings
of step 3. Each counter has one writer thread and is a plain int: a read is one update
old at most, and a wait looks again until the counts agree. The gateway's counts are
waited for on its condition; the robots' are looked at again after letting the other
threads run (``time.sleep(0)``), then every millisecond if an event takes long.

What reaches no robot (a topic nobody routes) is not waited for. Not in step: a
control sent to a robot meanwhile lands between two events, wherever the run is,
so a run with controls is not repeatable. A wait that lasts :data:`STALL_S` (a robot
stuck in its handler) is logged and given up, and the run goes on, out of step
there. The gateway counts the commands it takes, and a keyed gateway refuses some
before counting: lockstep is for one process (``inproc://``), where none is keyed.
"""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Callable, Mapping
from typing import Final, Protocol

import pykka

from gateways.feed import Published
from gateways.order_gateway import OrderGateway
from gateways.paced import PacedInput
from yard_actors.errors import ConfigError
from yard_actors.host.host import Host
from yard_actors.host.hosted import Hosted
from yard_actors.host.robot_actor import Ping
from yard_actors.wire.events import Bar, Quote, SessionStatus, Tick
from yard_actors.wire.names import SESSION_TOPIC, SYSTEM_TOPIC

__all__ = ["CLOCKS", "STALL_S", "Lockstep", "add_pace_flags"]

log = logging.getLogger(__name__)

CLOCKS: Final = ("market", "wall")
"""``yard run --clock``: market time (lockstep, here) or wall time (the parts race)."""
STALL_S: Final = 30.0
"""How long one wait of :class:`Lockstep` may last before it is logged and given up."""
_SPINS = 2_000  # looks, each after letting the other threads run, before pausing between them
_PAUSE_S = 1e-3


class _Publisher(Protocol):
    def publish(self, event: Published) -> None: ...

    def idle(self, seconds: float) -> None: ...


class Lockstep:
    """A publisher for :func:`~gateways.feed.replay_events` that waits for quiet after each event.

    ``publisher``: where events go (a :class:`~gateways.publisher.QuotePublisher`, or a
    wrapper of one); ``gateway``: built with ``paced=True``; ``host``: the one host its
    subscribers run on. Use from one thread (the feed's); call :meth:`finish` after the
    last event, then :meth:`close`.
    """

    def __init__(
        self,
        publisher: _Publisher,
        gateway: OrderGateway,
        host: Host,
        *,
        stall_s: float = STALL_S,
    ) -> None:
        if gateway.paced is None:
            msg = "lockstep needs a paced order gateway (OrderGateway(paced=True))"
            raise ConfigError(msg)
        self._publisher = publisher
        self._gateway = gateway
        self._paced: PacedInput = gateway.paced
        self._host = host
        self._stall_s = stall_s
        self._pacer = gateway.pacer()
        self._market_sent = self._paced.market_taken  # to the gateway, by its subscriptions
        self._releases = self._paced.releases
        self._to_gateway: dict[str, bool] = {}
        self._routed: dict[tuple[str, int], int] = {}
        self.stalls = 0
        """Waits given up (each logged): 0 in a run that stayed in lockstep."""

    def publish(self, event: Published) -> None:
        """Publish ``event``; return when everything it caused is done (module docstring)."""
        topic = _topic(event)
        hosted = self._host.hosted
        told = sum(h.stats.backlog.told for h in hosted) + self._routes(topic, hosted)
        sent = self._host.commands_sent
        self._publisher.publish(event)
        if self._gateway_takes(topic):
            self._market_sent += 1
        market = self._market_sent
        self._reach(self._market_taken, market, "the gateway to take the event")
        self._until(lambda: _handled(hosted, told), "the robots to handle the event")
        if self._host.commands_sent == sent and not self._gateway.pending_reports:
            return  # nothing to release: no command sent, no fill the event caused
        self._settle(flush=False)

    def idle(self, seconds: float) -> None:
        self._publisher.idle(seconds)

    def finish(self) -> None:
        """After the last event: apply the commands still waiting for the market, and settle."""
        self._settle(flush=True)

    def close(self) -> None:
        self._pacer.close()

    def _settle(self, *, flush: bool) -> None:
        """Rounds of commands to the gateway and reports back, until a round brings none."""
        host, gateway = self._host, self._gateway
        while True:
            sent = host.commands_sent
            self._reach(self._commands_taken, sent, "the gateway to take the commands")
            published, seqs = gateway.reports_published, gateway.last_seqs
            hosted = host.hosted
            handled = [h.stats.events_in for h in hosted]
            self._releases += 1
            releases = self._releases
            self._pacer.flush() if flush else self._pacer.release()
            self._reach(self._releases_done, releases, "the gateway to apply them")
            if gateway.reports_published == published:
                return  # no report: nothing reached a robot, nothing more comes
            self._reports_handled(hosted, handled, seqs)
            if host.commands_sent == sent:
                return

    def _reports_handled(
        self, hosted: tuple[Hosted, ...], handled: list[int], seqs: Mapping[str, int]
    ) -> None:
        """Wait until the robots have handled the reports of the last release.

        Each robot's reports are numbered (``seq``): it got as many as its last seq moved,
        and its ``events_in`` counts each (timers it fires meanwhile too, hence at least).
        The count moves before the robot sends what the report made it send, so a
        :class:`Ping` to each of them, behind the report in its mailbox, closes the wait.
        """
        now = self._gateway.last_seqs
        reached = [
            (h, count + now[h.name] - seqs.get(h.name, 0))
            for h, count in zip(hosted, handled, strict=True)
            if now.get(h.name, 0) != seqs.get(h.name, 0)
        ]
        if not reached:  # reports without a seq (refused while the store is down): ask all
            try:
                self._host.wait_idle(timeout=self._stall_s)
            except pykka.Timeout:
                self._stalled("the robots to handle the reports")
            return
        self._until(
            lambda: all(h.stats.events_in >= n for h, n in reached), "the robots to get the reports"
        )
        try:
            pykka.get_all(
                [h.ref.ask(Ping(), block=False) for h, _ in reached], timeout=self._stall_s
            )
        except pykka.ActorDeadError:
            pass  # a robot whose actor stopped handles nothing more: nothing to wait for
        except pykka.Timeout:
            self._stalled("the robots to handle the reports")

    def _market_taken(self) -> int:
        return self._paced.market_taken

    def _commands_taken(self) -> int:
        return self._paced.commands_taken

    def _releases_done(self) -> int:
        return self._paced.releases

    def _reach(self, count: Callable[[], int], target: int, what: str) -> None:
        """Wait for a count of the gateway's, which it notifies (no looking again and again)."""
        if count() >= target:
            return
        changed = self._paced.changed
        with changed:
            if changed.wait_for(lambda: count() >= target, self._stall_s):
                return
        self._stalled(what)

    def _until(self, done: Callable[[], bool], what: str) -> None:
        if done():
            return
        deadline = time.monotonic() + self._stall_s
        spins = 0
        while not done():
            spins += 1
            if spins < _SPINS:
                time.sleep(0)  # lets the other threads run, and looks again at once
                continue
            time.sleep(_PAUSE_S)
            if time.monotonic() > deadline:
                self._stalled(what)
                return

    def _stalled(self, what: str) -> None:
        self.stalls += 1
        log.error(
            "lockstep: waited %.0f s for %s; the run goes on out of step (%d so far)",
            *(self._stall_s, what, self.stalls),
        )

    def _gateway_takes(self, topic: str) -> bool:
        takes = self._to_gateway.get(topic)
        if takes is None:  # ZeroMQ subscriptions are prefixes
            takes = any(topic.startswith(t) for t in self._gateway.data_topics)
            self._to_gateway[topic] = takes
        return takes

    def _routes(self, topic: str, hosted: tuple[Hosted, ...]) -> int:
        """How many robots the data intake tells an event of ``topic`` (robot_routes.py)."""
        key = (topic, len(hosted))
        routed = self._routed.get(key)
        if routed is None:
            if topic in (SESSION_TOPIC, SYSTEM_TOPIC):  # every robot routes the statuses
                routed = len(hosted)
            else:
                routed = sum(topic in h.symbols for h in hosted)
            self._routed[key] = routed
        return routed


def add_pace_flags(parser: argparse.ArgumentParser) -> None:
    """``yard run --speed`` and ``--clock``: how fast the feed goes, and on which clock."""
    parser.add_argument("--speed", help="'max' (default), 1 for real time, 10 for ten times")
    parser.add_argument(
        "--clock",
        choices=CLOCKS,
        help="market: each event waits for all the last one caused, the same result every "
        "run (the default at --speed max); wall: the parts race (the default at real-time "
        "speeds)",
    )


def _handled(hosted: tuple[Hosted, ...], told: int) -> bool:
    """Every robot has taken all it was told, and all told ``told`` events at least."""
    total = 0
    for h in hosted:
        backlog = h.stats.backlog
        if backlog.taken != backlog.told:
            return False
        total += backlog.told
    return total >= told


def _topic(event: Published) -> str:
    if isinstance(event, Quote | Tick | Bar):
        return event.symbol
    return SESSION_TOPIC if isinstance(event, SessionStatus) else SYSTEM_TOPIC
