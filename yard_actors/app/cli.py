"""The ``yard`` command line.

``yard run`` runs an in-process demo on embedded defaults: a seeded feed of
Si and RTS quotes, the example robots, and a gateway that accepts every order,
all over ``inproc://``, with journals under ``./yard-data/``. ``yard replay``
rebuilds robots from a journal and says whether each replays identical
(:mod:`yard_actors.app.replay_command`).
``yard keys`` makes the CURVE key pairs that ``tcp://`` endpoints need
(:mod:`yard_actors.app.security_flags`).
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import shlex
import signal
import sys
from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path

import attrs

from gateways.pacing import check_speed
from gateways.paper import PaperConfig
from gateways.serve import HEALTH_EVERY_S as GATEWAY_HEALTH_EVERY_S
from gateways.serve import GatewaySettings, add_recovery_flags, recovery_limits_from, serve
from yard_actors.app.analyze_command import add_analyze_parser, analyze_command
from yard_actors.app.backtest_command import add_backtest_parser, backtest_command
from yard_actors.app.config_file import check_reachable, load_settings, with_journal_dir
from yard_actors.app.ctl_command import add_ctl_parser, ctl_command
from yard_actors.app.feed_command import add_feed_parser, event_limit, feed_command
from yard_actors.app.import_path import folder_first
from yard_actors.app.instrument_config import instruments_in_file
from yard_actors.app.lockstep import add_pace_flags
from yard_actors.app.repl import add_repl_parser, repl_command
from yard_actors.app.replay_command import add_replay_parser, replay_command
from yard_actors.app.run_folders import choose_run
from yard_actors.app.security_flags import add_security_flags, make_key_files, security_from
from yard_actors.app.signals import BROKEN_PIPE, silence_stdout
from yard_actors.app.templates import (
    DEPLOYMENT_COMMANDS,
    DEPLOYMENT_CONTROL,
    write_deployment,
    write_templates,
)
from yard_actors.app.traded_symbols import symbols_in_file
from yard_actors.app.yard_run import HEALTH_EVERY_S, run_all, run_host
from yard_actors.errors import ConfigError, YardError

__all__ = ["main"]

_PAPER = PaperConfig()  # the defaults of yard gateway's paper exchange flags, as yard run's
_GATEWAY_SYMBOLS = ("Si", "RTS")  # yard gateway's market data without --config: the demo's

# Commands that name a robot class or rebuild one from a journal: a module in the working
# folder imports, as with `python -m` (the console script leaves that folder off sys.path),
# so `yard backtest my_robot:MyRobot si.csv` works from where my_robot.py is, and so do the
# replay and analyze commands it prints. A config's folder, put first later, goes first.
_ROBOTS_FROM_WORKING_FOLDER = frozenset({"backtest", "replay", "analyze"})


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
    run.add_argument(
        "--role",
        choices=("all", "host"),
        default="all",
        help="all: feed, gateway and robots in this process (the default); host: only the "
        "robots, with the feed and the gateway in processes of their own",
    )
    run.add_argument("--robots", help="with --role host: the robots to host, comma-separated")
    add_pace_flags(run)
    run.add_argument(
        "--limit", type=event_limit, help="publish only the first N market events (N ≥ 1)"
    )
    run.add_argument(
        "--data-dir",
        help="the folder of the run folders, run-NNNN (default: the config's journal_dir "
        "folder; yard-data without a config)",
    )
    run.add_argument(
        "--resume",
        nargs="?",
        const="",
        metavar="RUN_DIR",
        help="continue the last run folder (or RUN_DIR) instead of making a new one; "
        "a robot whose code or params changed since stops start-up",
    )
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
    add_feed_parser(commands)
    init = commands.add_parser("init", help="write a commented yard.toml and a robot template")
    init.add_argument(
        "directory", nargs="?", default=".", help="where to write them (default: here)"
    )
    init.add_argument(
        "--deployment",
        action="store_true",
        help="instead, a deployment across processes: its yard.toml, and the commands to run",
    )
    gate = commands.add_parser("gateway", help="run the order gateway with the paper exchange")
    gate.add_argument(
        "--store",
        default="sqlite:///yard-data/yard.db",
        help="order store URL (default: %(default)s)",
    )
    gate.add_argument("--orders", required=True, help="bind: commands from hosts (PULL)")
    gate.add_argument("--replies", required=True, help="bind: reports to hosts (PUB)")
    gate.add_argument("--recovery", help="bind: replay and resolve requests (ROUTER)")
    gate.add_argument("--data", help="connect: the feed, for prices and session status")
    gate.add_argument(
        "--symbols",
        help="the symbols whose market data it takes from --data for the paper exchange, "
        "comma-separated (default: with --config, every symbol its robots trade; without, "
        f"{','.join(_GATEWAY_SYMBOLS)})",
    )
    gate.add_argument(
        "--config",
        help="yard.toml: its [instruments] are what the exchange lists, and its robots' "
        "symbols the market data it takes (unless --symbols)",
    )
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
    add_backtest_parser(commands)
    add_analyze_parser(commands)
    add_replay_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        if args.cpu:
            _pin(args.cpu)
        if args.command in _ROBOTS_FROM_WORKING_FOLDER:
            folder_first(Path.cwd())
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


def _init(args: argparse.Namespace) -> int:
    write = write_deployment if args.deployment else write_templates
    for path in write(Path(args.directory)):
        print(f"yard: wrote {path}")
    if args.deployment:
        where = "" if args.directory == "." else f" (cd {args.directory})"
        print(
            f"Run these from its folder{where}, the gateway and each host in a terminal of "
            "its own, the feed last (it waits for both hosts and the gateway):\n"
            f"{DEPLOYMENT_COMMANDS}Then supervise host-a:\n{DEPLOYMENT_CONTROL}",
            end="",
        )
    else:
        config = Path(args.directory) / "yard.toml"
        print(f"run it: yard run {shlex.quote(str(config))}")
    return 0


def _run(args: argparse.Namespace) -> int:
    if args.robots is not None and args.role != "host":
        msg = (
            f"--robots {args.robots} chooses the robots of one host: give --role host too "
            "(--role all, the default, runs every robot of the config)"
        )
        raise ConfigError(msg)
    if args.role == "host" and (args.resume is not None or args.data_dir is not None):
        msg = (
            "--resume and --data-dir choose run folders, which --role host has none of: a host "
            "always continues its --journal-dir (that is how it recovers from a crash)"
        )
        raise ConfigError(msg)
    if args.config is None and args.resume and Path(args.resume).is_file():
        args.config, args.resume = args.resume, ""  # yard run --resume yard.toml
    settings = load_settings(args.config)
    if args.role == "host":  # at once: it would wait for ever for peers nobody can start
        check_reachable(settings)
    if args.journal_dir:  # the default control endpoint moves with it (one per host)
        settings = with_journal_dir(settings, args.journal_dir)
    overrides = {k: v for k, v in (("control", args.control),) if v}
    if args.secret_key is not None:
        overrides["security"] = attrs.evolve(settings.security, secret_key=args.secret_key)
    if overrides:
        kwargs = {**settings.host.host_kwargs, **overrides}
        settings = attrs.evolve(settings, host=attrs.evolve(settings.host, host_kwargs=kwargs))
    speed = _speed(args.speed, settings.feed.speed)  # a bad one leaves no run directory behind
    if args.role == "host":
        names = [n for n in (args.robots or "").split(",") if n]
        return run_host(settings, names, health_every=args.health_every)
    run = choose_run(settings, data_dir=args.data_dir, resume=args.resume)
    print(run.announcement, flush=True)
    return run_all(
        run.settings,
        speed=speed,
        live=not args.quiet and sys.stdout.isatty(),
        limit=args.limit,
        clock=args.clock,
        resume_after=run.resume_after,
    )


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
            symbols=_gateway_symbols(args),
            paper=paper,
            exchange=args.exchange,
            health_every_s=args.health_every,
            security=security_from(args),
            recovery_limits=recovery_limits_from(args),
            **({} if args.config is None else {"instruments": instruments_in_file(args.config)}),
        )
    )
    return 0


def _gateway_symbols(args: argparse.Namespace) -> tuple[str, ...]:
    """``--symbols`` where given; else those the ``--config`` robots trade; else the demo's."""
    if args.symbols is not None:
        return tuple(s for s in args.symbols.split(",") if s)
    if args.config is not None:
        return symbols_in_file(args.config)
    return _GATEWAY_SYMBOLS


def _keys(args: argparse.Namespace) -> int:
    for line in make_key_files(Path(args.directory), args.names):
        print(line)
    return 0


_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "run": _run,
    "feed": feed_command,
    "gateway": _gateway,
    "init": _init,
    "keys": _keys,
    "replay": replay_command,
    "ctl": ctl_command,
    "backtest": backtest_command,
    "analyze": analyze_command,
    "repl": repl_command,
}

if __name__ == "__main__":
    sys.exit(main())
