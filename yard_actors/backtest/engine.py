"""The backtest's loop: market events one by one, in one thread, in market time.

:class:`Backtest` does in one thread what a market-time ``yard run`` does with a feed,
a paced order gateway and a host (:mod:`yard_actors.app.lockstep`,
:mod:`gateways.paced`), by the same rule, so the same data gives the same commands
and fills. For each event:

1. the order desk applies it if the gateway would take it (its robots' symbols and the
   session statuses): the commands released earlier that wait for the market to reach
   their ``ts`` go before it (or just after, at its very ``ts``); the fills it causes
   are stored and held;
2. each robot that routes its topic gets its due timers, then the event (journaled
   once, fanned to them); what they send waits at the desk;
3. if they sent commands or the event caused reports, a release: the desk applies the
   commands by robot name, each once the market reached its ``ts``, and hands back
   every report held, in the order stored; each robot handles its own, and what those
   make it send goes round again, until a round brings no report.

After the last event a flush applies whatever still waits, as ``yard run``'s last
settle does. Nothing here reads the wall clock but for the seconds it took; no
thread, socket or actor is started.
"""

from __future__ import annotations

import contextlib
import itertools
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import Final

import attrs

from gateways.feed import Published
from gateways.store.base import OrderStore, ReportRecord
from yard_actors.backtest.desk import OrderDesk
from yard_actors.backtest.journaling import RunJournal
from yard_actors.backtest.market_payloads import market_payload
from yard_actors.backtest.robots import RobotRunner
from yard_actors.journal import Group
from yard_actors.wire.events import Bar, Quote, SessionStatus, Tick
from yard_actors.wire.names import SESSION_TOPIC, SYSTEM_TOPIC

__all__ = ["COMMIT_EVERY", "READ_AHEAD", "Backtest", "LoopCounts", "topic_of"]

COMMIT_EVERY: Final = 20_000
"""Market events between two commits of the order store (one transaction each)."""
READ_AHEAD: Final = 8192
"""Market events read before the first of them is handled: reading a file and handling its
events in turns of thousands, not one by one, took a fifth less time (each keeps its own
working set in the processor's caches; benchmarks/bench_backtest.py)."""
_TAKEN = (Quote, Tick, Bar, SessionStatus)  # what the gateway reads on data (incoming.py)


@attrs.frozen(kw_only=True)
class LoopCounts:
    """What one :meth:`Backtest.run` went through, and the wall-clock seconds it took."""

    events: int  # market events read
    routed: int  # of them, those some robot routes (journaled)
    releases: int  # rounds of commands applied and reports handed out
    reports: int
    seconds: float

    @property
    def rate(self) -> float:
        """Market events per second of wall-clock time."""
        return self.events / self.seconds if self.seconds > 0 else 0.0


def topic_of(event: Published) -> str:
    """The topic a feed publishes ``event`` under, as :mod:`yard_actors.app.lockstep` reads it."""
    if isinstance(event, Quote | Tick | Bar):
        return event.symbol
    return SESSION_TOPIC if isinstance(event, SessionStatus) else SYSTEM_TOPIC


class Backtest:
    """Robots, an order desk and a journal, driven by :meth:`run` over a market stream.

    ``runners`` route their own symbols, and the session and system statuses, as a host's
    robots do; the caller closes the journal and the store after :meth:`run`.
    """

    def __init__(
        self,
        runners: Sequence[RobotRunner],
        *,
        desk: OrderDesk,
        journal: RunJournal,
        commit_every: int = COMMIT_EVERY,
        read_ahead: int = READ_AHEAD,
    ) -> None:
        self._runners = {runner.name: runner for runner in runners}
        self._desk = desk
        self._journal = journal
        self._commit_every = commit_every
        self._read_ahead = read_ahead
        self._routes: dict[str, tuple[tuple[RobotRunner, ...], Group, bool]] = {}
        self._releases = 0
        self._reports = 0

    def run(self, events: Iterable[Published]) -> LoopCounts:
        """Take every event of ``events`` through the robots and the desk; then flush.

        Raises what the stream raises (a strict reader's FeedError, after the events before
        it) and StoreError, with the store's last transaction undone; the caller then has a
        partial run. The store commits every :data:`COMMIT_EVERY` events or so.
        """
        began = time.perf_counter()
        count = routed = 0
        commit_at = self._commit_every
        with contextlib.ExitStack() as batch:
            batch.enter_context(self._desk.store.batch())
            for chunk in _read_ahead(events, self._read_ahead):
                routed += self._take(chunk)
                count += len(chunk)
                if count >= commit_at:
                    commit_at = count + self._commit_every
                    batch.close()
                    batch.enter_context(self._desk.store.batch())
            self._settle(flush=True)
        self._journal.flush()
        return LoopCounts(
            events=count,
            routed=routed,
            releases=self._releases,
            reports=self._reports,
            seconds=time.perf_counter() - began,
        )

    def _take(self, chunk: list[Published]) -> int:
        """Steps 1-3 of the module docstring for each event; how many some robot routes.

        The hot loop: what it calls is looked up once per chunk.
        """
        desk, routes = self._desk, self._routes
        on_market, held, fanned = desk.on_market, desk.held, self._journal.fanned
        routed = 0
        for event in chunk:
            topic = event.symbol if type(event) is Quote else topic_of(event)
            route = routes.get(topic)
            if route is None:
                route = self._route(topic)
            runners, group, takes = route
            if takes and isinstance(event, _TAKEN):
                on_market(event)
            if runners:
                routed += 1
                ts = event.ts
                for runner in runners:
                    if ts >= runner.horizon:
                        runner.fire_timers(ts)
                fanned(market_payload(event), group)
                for runner in runners:
                    runner.on_market(event)
            if held():  # commands sent, or reports the event caused
                self._settle(flush=False)
        return routed

    @property
    def robots(self) -> tuple[RobotRunner, ...]:
        return tuple(self._runners.values())

    @property
    def store(self) -> OrderStore:
        return self._desk.store

    def _settle(self, *, flush: bool) -> None:
        """Rounds of release and reports until one brings no report (lockstep's ``_settle``)."""
        desk = self._desk
        while True:
            records = desk.release(flush=flush)
            self._releases += 1
            if not records:
                return
            self._reports += len(records)
            for name, reports in _by_robot(records).items():
                runner = self._runners.get(name)
                if runner is not None:
                    runner.on_reports(reports)
            if not desk.has_commands():
                return

    def _route(self, topic: str) -> tuple[tuple[RobotRunner, ...], Group, bool]:
        """The robots an event of ``topic`` goes to, as a host routes it, their group, and
        whether the gateway takes it."""
        every = topic in (SESSION_TOPIC, SYSTEM_TOPIC)  # every robot routes the statuses
        runners = tuple(
            r for r in self._runners.values() if every or topic in r.robot.subscriptions
        )
        route = (runners, Group(topic, tuple(r.name for r in runners)), self._desk.takes(topic))
        self._routes[topic] = route
        return route


def _by_robot(records: list[ReportRecord]) -> dict[str, list[ReportRecord]]:
    """Each robot's reports as the gateway publishes them, in the order stored."""
    reports: dict[str, list[ReportRecord]] = {}
    for record in records:
        reports.setdefault(record.robot, []).append(record)
    return reports


def _read_ahead(events: Iterable[Published], size: int) -> Iterator[list[Published]]:
    """``events`` in lists of ``size`` (the last shorter); what was read before a reader's
    error comes out before the error is raised."""
    stream = iter(events)
    while True:
        chunk: list[Published] = []
        try:
            chunk.extend(itertools.islice(stream, size))  # keeps what it read before an error
        except BaseException:
            if chunk:
                yield chunk
            raise
        if not chunk:
            return
        yield chunk
