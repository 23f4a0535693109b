"""``yard run``: the main job, all roles in one process or one role of several.

``--role all`` (the default) runs the feed, the order gateway with the paper
exchange and its store, and one host with every configured robot, wired over
the configured endpoints (``inproc://`` by default). ``--role host`` runs only
a host, with all robots or the ``--robots`` named, for deployments where the
feed (``yard feed``) and the gateway (``yard gateway``) are processes of their
own, possibly on other machines; it logs its robots' and intakes' counters
every ``--health-every`` seconds and on SIGUSR1. The system itself starts and
stops in :mod:`yard_actors.app.running_system`, which ``yard repl`` shares.
"""

from __future__ import annotations

import logging
import math
import signal
import time
from collections.abc import Sequence
from types import FrameType

import pykka

from gateways.signal_wakeup import Wakeup
from yard_actors.app.analyze_command import analyze_hint
from yard_actors.app.config_file import SystemSettings
from yard_actors.app.progress import RunProgress
from yard_actors.app.run_folders import fresh_run_dir, in_run_dir
from yard_actors.app.running_system import RunningSystem, RunSummary, start_gateway
from yard_actors.app.signals import StopSignals
from yard_actors.app.summary import RUN_TITLE, exit_code, notes, render
from yard_actors.app.tables import output_console, print_table, robots_table
from yard_actors.app.wording import count
from yard_actors.errors import ConfigError
from yard_actors.host.host import Host
from yard_actors.host.host_config import HostSettings, RobotSettings
from yard_actors.host.stores import without_credentials
from yard_actors.robot.lifecycle import RobotStatus

__all__ = [
    "HEALTH_EVERY_S",
    "fresh_run_dir",
    "in_run_dir",
    "print_summary",
    "run_all",
    "run_host",
    "start_gateway",
]

log = logging.getLogger(__name__)

HEALTH_EVERY_S = 60.0
_STOP_GRACE_S = 2.0  # on SIGTERM, how long the host may take to finish what it has
"""How often ``yard run --role host`` logs its health by default (``--health-every``)."""
_REFRESH_PER_S = 4  # the progress line's redraws a second


def _robots(host: HostSettings, names: Sequence[str] | None) -> tuple[RobotSettings, ...]:
    if not names:
        return host.robots
    known = {robot.name: robot for robot in host.robots}
    missing = [name for name in names if name not in known]
    if missing:
        msg = f"--robots names {', '.join(missing)}, not in the config ({', '.join(known)})"
        raise ConfigError(msg)
    return tuple(known[name] for name in names)


def run_all(
    settings: SystemSettings,
    *,
    speed: float | None,
    live: bool,
    limit: int | None = None,
    clock: str | None = None,
    resume_after: int | None = None,
) -> int:
    """Run feed, gateway and host in this process; print the summary; return the exit code.

    ``resume_after``: a resumed run's last data time (``RunFolder.resume_after``).
    ``clock``: ``"market"`` (lockstep, :mod:`yard_actors.app.lockstep`: the same data and
    config give the same run every time) or ``"wall"`` (the feed does not wait); None:
    market at full speed (``speed=None``), wall at real-time speeds.
    """
    market_time = clock == "market" or (clock is None and speed is None)
    # a failure stops what was started; Ctrl-C or SIGTERM ends the publishing, not the summary
    with (
        StopSignals("yard run") as signals,
        RunningSystem(
            settings, limit=limit, market_time=market_time, resume_after=resume_after
        ) as system,
    ):
        host = system.start()
        signals.cut_short(lambda: _publish(system, host, speed=speed, live=live))
        summary = system.stop()
    print_summary(summary)
    if signals.name is not None:
        print(f"yard run: stopped by {signals.name} after {count(summary.events, 'market event')}")
    return signals.exit_code(exit_code(summary.rows))


def print_summary(summary: RunSummary, *, title: str = RUN_TITLE) -> None:
    """The per-robot table and the totals, as ``yard run``, ``yard repl`` (and, titled so,
    ``yard backtest``) end.

    The table fits the terminal, and to a pipe never wraps a row
    (:func:`~yard_actors.app.tables.print_table`); the lines
    under it are plain text, long ones wrapped by the terminal, never cut by rich: a path
    or a command in them stays whole to copy.
    """
    console = output_console()
    print_table(console, render(summary.rows, width=console.width, title=title))
    for line in notes(summary.rows):
        print(line)  # plain: an error's text is not rich markup
    if summary.robots:
        print(
            f"{summary.events:,} events in {summary.seconds:.1f} s; journal: {summary.journal}; "
            f"store: {without_credentials(summary.store)}"
        )
        print(f"replay a robot: yard replay {summary.journal} {summary.robots[0]}")
        print(analyze_hint(summary.journal, without_credentials(summary.store)))


def _publish(system: RunningSystem, host: Host, *, speed: float | None, live: bool) -> None:
    """Publish in event time (``speed`` times real time, or as fast as possible); with
    ``live``, under a progress line that fits the terminal (:mod:`.progress`)."""
    if not live:
        system.publish(speed=speed, progress=None)
        return
    # rich is imported here, not at the top: only yard run draws with it, and it would add
    # 40-70 ms (python -X importtime -c "import rich.live", here) to every other command's start.
    from rich.live import Live  # noqa: PLC0415

    line = RunProgress(
        system.events, published=lambda: system.published, speed=speed, robots=host.robots
    )
    with Live(line, console=output_console(), refresh_per_second=_REFRESH_PER_S):
        system.publish(speed=speed, progress=None)  # the line reads the count as it draws


def run_host(
    settings: SystemSettings,
    robot_names: Sequence[str] | None,
    *,
    health_every: float = HEALTH_EVERY_S,
) -> int:
    """Run one host with the named robots until SIGINT or SIGTERM, then print its table.

    Meanwhile log its health (:func:`_log_health`) every ``health_every`` seconds
    (0: never) and whenever SIGUSR1 comes, at INFO even without ``-v``. Call from the
    main thread: it installs the signal handlers, which run there. Returns 1 if a
    robot had failed by then, else 0.
    """
    robots = _robots(settings.host, robot_names)
    wake = Wakeup()  # set in a signal handler: no lock may be taken there (signal_wakeup.py)
    signals: set[int] = set()

    def handle(signum: int, frame: FrameType | None) -> None:
        signals.add(signum)
        wake.set()

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGUSR1):
        signal.signal(signum, handle)
    wake.wake_on_signals()  # a signal taken by another thread still wakes the main one
    if not log.isEnabledFor(logging.INFO):  # the health lines, not the rest of INFO
        log.setLevel(logging.INFO)
    with Host(**settings.host.host_kwargs) as host:
        for robot in robots:
            host.add_robot(
                robot.class_path,
                name=robot.name,
                symbols=robot.symbols,
                params=robot.params,
                limits=robot.limits,
            )
        host.announce_ready()  # a feed waiting for hosts (yard feed --hosts) counts it
        print(f"yard host ready: {', '.join(r.name for r in robots)}", flush=True)
        _watch(host, wake, signals, health_every)
        try:  # what has arrived, if it is handled soon; a robot far behind is not waited for
            host.wait_idle(timeout=_STOP_GRACE_S)
        except pykka.Timeout:
            log.warning("robots still had events waiting; the host stops without them")
        rows = host.robots()
        console = output_console()
        print_table(console, robots_table(rows, width=console.width))
    failed = [row["name"] for row in rows if row["status"] == RobotStatus.FAILED.value]
    if failed:  # as yard run's summary: a failed robot is the run's failure
        print(f"yard host: robots failed: {', '.join(failed)}", flush=True)
    return 1 if failed else 0


def _watch(host: Host, wake: Wakeup, signals: set[int], every: float) -> None:
    """Log the host's health every ``every`` s (if > 0) and on SIGUSR1; return on SIGINT/TERM."""
    stop = {signal.SIGINT, signal.SIGTERM}
    due = time.monotonic() + every if every > 0 else math.inf
    while True:
        wake.wait(None if due == math.inf else max(0.0, due - time.monotonic()))
        if signals & stop:
            return
        asked = signal.SIGUSR1 in signals
        signals.discard(signal.SIGUSR1)
        if (now := time.monotonic()) >= due:
            due, asked = now + every, True
        if asked:
            _log_health(host)


def _log_health(host: Host) -> None:
    """Log one line per robot and one per intake: the counters a supervisor watches.

    Robots: status, events in, commands out, mailbox. Intakes: received,
    delivered, unrouted, and what was dropped by reason (``docs/wire.md`` section 2).
    """
    for row in host.robots():
        log.info(
            "health: robot %s %s: %s events in, %s commands out, mailbox %s",
            row["name"],
            row["status"],
            f"{row['events_in']:,}",
            f"{row['commands_out']:,}",
            row["mailbox"],
        )
    try:
        intakes = host.intake_stats()
    except pykka.Timeout:
        log.warning("health: the intakes did not answer in time; they may be stuck")
        return
    for kind, stats in intakes.items():
        dropped = ", ".join(f"{why} {n:,}" for why, n in sorted(stats.dropped.items()))
        log.info(
            "health: %s intake on %s: %s received, %s delivered, %s unrouted, dropped: %s",
            kind,
            stats.url,
            f"{stats.received:,}",
            f"{stats.delivered:,}",
            f"{stats.unrouted:,}",
            dropped or "none",
        )
