"""``yard repl``: a console over a running system, or over a host running elsewhere.

``yard repl [yard.toml]`` starts the configured system as ``yard run`` does
(:class:`~yard_actors.app.running_system.RunningSystem`: feed, gateway, robots) with
the feed in the background at a speed a person can follow (:data:`REPL_SPEED` times
real time unless ``--speed`` or ``[feed] speed`` say otherwise), sends every log line
to a file in the run folder, and opens a console with ``host`` and the supervision
calls bound as plain functions (:mod:`.repl_calls`). When the console ends (Ctrl-D,
``exit()``, ``stop()``) it stops the system and prints ``yard run``'s summary.

``yard repl --connect URL`` opens the same console on the remote client
(``yard_actors.ctl``); its end leaves that host running.

IPython is used when installed (``pip install 'yard[repl]'``), the standard
:mod:`code` console otherwise, or with ``--plain`` or ``YARD_REPL_PLAIN=1``.
"""

from __future__ import annotations

import argparse
import logging
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from gateways.pacing import check_speed
from yard_actors.app.config_file import SystemSettings, load_settings
from yard_actors.app.repl_calls import CALLS, bind_calls, help_lines
from yard_actors.app.repl_console import has_ipython, leave_plain, run_ipython, run_plain
from yard_actors.app.run_folders import choose_run
from yard_actors.app.running_system import RunningSystem
from yard_actors.app.summary import exit_code
from yard_actors.app.yard_run import fresh_run_dir, in_run_dir, print_summary
from yard_actors.ctl import Client, connect
from yard_actors.errors import ConfigError, YardError
from yard_actors.net import Security

__all__ = ["PLAIN_ENV", "REPL_SPEED", "add_repl_parser", "repl_command"]

log = logging.getLogger(__name__)

REPL_SPEED = 10.0
"""The feed's default speed in the console: the sample day (about 15 hours) lasts 90 minutes."""

PLAIN_ENV = "YARD_REPL_PLAIN"
"""Set to 1 to use the standard console even where IPython is installed."""

_LOG_FORMAT = "%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s"


def add_repl_parser(commands: Any) -> None:
    """Register ``yard repl`` on the CLI's subparsers."""
    repl = commands.add_parser(
        "repl", help="run the system with a console to supervise it (or --connect to a host)"
    )
    repl.add_argument("config", nargs="?", help="yard.toml (none: the sample system)")
    repl.add_argument(
        "--speed",
        help=f"'max', 1 for real time, 10 for ten times ([feed] speed, else {REPL_SPEED:g})",
    )
    repl.add_argument("--data-dir", default="yard-data", help="without a config: run-NNNN here")
    repl.add_argument("--log", type=Path, metavar="FILE", help="the log file (default: see banner)")
    repl.add_argument("--plain", action="store_true", help="the standard console, not IPython")
    repl.add_argument("--connect", metavar="URL", help="a running host's control endpoint")
    repl.add_argument("--keys", type=Path, metavar="DIR", help="with --connect: the key directory")
    repl.add_argument("--key", metavar="NAME", help="with --connect: this client's key pair NAME")
    repl.add_argument(
        "--server", default="host", metavar="NAME", help="with --connect: the host's key name"
    )


def repl_command(args: argparse.Namespace) -> int:
    """Run ``yard repl``; the exit code: 1 if a robot failed (as yard run), else 0."""
    plain = args.plain or os.environ.get(PLAIN_ENV, "") not in ("", "0") or not has_ipython()
    if args.connect:
        return _remote(args, plain=plain)
    settings = load_settings(args.config)
    speed = _speed(args.speed, settings.feed.speed)
    if args.config is None:
        run_dir = fresh_run_dir(Path(args.data_dir))
        settings = in_run_dir(settings, run_dir)
        log_file = args.log or run_dir / "repl.log"
    else:  # a fresh run-NNNN beside the config's journal, as `yard run yard.toml` makes
        run = choose_run(settings, data_dir=None, resume=None)
        print(run.announcement, flush=True)
        settings = run.settings
        log_file = args.log or run.path / "repl.log"
    _log_to(log_file)
    return _local(settings, speed=speed, log_file=log_file, plain=plain)


def _speed(given: str | None, configured: float | None) -> float | None:
    if given is not None:
        return check_speed(given, source="--speed")
    return REPL_SPEED if configured is None else configured  # "max" would end in a blink


def _log_to(path: Path) -> None:
    """Every log line to ``path`` (appended), none to the terminal: the prompt stays clean."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter(_LOG_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    logging.captureWarnings(True)  # warnings too, and a thread's uncaught exception:
    threading.excepthook = _log_thread_failure  # both would print over the prompt


def _log_thread_failure(args: threading.ExceptHookArgs) -> None:
    name = args.thread.name if args.thread is not None else "a thread"
    exc_info = (args.exc_type, args.exc_value, args.exc_traceback)
    log.error("%s ended with an uncaught exception", name, exc_info=exc_info)  # type: ignore[arg-type]


def _local(settings: SystemSettings, *, speed: float | None, log_file: Path, plain: bool) -> int:
    with RunningSystem(settings) as system:
        print(f"yard repl: starting {len(settings.host.robots)} robots ...", flush=True)
        host = system.start()
        system.start_feed(speed=speed, done=lambda: log.info("the feed published its last event"))
        leave = _Leave(plain)
        namespace = {"host": host, **bind_calls(host, leave=leave)}
        banner = _banner(
            _feed_line(system, settings, speed),
            robots=[robot.name for robot in settings.host.robots],
            available=[name for name in CALLS if callable(getattr(host, name, None))],
            where=[
                f"log: {log_file}",
                f"journal: {host.journal_dir}; store: {settings.store}",
                f"control: {settings.host.host_kwargs.get('control', 'none')} (for yard ctl)",
            ],
        )
        _console(namespace, banner, lambda: [row["name"] for row in host.robots()], leave)
        print("yard repl: stopping ...", flush=True)
        summary = system.stop()
    print_summary(summary)
    return exit_code(summary.rows)  # as yard run's: 1 if a robot failed


def _remote(args: argparse.Namespace, *, plain: bool) -> int:
    if args.log is not None:
        _log_to(args.log)
    client = _connect(args)
    try:
        leave = _Leave(plain)
        namespace = {"host": client, **bind_calls(client, leave=leave, stop_target=True)}
        try:
            names = [row["name"] for row in client.robots()]
        except YardError as exc:
            msg = f"the host at {args.connect} did not answer: {exc}"
            raise YardError(msg) from exc
        banner = _banner(
            f"yard repl: connected to the host at {args.connect} ({len(names)} robots)",
            robots=names,
            available=[name for name in CALLS if callable(getattr(client, name, None))],
            where=["Ctrl-D or exit() leaves the host running"],
            host_is="the remote client",
        )
        _console(namespace, banner, lambda: [row["name"] for row in client.robots()], leave)
    finally:
        client.close()
    print(f"yard repl: disconnected from {args.connect}", flush=True)
    return 0


def _connect(args: argparse.Namespace) -> Client:
    """The remote client, keyed with ``--keys DIR --key NAME`` (``tcp://`` needs them)."""
    if (args.keys is None) != (args.key is None):
        msg = "--keys DIR and --key NAME go together: the directory of keys and your key's name"
        raise ConfigError(msg)
    keys = None if args.keys is None else Security.from_keys(args.keys, args.key)
    return connect(args.connect, keys=keys, server=args.server)


class _Leave:
    """What ``stop()`` calls to end the console: IPython's ask_exit, or a SystemExit."""

    def __init__(self, plain: bool) -> None:
        self.plain = plain
        self._end: Callable[[], None] = leave_plain

    def set(self, end: Callable[[], None]) -> None:
        self._end = end

    def __call__(self) -> None:
        self._end()


def _console(
    namespace: dict[str, Any], banner: str, names: Callable[[], Sequence[str]], leave: _Leave
) -> None:
    if leave.plain:  # its own exit and quit: the built-in ones close standard input
        run_plain({**namespace, "exit": leave, "quit": leave}, banner, names)
    else:
        run_ipython(namespace, banner, names, leave.set)


def _feed_line(system: RunningSystem, settings: SystemSettings, speed: float | None) -> str:
    events = system.events
    what = "the sample day" if not settings.feed.files else ", ".join(settings.feed.files)
    if not events:
        return f"yard repl: {what}: no market events to publish"
    span_s = (events[-1].ts - events[0].ts) / 1e9
    if speed is None:
        pace = "as fast as possible (--speed 10 for ten times real time)"
    else:
        pace = f"at {speed:g}x real time, about {span_s / speed / 60:,.0f} minutes"
    return f"yard repl: {what}, {len(events):,} events, {pace}; robots keep running after it"


def _banner(
    first: str,
    *,
    robots: Sequence[str],
    available: Sequence[str],
    where: list[str],
    host_is: str = "the Host itself",
) -> str:
    example = robots[0] if robots else "robot-name"
    lines = [first, *where, f"robots: {', '.join(robots) or 'none'}", "type:"]
    lines += help_lines(example, available=available)
    lines.append(f"host is {host_is}; Tab completes robot names inside the calls.")
    return "\n".join(lines) + "\n"
