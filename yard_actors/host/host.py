"""The Host: many robots in one process, wired to a feed and a gateway.

A host owns, and on :meth:`Host.stop` releases, everything it starts: one
ZeroMQ context (unless given one), the journal, the order link, one intake per
kind, the control server (those in :mod:`.host_parts`, opened and closed in their
order) and one actor per robot. Endpoints are URLs; the same host runs over
``inproc://`` in one process and ``ipc://``/``tcp://`` across processes.

Who binds: the feed binds ``data`` (PUB), the gateway binds ``orders`` (PULL)
and ``trades`` (PUB); the host connects to those three and binds ``control``
(ROUTER: the supervision API as request/reply, :mod:`.control_server`).

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

import pykka
import zmq

from yard_actors.errors import RobotError
from yard_actors.host.backlog import MailboxLimits
from yard_actors.host.host_config import host_settings
from yard_actors.host.host_parts import HostParts
from yard_actors.host.hosted import Hosted
from yard_actors.host.in_flight import DEFAULT_REPLY_TIMEOUT_S, InFlight
from yard_actors.host.intake import IntakeKind, IntakeStats, Route, Unroute, ask_stats, settle
from yard_actors.host.intake_messages import Announce
from yard_actors.host.registrations import register_robot, registrations_for
from yard_actors.host.restart import Supervisor
from yard_actors.host.restart_gate import ask_restart
from yard_actors.host.restore import Restored
from yard_actors.host.restored_cancels import send_restored_cancels
from yard_actors.host.robot_actor import Ping, RobotStats, publish_state
from yard_actors.host.robot_routes import set_routes
from yard_actors.host.runtimes import HOST_WORKERS, RobotRuntime
from yard_actors.host.supervision import LOCAL, Supervision, supervised
from yard_actors.host.supervision_config import SupervisionConfig
from yard_actors.journal import JournalConfig
from yard_actors.journal.rebuild import robot_spec
from yard_actors.net import LOCAL_ONLY, Security
from yard_actors.robot.loader import load_robot_class
from yard_actors.robot.risk import RiskLimits, limits_notice
from yard_actors.robot.robot import Robot
from yard_actors.runtime import DEFAULT_BATCH
from yard_actors.wire.events import ControlAction
from yard_actors.wire.instruments import InstrumentTable
from yard_actors.wire.names import HOST_READY

__all__ = ["Host"]

logger = logging.getLogger(__name__)


class Host(Supervision):
    """Hosts robots; use as a context manager or call :meth:`stop`.

    Methods talk to the actors with ``ask`` and a timeout of ``ask_timeout`` seconds. The
    supervision calls (:mod:`.supervision`) may come from two threads (the console's and
    the control server's): one lock serialises them; the rest are for one thread.
    ``runtime`` is ``"pooled"`` (robots share ``pool_workers`` threads, each handling
    up to ``pool_batch`` messages of one robot per turn) or ``"threads"`` (a thread
    per robot); see :mod:`yard_actors.host.runtimes`. ``reply_timeout``: seconds an
    order may go without a report before the gateway is asked about it (on ``recovery``,
    which a host without one cannot do: it only logs). ``security``: the host's keys for
    ``tcp://`` endpoints, and its message size limit (:mod:`yard_actors.net`).
    ``mailbox``: how much market data may wait for one robot before its quotes are
    conflated and, past that, it is halted (:class:`~yard_actors.host.backlog.MailboxLimits`).
    ``supervision``: how often a failed robot is restarted from its journal
    (:class:`~yard_actors.host.supervision_config.SupervisionConfig`, docs/supervision.md).
    ``refuse_divergence``: a robot that replays its journal differently is not added
    (RobotError), rather than added with a warning (:class:`~.restore.Restorer`).
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
        supervision: SupervisionConfig | None = None,
        refuse_divergence: bool = False,
    ) -> None:
        self._supervising = threading.RLock()  # one supervision call at a time (supervision.py)
        self._registrations = registrations_for(orders, recovery, security, self._halt_late)
        self._in_flight = InFlight(reply_timeout)
        self.runtime = RobotRuntime(
            runtime, workers=pool_workers, batch=pool_batch, max_workers=pool_max_workers
        )
        self.endpoints = {"data": data, "orders": orders, "trades": trades, "control": control}
        if recovery is not None:
            self.endpoints["recovery"] = recovery
        self._parts = HostParts(context)  # journal, link, intakes, control (host_parts.py)
        self._instruments = instruments if instruments is not None else InstrumentTable()
        self._risk = risk if risk is not None else RiskLimits()
        logger.log(*limits_notice(self._risk))
        self._ask_timeout = ask_timeout
        self._robots: dict[str, Hosted] = {}
        self._stopped = False
        try:
            self._parts.open(
                data=data,
                orders=orders,
                trades=trades,
                recovery=recovery,
                store=store,
                journal_dir=journal_dir,
                journal=journal,
                in_flight=self._in_flight,
                security=security,
                registrations=self._registrations,
                mailbox=mailbox,
                refuse_divergence=refuse_divergence,
            )
            self._supervisor = Supervisor(  # restarts failed robots from the journal (restart.py)
                journal=self._parts.journal,
                instruments=self._instruments,
                config=supervision if supervision is not None else SupervisionConfig(),
                in_flight=self._in_flight,
            )
            self.endpoints["control"] = self._parts.serve_control(self, control, security)
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
            host.announce_ready()
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
        return self._parts.context

    @property
    def journal_dir(self) -> Path | None:
        return None if self._parts.journal is None else self._parts.journal.path

    @property
    def hosted(self) -> tuple[Hosted, ...]:
        """The robots, with the counters their actors and intakes write (read-only; any thread)."""
        return tuple(self._robots.values())

    @property
    def commands_sent(self) -> int:
        """Commands the order link has sent to the gateway (any thread; one update old at most)."""
        return 0 if self._parts.link is None else self._parts.link.sent

    # --- robots ---------------------------------------------------------------------------

    @supervised
    def add_robot(
        self,
        robot_class: type[Robot] | str,
        *,
        name: str,
        symbols: Sequence[str] | None = None,
        params: Any = None,
        restore: bool = True,
        limits: RiskLimits | None = None,
        sender: str = LOCAL,
    ) -> pykka.ActorRef[Any]:
        """Start a robot; with ``restore``, first replay its journal from earlier runs.

        ``limits``: the robot's risk limits, if not the host's ``risk``. ``sender``: who
        asked (logged).

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
            trades = self._parts.intakes[IntakeKind.TRADES]
            register_robot(trades, self._registrations, name, self._ask_timeout)
        spec = robot_spec(robot, limits, self._instruments)
        restored = Restored()
        journal, restorer, link = self._parts.journal, self._parts.restorer, self._parts.link
        if restore and restorer is not None:
            restored = restorer.restore(robot, spec["class"])
        if journal is not None:
            journal.record_robot(name, spec)
        stats = RobotStats()
        publish_state(stats, robot)  # a robot restored failed shows why at once
        ref = self.runtime.start(
            robot,
            journal=journal,
            order_link=link,
            stats=stats,
            supervisor=self._supervisor,
        )
        self._robots[name] = Hosted(
            name=name,
            robot_class=spec["class"],
            symbols=robot.subscriptions,
            ref=ref,
            stats=stats,
            robot_type=cls,
            limits=limits,
        )
        logger.info("robot %s added by %s", name, sender)
        if link is not None:
            send_restored_cancels(link, robot, restored.cancels)
        self._set_routes(name, ref, Route, restored)
        return ref

    @supervised
    def restart(self, name: str, *, sender: str = LOCAL) -> str:
        """Restart a robot (running or failed) as a failure would: a fresh instance rebuilt
        from its journal, then live events again; returns a sentence saying how it went.

        Its working orders stay (the rebuilt robot knows them from the journal); it is not
        counted against its restart intensity (``docs/supervision.md``). Returns within
        ``ask_timeout`` seconds: a longer replay goes on, and the sentence says so.
        """
        hosted = self._hosted(name)
        logger.info("robot %s: restart asked by %s", name, sender)
        return ask_restart(hosted.ref, name, sender=sender, timeout=self._ask_timeout)

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
            self._parts.intakes,
            name,
            symbols,
            ref,
            how,
            restored=restored,
            timeout=self._ask_timeout,
        )

    def _remove(self, name: str) -> None:
        """Stop a robot after the events already in its mailbox and forget it; its journal stays.

        :meth:`remove_robot` (:mod:`.supervision`) cancels its working orders first.
        """
        hosted = self._hosted(name)
        self._set_routes(name, hosted.ref, Unroute)
        hosted.ref.stop(timeout=self._ask_timeout)
        del self._robots[name]
        self._in_flight.forget(name)
        if self._registrations is not None:
            self._registrations.forget(name)
        if self._parts.restorer is not None:
            self._parts.restorer.removed(name)

    def _halt_late(self, name: str) -> None:
        """Halt a robot the gateway refused to register after it started (the trades intake's
        thread calls this; :mod:`.registrations`)."""
        self.control(name, ControlAction.HALT, sender="host")

    def announce_ready(self) -> None:
        """Tell the feed this host has its robots in: subscribe ``data`` to ``$ready/host``.

        A feed that waits for hosts (``yard feed --hosts N``) counts each host by it once,
        whatever its robots trade. Call after adding the robots: it follows their symbols'
        subscriptions on the same socket, so the feed has those first.
        """
        self._parts.intakes[IntakeKind.DATA].ask(Announce(HOST_READY), timeout=self._ask_timeout)

    def intake_stats(self) -> dict[str, IntakeStats]:
        parts = self._parts
        stats = {
            kind.value: ask_stats(ref, self._ask_timeout) for kind, ref in parts.intakes.items()
        }
        if parts.control is not None:  # the control endpoint's, refused peers included
            stats["control"] = parts.control.intake_stats()
        return stats

    def wait_idle(self, timeout: float = 5.0) -> None:
        """Block until what has reached the host is handled (tests, CLI).

        First each intake hands on everything its socket holds (journaled and told,
        even if that is a burst still being fanned out), then every robot handles
        what is in its mailbox. Messages still on the wire are not waited for (over
        ``ipc://``/``tcp://`` a message sent just before may not have arrived), nor
        what the robots' own commands cause afterwards. Raises ``pykka.Timeout``.
        """
        deadline = time.monotonic() + timeout
        for kind in (IntakeKind.DATA, IntakeKind.TRADES):
            ref = self._parts.intakes.get(kind)
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
        robots = [(h.name, h.ref, h.stats.backlog) for h in self._robots.values()]
        self._parts.close(
            robots, self.runtime, timeout=timeout, control_timeout=self._ask_timeout * 2
        )
        self._robots.clear()
        logger.info("host stopped; %d threads remain", threading.active_count())
