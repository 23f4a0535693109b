"""Quotes conflated for a robot that is far behind, before they are journaled.

The data intake tells every robot every event, and a robot slower than the feed
falls behind without bound: its mailbox, in memory, grows for as long as the feed
runs. So the intake watches each robot's :class:`~yard_actors.host.backlog.Backlog`
(events told and not yet taken) and, once a robot has ``conflate_at`` events
waiting, keeps back its quotes: the latest quote of each symbol is *held* for it,
a newer one replacing an older one (counted as ``conflated``), and the held quotes
go to the robot once it is back under ``conflate_at``. A held quote reaches the
robot after the ticks that arrived while it was held: it is the latest state of
the book at that moment, not a step in a sequence. Ticks and bars, statuses, and
anything that is not market data (fills, replies, controls, timers) are never
conflated: each tick and each bar is a step of its own (a bar is a period's trading,
not a state that the next bar replaces).

A robot so far behind that even ticks and bars would overfill it (``overrun_at``
events waiting) is *overrun*: a ``halt`` control goes into its stream at that point,
and its ticks and bars are withheld (counted as ``withheld``) until it is back under
``conflate_at``. The robot sees every tick and bar up to the halt, which it handles
before anything is missing: it never trades on a view with a hole. An operator
resumes it.

Why here, before the journal: the journal records what each robot received (a
fanned event names the robots it went to), and ``yard replay`` feeds a robot
exactly that. A quote kept back from a robot is journaled without it in the
event's group; a held quote is journaled again, for that robot alone, when it is
released; a halt is journaled as an event for that robot. So conflation changes
what the journal says the robot received, never the match between the two.

Runs on the data intake's receive thread only (the intake's actor thread adds and
removes robots through :meth:`Conflation.follow` and :meth:`Conflation.forget`,
which swap whole dicts).
"""

from __future__ import annotations

import logging
from typing import Any, TypeAlias

import pykka

from yard_actors.host.backlog import Backlog, MailboxLimits
from yard_actors.host.robot_actor import robot_name
from yard_actors.host.routing import Fanout, RoutingTable
from yard_actors.journal import Group
from yard_actors.wire.codec import encode
from yard_actors.wire.events import Bar, Control, ControlAction, Quote, Tick
from yard_actors.wire.log_limit import should_log

__all__ = ["Admitted", "Conflation"]

logger = logging.getLogger(__name__)

#: What the intake admitted from its socket: payload, event, where it goes.
Admitted: TypeAlias = tuple[bytes, Any, Fanout]

_Ref: TypeAlias = pykka.ActorRef[Any]
_MINUS_CACHE = 1024  # fanouts without some robots, kept while robots stay behind


class Conflation:
    """Which robots are behind, the quotes held for them, and the burst rewritten for them."""

    def __init__(self, limits: MailboxLimits, where: str) -> None:
        self.limits = limits
        self.where = where
        self.backlogs: dict[_Ref, Backlog] = {}  # every robot routed; swapped whole
        self.behind: dict[_Ref, Backlog] = {}  # robots at conflate_at or more, as last told
        self._held: dict[_Ref, dict[str, tuple[bytes, Quote]]] = {}
        self._minus: dict[tuple[Fanout, tuple[_Ref, ...]], Fanout | None] = {}

    # --- the actor's thread ------------------------------------------------------------

    def follow(self, robot: _Ref, backlog: Backlog) -> None:
        """Watch ``robot``'s backlog from now on."""
        self.backlogs = {**self.backlogs, robot: backlog}

    def forget(self, robot: _Ref) -> None:
        """Stop watching ``robot`` (unrouted); what is held for it is dropped when seen."""
        if robot in self.backlogs:
            backlogs = dict(self.backlogs)
            del backlogs[robot]
            self.backlogs = backlogs

    # --- the receive thread ------------------------------------------------------------

    @property
    def holding(self) -> bool:
        """Quotes are held for some robot: the intake must look again soon, even if idle."""
        return bool(self._held)

    def sift(self, admitted: list[Admitted], routes: RoutingTable) -> list[Admitted]:
        """The burst as it is to be journaled and told: held quotes released, others held.

        ``admitted`` is in arrival order; the result puts the quotes released for robots
        that caught up first (they arrived earlier), then the burst, in which a robot
        that is behind is left out of each quote's fanout (the quote is held for it)
        and, when overrun, out of each tick's and bar's (withheld, after a halt put in its
        place).
        """
        if self.behind:
            self._catch_up()
        released = self._release(routes) if self._held else []
        if not self.behind:
            return released + admitted if released else admitted
        lagging: dict[Fanout, tuple[_Ref, ...]] = {}
        sifted = released
        for item in admitted:
            fanout = item[2]
            late = lagging.get(fanout)
            if late is None:
                late = lagging[fanout] = tuple(r for r in fanout.robots if r in self.behind)
            if not late:
                sifted.append(item)
            elif type(item[1]) is Quote:
                self._hold(item, late, sifted)
            elif type(item[1]) is Tick or type(item[1]) is Bar:
                self._tick(item, late, sifted)
            else:
                sifted.append(item)  # a status: rare, and never conflated
        return sifted

    def settle(self, routes: RoutingTable) -> list[Admitted]:
        """Every held quote, released now whatever the backlogs (``Host.wait_idle``)."""
        self.behind.clear()
        return self._release(routes)

    def drop_held(self) -> int:
        """Forget the quotes still held, counted as conflated, and say so: the intake stops.

        On the intake's actor thread, once its receive thread has ended. Returns how many.
        """
        held = sum(len(quotes) for quotes in self._held.values())
        for robot, quotes in self._held.items():
            backlog = self.backlogs.get(robot)
            if backlog is not None:
                backlog.conflated += len(quotes)
        self._held = {}
        if held:
            logger.warning(
                "%s: stopped with %d quotes held for robots that were behind; they were "
                "dropped, not journaled (counted as conflated)",
                self.where,
                held,
            )
        return held

    def _catch_up(self) -> None:
        conflate_at, following = self.limits.conflate_at, self.backlogs
        for robot, backlog in list(self.behind.items()):
            if robot not in following:  # removed from the host: it will never catch up
                del self.behind[robot]
            elif backlog.told - backlog.taken < conflate_at:
                del self.behind[robot]
                if backlog.overrun:
                    backlog.overrun = False
                    logger.warning(
                        "%s: robot %s has caught up (%d ticks withheld so far); it stays "
                        "halted until resumed",
                        self.where,
                        robot_name(robot),
                        backlog.withheld,
                    )

    def _release(self, routes: RoutingTable) -> list[Admitted]:
        released: list[Admitted] = []
        for robot in [r for r in self._held if r not in self.behind]:
            quotes = self._held.pop(robot)
            backlog = self.backlogs.get(robot)
            name = robot_name(robot)
            for symbol, (payload, quote) in quotes.items():
                now = routes.fanout(symbol.encode())
                if backlog is None or now is None or robot not in now.robots:
                    continue  # unrouted meanwhile: it wants no more of this symbol
                released.append((payload, quote, _alone(robot, symbol, name)))
        return released

    def _hold(self, item: Admitted, late: tuple[_Ref, ...], sifted: list[Admitted]) -> None:
        payload, quote, fanout = item
        symbol = quote.symbol
        for robot in late:
            quotes = self._held.setdefault(robot, {})
            if quotes.pop(symbol, None) is not None:
                self.behind[robot].conflated += 1
            quotes[symbol] = (payload, quote)  # at the end: the held quotes in arrival order
        rest = self._without(fanout, late)
        if rest is not None:
            sifted.append((payload, quote, rest))

    def _tick(self, item: Admitted, late: tuple[_Ref, ...], sifted: list[Admitted]) -> None:
        payload, tick, fanout = item
        overrun_at = self.limits.overrun_at
        out = tuple(r for r in late if self.behind[r].told - self.behind[r].taken >= overrun_at)
        for robot in out:
            backlog = self.behind[robot]
            if not backlog.overrun:
                sifted.append(self._halt(robot, backlog, tick))
            backlog.withheld += 1
        rest = self._without(fanout, out) if out else fanout
        if rest is not None:
            sifted.append((payload, tick, rest))

    def _halt(self, robot: _Ref, backlog: Backlog, tick: Tick | Bar) -> Admitted:
        """A halt for ``robot`` at this point of its stream: what it sees next has a gap."""
        backlog.overrun = True
        backlog.overruns += 1
        name = robot_name(robot)
        if should_log(backlog.overruns):
            logger.error(
                "%s: robot %s is %d events behind (limit %d): it is halted at this point of "
                "its stream and its ticks are withheld until it catches up (overrun %d); "
                "resume it when it can keep up",
                self.where,
                name,
                backlog.told - backlog.taken,
                self.limits.overrun_at,
                backlog.overruns,
            )
        control = Control(ts=tick.ts, robot=name, action=ControlAction.HALT)
        return encode(control), control, _alone(robot, name, name)

    def _without(self, fanout: Fanout, robots: tuple[_Ref, ...]) -> Fanout | None:
        key = (fanout, robots)
        if key not in self._minus:
            if len(self._minus) >= _MINUS_CACHE:
                self._minus.clear()
            rest: Fanout | None = fanout
            for robot in robots:
                if rest is not None:
                    rest = rest.without(robot)
            self._minus[key] = rest
        return self._minus[key]


def _alone(robot: _Ref, topic: str, name: str) -> Fanout:
    """A fanout of one robot, journaled in a group of its own under ``topic``."""
    return Fanout((robot,), Group(topic, (name,)))
