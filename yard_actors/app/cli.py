"""The ``yard`` command line.

``yard run`` runs an in-process demo on embedded defaults: a seeded feed of
Si and RTS quotes, the example robots, and a gateway that accepts every order,
all over ``inproc://``, with journals under ``./yard-data/``. ``yard replay``
rebuilds a robot from its journal and says whether the replay was faithful.
``yard keys`` makes the CURVE key pairs that ``tcp://`` endpoints need
(:mod:`yard_actors.app.security_flags`).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import signal
import sys
from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import attrs

from gateways.feed import serve_feed
from gateways.pacing import check_speed
from gateways.paper import PaperConfig
from gateways.readers import time_zone
from gateways.serve import HEALTH_EVERY_S as GATEWAY_HEALTH_EVERY_S
from gateways.serve import GatewaySettings, add_recovery_flags, recovery_limits_from, serve
from yard_actors.app.config_file import load_settings, with_journal_dir
from yard_actors.app.ctl_command import add_ctl_parser, ctl_command
from yard_actors.app.lockstep import add_pace_flags
from yard_actors.app.repl import add_repl_parser, repl_command
from yard_actors.app.replay_paths import journal_in, robots_beside
from yard_actors.app.security_flags import add_security_flags, make_key_files, security_from
from yard_actors.app.signals import BROKEN_PIPE, SignalsInterrupt, silence_stdout
from yard_actors.app.templates import write_templates
from yard_actors.app.wording import count
from yard_actors.app.yard_run import (
    HEALTH_EVERY_S,
    fresh_run_dir,
    in_run_dir,
    run_all,
    run_host,
)
from yard_actors.errors import ConfigError, YardError
from yard_actors.journal.replay import replay

__all__ = ["main"]

_PAPER = PaperConfig()  # the defaults of yard gateway's paper exchange flags, as yard run's


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="yard", description="An actor-model host for algorithmic trading robots."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    parser.add_argument(
        "--cpu",
        type=int,
        action="append",
        metavar="N",
        help="pin this process to CPU N (repeatable); one core halves latency, see BENCHMARKS.md",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    run = commands.add_parser(
        "run", help="run feed, gateway and robots (all in one process, or one --role of them)"
    )
    run.add_argument("config", nargs="?", help="yard.toml (none: the embedded demo defaults)")
    run.add_argument("--role", choices=("all", "host"), default="all", help="what to run")
    run.add_argument("--robots", help="with --role host: the robots to host, comma-separated")
    add_pace_flags(run)
    run.add_argument(
        "--limit", type=_positive_count, help="publish only the first N market events (N ≥ 1)"
    )
    run.add_argument("--data-dir", default="yard-data", help="without a config: run-NNNN here")
    run.add_argument("--quiet", action="store_true", help="no live progress, only the summary")
    run.add_argument(
        "--journal-dir", help="override the config's journal_dir (each host needs its own)"
    )
    run.add_argument("--control", help="override the config's control endpoint (one per host)")
    run.add_argument(
        "--secret-key",
        type=Path,
        metavar="FILE",
        help="override [security] secret_key (each host its own key pair)",
    )
    run.add_argument(
        "--health-every",
        type=_health_every,
        default=HEALTH_EVERY_S,
        metavar="S",
        help="with --role host: log the robots' and intakes' counters every S seconds "
        "and on SIGUSR1 (0: only on SIGUSR1; default: %(default)s)",
    )
    _add_feed_parser(commands)
    init = commands.add_parser("init", help="write a commented yard.toml and a robot template")
    init.add_argument("directory", nargs="?", default=".", help="where to write them")
    gate = commands.add_parser("gateway", help="run the order gateway with the paper exchange")
    gate.add_argument("--store", default="sqlite:///yard-data/yard.db", help="order store URL")
    gate.add_argument("--orders", required=True, help="bind: commands from hosts (PULL)")
    gate.add_argument("--replies", required=True, help="bind: reports to hosts (PUB)")
    gate.add_argument("--recovery", help="bind: replay and resolve requests (ROUTER)")
    gate.add_argument("--data", help="connect: the feed, for prices and session status")
    gate.add_argument("--symbols", default="Si,RTS", help="symbols to watch, comma-separated")
    gate.add_argument(
        "--latency-ms",
        type=_milliseconds,
        default=_PAPER.latency_ms,
        help="paper exchange latency (default: %(default)s)",
    )
    gate.add_argument(
        "--fee-per-lot",
        type=_fee,
        default=_PAPER.fee_per_lot,
        help="paper exchange fee per lot (default: %(default)s)",
    )
    gate.add_argument(
        "--require-session",
        action=argparse.BooleanOptionalAction,
        default=_PAPER.require_session,
        help="refuse orders until --data brings an open session (default: %(default)s)",
    )
    gate.add_argument(
        "--health-every",
        type=_health_every,
        default=GATEWAY_HEALTH_EVERY_S,
        metavar="S",
        help="log the gateway's counters every S seconds and on SIGUSR1 "
        "(0: only on SIGUSR1; default: %(default)s)",
    )
    gate.add_argument(
        "--exchange",
        metavar="MODULE:FACTORY",
        help="an exchange adapter to run instead of the paper exchange (called with no arguments)",
    )
    add_recovery_flags(gate)
    add_security_flags(gate)
    keys = commands.add_parser(
        "keys", help="make CURVE key pairs for tcp:// endpoints: NAME.key and NAME.key_secret"
    )
    keys.add_argument("directory", help="where to write them (made, owner-only, if missing)")
    keys.add_argument(
        "--name",
        action="append",
        dest="names",
        metavar="NAME",
        help="a key pair to make (repeatable; default: feed, gateway and host)",
    )
    add_repl_parser(commands)
    add_ctl_parser(commands)
    rep = commands.add_parser("replay", help="rebuild a robot from its journal")
    rep.add_argument("journal_dir", help="the host's journal directory, or a run-NNNN folder")
    rep.add_argument("robot", help="the robot's name")
    rep.add_argument("--snapshot", action="store_true", help="print the rebuilt robot's state")
    return parser


def _add_feed_parser(commands: Any) -> None:  # argparse._SubParsersAction, private
    """``yard feed``'s flags."""
    feed = commands.add_parser("feed", help="publish CSV/Finam files (or the sample day)")
    feed.add_argument("files", nargs="*", help="CSV or Finam exports; none: the sample day")
    feed.add_argument("--bind", default="tcp://*:5561", help="the data endpoint to bind (PUB)")
    feed.add_argument("--speed", help="'max' (default), 1 for real time, 10 for ten times")
    feed.add_argument("--strict", action="store_true", help="stop at the first bad row")
    feed.add_argument("--wait-for", type=int, default=1, help="subscribers to wait for first")
    feed.add_argument("--no-sessions", action="store_true", help="do not add FORTS sessions")
    feed.add_argument("--seed", type=int, default=7, help="the sample day's seed")
    feed.add_argument(
        "--tz",
        default="UTC",
        help="the time zone of CSV timestamps written without one, such as Europe/Moscow "
        "(default: %(default)s; Finam exports are Moscow time whatever it is)",
    )
    add_security_flags(feed)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        if args.cpu:
            _pin(args.cpu)
        command = _COMMANDS.get(args.command)
        if command is not None:
            code = command(args)
            sys.stdout.flush()  # here, where a reader gone away is caught, not at exit
            return code
    except YardError as exc:
        print(f"yard: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `yard replay ... | head`: the reader has all it wanted
        silence_stdout()
        return BROKEN_PIPE
    except KeyboardInterrupt:  # Ctrl-C where a command does not stop in order by itself
        print("yard: interrupted", file=sys.stderr)
        return 128 + signal.SIGINT
    _parser().print_help()
    return 0


def _feed(args: argparse.Namespace) -> int:
    with SignalsInterrupt() as signals:  # SIGTERM stops it as Ctrl-C does, with its summary
        code = serve_feed(
            args.files,
            args.bind,
            speed=_speed(args.speed, None),
            strict=args.strict,
            wait_for=args.wait_for,
            sessions=not args.no_sessions,
            seed=args.seed,
            security=security_from(args),
            zone=time_zone(args.tz),
        )
    return signals.exit_code(code)


def _init(args: argparse.Namespace) -> int:
    for path in write_templates(Path(args.directory)):
        print(f"yard: wrote {path}")
    return 0


def _run(args: argparse.Namespace) -> int:
    if args.robots is not None and args.role != "host":
        msg = (
            f"--robots {args.robots} chooses the robots of one host: give --role host too "
            "(--role all, the default, runs every robot of the config)"
        )
        raise ConfigError(msg)
    settings = load_settings(args.config)
    if args.journal_dir:  # the default control endpoint moves with it (one per host)
        settings = with_journal_dir(settings, args.journal_dir)
    overrides = {k: v for k, v in (("control", args.control),) if v}
    if args.secret_key is not None:
        overrides["security"] = attrs.evolve(settings.security, secret_key=args.secret_key)
    if overrides:
        kwargs = {**settings.host.host_kwargs, **overrides}
        settings = attrs.evolve(settings, host=attrs.evolve(settings.host, host_kwargs=kwargs))
    speed = _speed(args.speed, settings.feed.speed)  # a bad one leaves no run directory behind
    if args.config is None:
        settings = in_run_dir(settings, fresh_run_dir(Path(args.data_dir)))
    if args.role == "host":
        names = [n for n in (args.robots or "").split(",") if n]
        return run_host(settings, names, health_every=args.health_every)
    return run_all(
        settings,
        speed=speed,
        live=not args.quiet and sys.stdout.isatty(),
        limit=args.limit,
        clock=args.clock,
    )


def _positive_count(text: str) -> int:
    """``--limit``: argparse names the flag in the error, before anything starts."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        msg = f"must be a whole number of events, 1 or more, was {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return value


def _speed(given: str | None, configured: float | None) -> float | None:
    return configured if given is None else check_speed(given, source="--speed")


def _non_negative(unit: str, zero: str = "") -> Callable[[str], float]:
    """An argparse type for a finite number ≥ 0; argparse names the flag in its error."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not 0 <= value < math.inf:
            msg = f"must be a number of {unit}, 0{zero} or more, was {text!r}"
            raise argparse.ArgumentTypeError(msg)
        return value

    return parse


_health_every = _non_negative("seconds", " (only on SIGUSR1)")
_milliseconds = _non_negative("milliseconds")


def _fee(text: str) -> Decimal:
    """``--fee-per-lot``: argparse reports the ArgumentTypeError with the flag's name."""
    try:
        fee = Decimal(text)
    except InvalidOperation:
        fee = Decimal("NaN")
    if not fee.is_finite() or fee < 0:
        msg = f"must be a decimal ≥ 0 such as 0.5, was {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return fee


def _pin(cpus: list[int]) -> None:
    """Keep the process on ``cpus``: threads that hand work to each other under one GIL
    run faster on one core than across two (measured in BENCHMARKS.md)."""
    try:
        os.sched_setaffinity(0, set(cpus))
    except (OSError, ValueError) as exc:
        msg = f"cannot pin to CPUs {sorted(set(cpus))}: {exc}"
        raise YardError(msg) from exc


def _gateway(args: argparse.Namespace) -> int:
    paper = PaperConfig(
        latency_ns=PaperConfig.ns_from_ms(args.latency_ms),
        fee_per_lot=args.fee_per_lot,
        require_session=args.require_session,
    )
    serve(
        GatewaySettings(
            store=args.store,
            orders=args.orders,
            replies=args.replies,
            recovery=args.recovery,
            data=args.data,
            symbols=tuple(s for s in args.symbols.split(",") if s),
            paper=paper,
            exchange=args.exchange,
            health_every_s=args.health_every,
            security=security_from(args),
            recovery_limits=recovery_limits_from(args),
        )
    )
    return 0


def _keys(args: argparse.Namespace) -> int:
    for line in make_key_files(Path(args.directory), args.names):
        print(line)
    return 0


def _replay_command(args: argparse.Namespace) -> int:
    journal_dir = journal_in(args.journal_dir)  # a run folder: the journal inside it
    robots_beside(journal_dir)
    return _replay(str(journal_dir), args.robot, show=args.snapshot)


def _replay(journal_dir: str, robot: str, *, show: bool) -> int:
    """Exit 0 for a faithful replay, 1 for a divergence or a failure, 2 for a YardError."""
    try:
        result = replay(journal_dir, robot)
    except YardError:
        raise
    except Exception as exc:  # the robot could not even be built: a line, not a traceback
        msg = f"yard: cannot replay {robot} from {journal_dir}: {type(exc).__name__}: {exc}"
        print(msg, file=sys.stderr)
        return 1
    if result.failure is not None:
        verdict = f"FAILED: {result.failure}"
    elif result.divergence is not None:
        verdict = f"DIVERGED at {result.divergence}"
    else:
        verdict = "faithful"
    print(
        f"{robot}: {count(len(result.events), 'event')}, "
        f"{count(len(result.commands), 'command')} replayed; " + verdict
    )
    if show:
        print(json.dumps(result.robot.snapshot(), indent=2, sort_keys=True))
    return 0 if result.faithful else 1


_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "run": _run,
    "feed": _feed,
    "gateway": _gateway,
    "init": _init,
    "keys": _keys,
    "replay": _replay_command,
    "ctl": ctl_command,
    "repl": repl_command,
}

if __name__ == "__main__":
    sys.exit(main())
