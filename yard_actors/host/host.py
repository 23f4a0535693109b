"""The Host: many robots in one process, wired to a feed and a gateway.

A host owns, and on :meth:`Host.stop` releases, everything it starts: one
ZeroMQ context (unless given one), the journal, the order link, one intake per
kind and one actor per robot. Endpoints are URLs; the same host runs over
``inproc://`` in one process and ``ipc://``/``tcp://`` across processes.

Who binds: the feed binds ``data`` (PUB), the gateway binds ``orders`` (PULL)
and ``trades`` (PUB); the host connects to those three and binds ``control``
(PULL), since controllers come and go.

A robot added under a name the journal already holds is first restored from it
(:mod:`.restore`), then started (:mod:`.runtimes`) and routed (:mod:`.intake`).

Every order a robot sends is in flight (:mod:`.in_flight`) until a first report about
it arrives; one unanswered for ``reply_timeout`` seconds, a restored robot's orders
with no reply in its journal, and those sent before the link to the gateway dropped
are asked about on the gateway's recovery endpoint (``docs/wire.md`` 4a). Every cancel
is in flight until its answer, and sent again at the same moments.

A host whose ``orders`` connection is keyed registers each robot with the gateway under
its key before starting it (:mod:`.registrations`): a name another key owns is refused.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import pykka
import zmq

from yard_actors.errors import RobotError
from yard_actors.host.backlog import MailboxLimits
from yard_actors.host.host_config import host_settings
from yard_actors.host.hosted import Hosted, robot_table
from yard_actors.host.in_flight import DEFAULT_REPLY_TIMEOUT_S, InFlight
from yard_actors.host.intake import (
    IntakeActor,
    IntakeKind,
    IntakeStats,
    Route,
    Unroute,
    ask_stats,
    settle,
)
from yard_actors.host.order_link import OrderLink
from yard_actors.host.registrations import register_robot, registrations_for
from yard_actors.host.restore import Restored, Restorer
from yard_actors.host.restored_cancels import send_restored_cancels
from yard_actors.host.robot_actor import Deliver, Ping, RobotStats, ask_snapshot, ask_traceback
from yard_actors.host.robot_routes import set_routes
from yard_actors.host.runtimes import HOST_WORKERS, RobotRuntime
from yard_actors.host.stopping import shed_market_data, stop_actors, stop_robots
from yard_actors.host.stores import fill_source_for, without_credentials
from yard_actors.host.table import RobotTable
from yard_actors.host.trades_intake import TradesIntake
from yard_actors.journal import Journal, JournalConfig
from yard_actors.net import LOCAL_ONLY, Security
from yard_actors.robot.loader import class_path, load_robot_class
from yard_actors.robot.risk import RiskLimits, limits_notice
from yard_actors.robot.robot import Robot
from yard_actors.runtime import DEFAULT_BATCH
from yard_actors.wire.events import Control, ControlAction
from yard_actors.wire.instruments import InstrumentTable

__all__ = ["Host"]

logger = logging.getLogger(__name__)

_RUNTIME_GRACE_S = 1.0  # for the pool's workers to end once the robots have stopped


class Host:
    """Hosts robots; use as a context manager or call :meth:`stop`.

    Methods are for one controlling thread (a script, the CLI, a test); they
    talk to the actors with ``ask`` and a timeout of ``ask_timeout`` seconds.
    ``runtime`` is ``"pooled"`` (robots share ``pool_workers`` threads, each handling
    up to ``pool_batch`` messages of one robot per turn) or ``"threads"`` (a thread
    per robot); see :mod:`yard_actors.host.runtimes`. ``reply_timeout``: seconds an
    order may go without a report before the gateway is asked about it (on ``recovery``,
    which a host without one cannot do: it only logs). ``security``: the host's keys for
    ``tcp://`` endpoints, and its message size limit (:mod:`yard_actors.net`).
    ``mailbox``: how much market data may wait for one robot before its quotes are
    conflated and, past that, it is halted (:class:`~yard_actors.host.backlog.MailboxLimits`).
    """

    def __init__(
        self,
        *,
        data: str,
        orders: str,
        trades: str,
        control: str,
        journal_dir: str | os.PathLike[str] | None = "yard-data/journal",
        journal: JournalConfig | None = None,
        instruments: InstrumentTable | None = None,
        context: zmq.Context[zmq.Socket[bytes]] | None = None,
        ask_timeout: float = 5.0,
        recovery: str | None = None,
        store: str | None = None,
        risk: RiskLimits | None = None,
        runtime: str | None = None,
        pool_workers: int = HOST_WORKERS,
        pool_batch: int = DEFAULT_BATCH,
        pool_max_workers: int | None = None,
        reply_timeout: float = DEFAULT_REPLY_TIMEOUT_S,
        security: Security = LOCAL_ONLY,
        mailbox: MailboxLimits | None = None,
    ) -> None:
        self._registrations = registrations_for(orders, recovery, security, self._halt_late)
        self._in_flight = InFlight(reply_timeout)
        self.runtime = RobotRuntime(
            runtime, workers=pool_workers, batch=pool_batch, max_workers=pool_max_workers
        )
        self.endpoints = {"data": data, "orders": orders, "trades": trades, "control": control}
        if recovery is not None:
            self.endpoints["recovery"] = recovery
        self._own_context = context is None
        self._context: zmq.Context[zmq.Socket[bytes]] = (
            context if context is not None else zmq.Context()
        )
        self._instruments = instruments if instruments is not None else InstrumentTable()
        self._risk = risk if risk is not None else RiskLimits()
        logger.log(*limits_notice(self._risk))
        self._ask_timeout = ask_timeout
        self._robots: dict[str, Hosted] = {}
        self._intakes: dict[IntakeKind, pykka.ActorRef[Any]] = {}
        self._journal: Journal | None = None
        self._restorer: Restorer | None = None
        self._link: OrderLink | None = None
        self._stopped = False
        try:
            if journal_dir is not None:
                self._journal = Journal(journal_dir, journal)
                self._restorer = Restorer(self._journal)
            self._link = OrderLink(
                self._context, orders, in_flight=self._in_flight, security=security
            )
            self._intakes[IntakeKind.CONTROL] = IntakeActor.start(
                IntakeKind.CONTROL,
                control,
                context=self._context,
                journal=self._journal,
                bind=True,
                security=security,
            )
            self._intakes[IntakeKind.TRADES] = TradesIntake.start(
                trades,
                context=self._context,
                journal=self._journal,
                recovery=recovery,
                fills=fill_source_for(store),
                fills_from=without_credentials(store or ""),
                in_flight=self._in_flight,
                link_events=self._link.events_url,
                order_link=self._link,
                security=security,
                registrations=self._registrations,
            )
            self._intakes[IntakeKind.DATA] = IntakeActor.start(
                IntakeKind.DATA,
                data,
                context=self._context,
                journal=self._journal,
                security=security,
                limits=mailbox,
            )
            # A control URL with a "*" port is bound to a free port; publish the real one.
            self.endpoints["control"] = ask_stats(
                self._intakes[IntakeKind.CONTROL], ask_timeout
            ).url
        except BaseException:
            self.stop()
            raise

    @classmethod
    def from_config(cls, config: Mapping[str, Any], *, source: str = "<config>") -> Host:
        """Build a host and its robots from a mapping (parsed TOML, say); see :mod:`config`."""
        settings = host_settings(config, source=source)
        host = cls(**settings.host_kwargs)
        try:
            for robot in settings.robots:
                host.add_robot(
                    robot.class_path,
                    name=robot.name,
                    symbols=robot.symbols,
                    params=robot.params,
                    limits=robot.limits,
                )
        except BaseException:
            host.stop()
            raise
        return host

    def __enter__(self) -> Host:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def context(self) -> zmq.Context[zmq.Socket[bytes]]:
        return self._context

    @property
    def journal_dir(self) -> Path | None:
        return None if self._journal is None else self._journal.path

    # --- robots ---------------------------------------------------------------------------

    def add_robot(
        self,
        robot_class: type[Robot] | str,
        *,
        name: str,
        symbols: Sequence[str] | None = None,
        params: Any = None,
        restore: bool = True,
        limits: RiskLimits | None = None,
    ) -> pykka.ActorRef[Any]:
        """Start a robot; with ``restore``, first replay its journal from earlier runs.

        ``limits``: the robot's risk limits, if not the host's ``risk``.

        Returns once the robot's routes are in place: every event the intakes
        receive from then on reaches it.
        """
        if self._stopped:
            msg = f"cannot add robot {name!r}: the host is stopped"
            raise RobotError(msg)
        if name in self._robots:
            msg = f"a robot named {name!r} already runs on this host; names must be unique"
            raise RobotError(msg)
        cls = load_robot_class(robot_class) if isinstance(robot_class, str) else robot_class
        limits = self._risk if limits is None else limits
        robot = cls(
            name, params=params, symbols=symbols, instruments=self._instruments, limits=limits
        )
        if limits != self._risk:
            logger.info("robot %s: its own risk limits, %s", name, limits.describe())
        if self._registrations is not None:  # keyed: the gateway takes it under our key, or not
            trades = self._intakes[IntakeKind.TRADES]
            register_robot(trades, self._registrations, name, self._ask_timeout)
        spec = {
            "name": name,
            "class": class_path(cls),
            "symbols": list(robot.subscriptions),
            "params": robot.snapshot()["params"],
            "limits": attrs.asdict(limits),  # replay must refuse what live refused
        }
        restored = Restored()
        if restore and self._restorer is not None:
            restored = self._restorer.restore(robot, spec["class"])
        if self._journal is not None:
            self._journal.record_robot(name, spec)
        stats = RobotStats(
            status=robot.status.value,
            position=robot.positions(),
            pnl=str(robot.pnl),
            error=robot.error,  # a robot restored failed shows why at once
        )
        ref = self.runtime.start(robot, journal=self._journal, order_link=self._link, stats=stats)
        self._robots[name] = Hosted(
            name=name, robot_class=spec["class"], symbols=robot.subscriptions, ref=ref, stats=stats
        )
        if self._link is not None:
            send_restored_cancels(self._link, robot, restored.cancels)
        self._set_routes(name, ref, Route, restored)
        return ref

    def _set_routes(
        self,
        name: str,
        ref: pykka.ActorRef[Any],
        how: type[Route | Unroute],
        restored: Restored | None = None,
    ) -> None:
        """Route (or unroute) the robot's topics; a route to a robot carries its restore."""
        symbols = self._robots[name].symbols
        set_routes(
            self._intakes, name, symbols, ref, how, restored=restored, timeout=self._ask_timeout
        )

    def remove_robot(self, name: str) -> None:
        """Stop a robot after the events already in its mailbox; its journal stays."""
        hosted = self._hosted(name)
        self._set_routes(name, hosted.ref, Unroute)
        hosted.ref.stop(timeout=self._ask_timeout)
        del self._robots[name]
        self._in_flight.forget(name)
        if self._registrations is not None:
            self._registrations.forget(name)
        if self._restorer is not None:
            self._restorer.removed(name)

    def _halt_late(self, name: str) -> None:
        """Halt a robot the gateway refused to register after it started (the trades intake's
        thread calls this; :mod:`.registrations`)."""
        self.control(name, ControlAction.HALT)

    def _hosted(self, name: str) -> Hosted:
        hosted = self._robots.get(name)
        if hosted is None:
            known = ", ".join(sorted(self._robots)) or "none"
            msg = f"no robot named {name!r} on this host (robots: {known})"
            raise RobotError(msg)
        return hosted

    def robots(self) -> RobotTable:
        """One row per robot, in the order they were added; ``str()`` of it is a table.

        ``awaiting``: the robot's orders sent with no report yet; ``cancelling``: its cancels
        sent with no answer yet (:mod:`.in_flight`).
        """
        return robot_table(self._robots.values(), self._in_flight)

    def snapshot(self, name: str) -> dict[str, Any]:
        """The robot's full state, taken between two of its events."""
        return ask_snapshot(self._hosted(name).ref, self._ask_timeout)

    def failure(self, name: str) -> str | None:
        """The traceback of the robot's failure, or None if it has not failed."""
        return ask_traceback(self._hosted(name).ref, self._ask_timeout)

    def control(
        self,
        name: str,
        action: ControlAction | str,
        params: Mapping[str, Any] | None = None,
        *,
        ts: int | None = None,
    ) -> None:
        """Send a control command to one robot; it is journaled like any event.

        ``ts`` defaults to the wall clock here, at the edge: the robot only ever
        sees the journaled value, so replay stays exact.
        """
        hosted = self._hosted(name)
        event = Control(
            ts=time.time_ns() if ts is None else ts,
            robot=name,
            action=ControlAction(action),
            params=dict(params or {}),
        )
        hosted.ref.tell(Deliver(event))

    def intake_stats(self) -> dict[str, IntakeStats]:
        return {
            kind.value: ask_stats(ref, self._ask_timeout) for kind, ref in self._intakes.items()
        }

    def wait_idle(self, timeout: float = 5.0) -> None:
        """Block until what has reached the host is handled (tests, CLI).

        First each intake hands on everything its socket holds (journaled and told,
        even if that is a burst still being fanned out), then every robot handles
        what is in its mailbox. Messages still on the wire are not waited for (over
        ``ipc://``/``tcp://`` a message sent just before may not have arrived), nor
        what the robots' own commands cause afterwards. Raises ``pykka.Timeout``.
        """
        deadline = time.monotonic() + timeout
        for kind in (IntakeKind.CONTROL, IntakeKind.DATA, IntakeKind.TRADES):
            ref = self._intakes.get(kind)
            if ref is not None and not settle(ref, max(0.0, deadline - time.monotonic())):
                msg = f"the {kind.value} intake did not hand on its messages within {timeout} s"
                raise pykka.Timeout(msg)
        futures = [h.ref.ask(Ping(), block=False) for h in self._robots.values()]
        pykka.get_all(futures, timeout=max(0.0, deadline - time.monotonic()))

    # --- shutdown --------------------------------------------------------------------------------

    def stop(self, timeout: float = 10.0) -> None:
        """Stop intakes, then robots, then close link, journal, context; within ``timeout`` s.

        Idempotent. Market data still waiting for a robot is dropped, not handled, and
        not journaled as received (:mod:`.stopping`), so a robot far behind does not
        hold the stop for as long as it is behind; each robot's count is logged. Fills,
        replies and controls already queued are handled. Robots are stopped all at once,
        not one by one, so a host of 100 robots stops in well under a second. A robot
        whose handler does not return by the deadline is logged and left behind.
        """
        if self._stopped:
            return
        self._stopped = True
        deadline = time.monotonic() + timeout
        hosted = list(self._robots.values())
        shed_market_data([h.stats.backlog for h in hosted])  # while the intakes stop
        if stop_actors(list(self._intakes.values()), deadline):
            logger.error("an intake did not stop within %s s; the host closes without it", timeout)
        self._intakes.clear()
        stop_robots([(h.name, h.ref, h.stats.backlog) for h in hosted], deadline)
        self._robots.clear()
        self.runtime.shutdown(max(_RUNTIME_GRACE_S, deadline - time.monotonic()))
        if self._link is not None:
            self._link.close()
        if self._journal is not None:
            self._journal.close()
        if self._own_context:
            self._context.term()
        logger.info("host stopped; %d threads remain", threading.active_count())
