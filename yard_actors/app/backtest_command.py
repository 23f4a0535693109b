"""``yard backtest``: one robot class over market data files, in one thread, as ``yard run`` would.

``yard backtest robots.trend:TrendFollower si.csv --params fast=5 slow=20`` runs the robot
over the files (CSV or Finam, merged in time, with the FORTS sessions ``yard run`` adds;
none: the sample day) with the paper exchange, by the rules of a market-time ``yard run``
(:mod:`yard_actors.backtest`), then prints ``yard run``'s summary table and the commands
that replay and analyse the run. A ``yard.toml`` among the arguments gives the robot's
risk limits (``[risk]``, or those of the config's robot of the same name), the
instruments, ``[paper]`` and ``[feed]`` (its files when none are given, its seed, time
zone and sessions); ``--latency-ms`` and ``--fee-per-lot`` override ``[paper]``.

Each backtest gets a run folder of its own, ``<data dir>/backtests/run-NNNN`` (apart from
``yard run``'s, so ``yard run --resume`` never picks one up), or ``--out DIR``: its
journal and its SQLite store, as a live run's.
"""

from __future__ import annotations

import argparse
import itertools
import tomllib
from collections.abc import Iterator, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import attrs

from gateways.feed import Published, market_stream
from gateways.paper import PaperConfig
from gateways.readers import FeedError, read_file, time_zone
from yard_actors.app.config_file import SystemSettings, load_settings
from yard_actors.app.run_folders import fresh_run_dir
from yard_actors.app.running_system import RunSummary
from yard_actors.app.summary import BACKTEST_TITLE, exit_code, summarize
from yard_actors.app.yard_run import print_summary
from yard_actors.backtest import BacktestSession
from yard_actors.errors import ConfigError
from yard_actors.host.host_config import RobotSettings
from yard_actors.host.robot_checks import robot_problem
from yard_actors.robot.loader import load_robot_class
from yard_actors.robot.risk import RiskLimits

__all__ = ["add_backtest_parser", "backtest_command", "backtest_settings", "market_of"]

_CONFIG_SUFFIX = ".toml"


def add_backtest_parser(commands: Any) -> None:  # argparse._SubParsersAction, private
    """``yard backtest``'s arguments."""
    parser = commands.add_parser(
        "backtest", help="run one robot class over market data files, in one thread"
    )
    parser.add_argument("robot_class", help="the robot's class, such as robots.trend:TrendFollower")
    parser.add_argument(
        "inputs",
        nargs="*",
        metavar="DATA_FILE",
        help="CSV or Finam files (none: the config's [feed] files, or the sample day); "
        "a yard.toml among them is the config",
    )
    parser.add_argument(
        "--params",
        nargs="+",
        action="extend",
        default=[],
        metavar="K=V",
        help="the robot's params, after the files; values as in TOML (5, 0.5, true, "
        '"text"), else text',
    )
    parser.add_argument("--name", help="the robot's name (default: its class name, lowercase)")
    parser.add_argument(
        "--symbols", metavar="S,...", help="its symbols, comma-separated (default: its class's)"
    )
    parser.add_argument(
        "--latency-ms", type=float, metavar="MS", help="paper exchange latency ([paper])"
    )
    parser.add_argument("--fee-per-lot", metavar="FEE", help="paper exchange fee per lot ([paper])")
    parser.add_argument(
        "--limit", type=int, metavar="N", help="only the first N market events (N ≥ 1)"
    )
    parser.add_argument(
        "--seed", type=int, metavar="N", help="the sample day's seed ([feed] seed, or 7)"
    )
    parser.add_argument(
        "--tz", metavar="ZONE", help="the time zone of CSV times without one ([feed] tz, UTC)"
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--out", type=Path, metavar="DIR", help="the run folder (new, or empty)")
    where.add_argument(
        "--data-dir",
        type=Path,
        default=Path("yard-data"),
        metavar="DIR",
        help="a new run folder in DIR/backtests (default: %(default)s)",
    )


def backtest_command(args: argparse.Namespace) -> int:
    """Run the backtest ``args`` describe; print the summary; 1 if the robot failed, else 0."""
    settings, robot, files = backtest_settings(args)
    _check_files(settings, files)
    run_dir = _run_dir(args.out, args.data_dir)
    print(f"yard backtest: {robot.name} ({robot.class_path}) in {run_dir}", flush=True)
    with BacktestSession(
        run_dir, [robot], paper=settings.paper, instruments=settings.instruments
    ) as session:
        try:
            counts = session.run(market_of(settings, files, args.limit))
        except FeedError as exc:
            msg = (
                f"{exc} The backtest stopped at that row: {run_dir} holds a partial run "
                "(its journal and store up to there); delete it, fix the file and run again."
            )
            raise FeedError(msg) from exc
        snapshots, orders, fills = session.snapshots(), session.orders(), session.fills()
    # The equity curves need the market again (every quote, print and bar marks), but only
    # for a robot with fills: with none, its curve is flat and nothing is read twice.
    market = market_of(settings, files, args.limit) if any(fills.values()) else ()
    rows = summarize(snapshots, orders, fills, market, settings.instruments)
    summary = RunSummary(
        rows=rows,
        events=counts.events,
        seconds=counts.seconds,
        journal=session.journal_dir,
        store=session.store_url,
        robots=session.names,
    )
    print_summary(summary, title=BACKTEST_TITLE)  # with how to replay and analyse the run
    return exit_code(rows)


def backtest_settings(
    args: argparse.Namespace,
) -> tuple[SystemSettings, RobotSettings, tuple[str, ...]]:
    """The config (flags over it), the robot and the data files ``args`` name.

    Raises ConfigError naming the flag or the config key that is wrong, before any file
    is written.
    """
    configs = [p for p in args.inputs if p.endswith(_CONFIG_SUFFIX)]
    if len(configs) > 1:
        msg = f"give one config file, not {len(configs)}: {', '.join(configs)}"
        raise ConfigError(msg)
    settings = load_settings(configs[0] if configs else None)
    settings = attrs.evolve(settings, paper=_paper(settings.paper, args))
    if args.seed is not None or args.tz is not None:
        feed = settings.feed
        seed = feed.seed if args.seed is None else args.seed
        zone = feed.tz if args.tz is None else time_zone(args.tz)
        settings = attrs.evolve(settings, feed=attrs.evolve(feed, seed=seed, tz=zone))
    if args.limit is not None and args.limit < 1:
        msg = f"--limit must be a whole number of events, 1 or more, was {args.limit}"
        raise ConfigError(msg)
    files = tuple(p for p in args.inputs if not p.endswith(_CONFIG_SUFFIX)) or settings.feed.files
    for file in files:
        if not Path(file).is_file():
            msg = f"data file {file} does not exist (give CSV or Finam files, or none)"
            raise ConfigError(msg)
    return settings, _robot(settings, args), files


def _check_files(settings: SystemSettings, files: Sequence[str]) -> None:
    """Read each file up to its first event: one that cannot be read, whose format cannot be
    told, or that has no rows raises its FeedError now, before the run folder is made,
    not in the middle of the backtest."""
    for file in files:
        reader = read_file(file, zone=settings.feed.tz, instruments=settings.instruments)
        try:
            next(reader, None)
        finally:
            reader.close()


def market_of(
    settings: SystemSettings, files: Sequence[str], limit: int | None
) -> Iterator[Published]:
    """The market ``yard run`` publishes for ``files``: merged, with sessions, cut at ``limit``."""
    feed = settings.feed
    readers = [read_file(path, zone=feed.tz, instruments=settings.instruments) for path in files]
    stream = market_stream(
        readers, seed=feed.seed, sessions=feed.sessions, instruments=settings.instruments
    )
    return itertools.islice(stream, limit)


def _robot(settings: SystemSettings, args: argparse.Namespace) -> RobotSettings:
    cls = load_robot_class(args.robot_class)
    name = args.name or cls.__name__.lower()
    symbols = None if args.symbols is None else tuple(s for s in args.symbols.split(",") if s)
    params = _params(args.params)
    problem = robot_problem(
        cls,
        name,
        params=params,
        symbols=symbols,
        limits=_limits(settings, name),
        instruments=settings.instruments.by_symbol(),
    )
    if problem is not None:
        key, why = problem
        msg = f"robot {name}{key}: {why}"
        raise ConfigError(msg)
    return RobotSettings(
        class_path=args.robot_class,
        name=name,
        symbols=symbols,
        params=params,
        limits=_limits(settings, name),
    )


def _limits(settings: SystemSettings, name: str) -> RiskLimits:
    """The config's robot of that name's limits, else ``[risk]`` (yard's defaults without)."""
    for robot in settings.host.robots:
        if robot.name == name:
            return robot.limits
    risk = settings.host.host_kwargs["risk"]
    assert isinstance(risk, RiskLimits)
    return risk


def _params(pairs: Sequence[str]) -> dict[str, Any]:
    """``k=v`` pairs; each value read as a TOML value, or kept as text if it is not one."""
    params: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key:
            msg = (
                f"--params takes key=value pairs such as fast=5, was {pair!r} "
                "(give the data files and the config before --params)"
            )
            raise ConfigError(msg)
        try:
            params[key] = tomllib.loads(f"v = {text}")["v"]
        except tomllib.TOMLDecodeError:
            params[key] = text
    return params


def _paper(paper: PaperConfig, args: argparse.Namespace) -> PaperConfig:
    given: dict[str, Any] = {}
    if args.latency_ms is not None:
        if not 0 <= args.latency_ms < float("inf"):
            msg = f"--latency-ms must be a number of milliseconds, 0 or more, was {args.latency_ms}"
            raise ConfigError(msg)
        given["latency_ns"] = PaperConfig.ns_from_ms(args.latency_ms)
    if args.fee_per_lot is not None:
        try:
            fee = Decimal(args.fee_per_lot)
        except InvalidOperation:
            fee = Decimal("NaN")
        if not fee.is_finite() or fee < 0:
            msg = f"--fee-per-lot must be a decimal ≥ 0 such as 0.5, was {args.fee_per_lot!r}"
            raise ConfigError(msg)
        given["fee_per_lot"] = fee
    return attrs.evolve(paper, **given) if given else paper


def _run_dir(out: Path | None, data_dir: Path) -> Path:
    """``--out``, made if missing (refused if it holds anything), or a fresh run folder."""
    if out is None:
        return fresh_run_dir(data_dir / "backtests")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        msg = f"--out {out} is not an empty folder: a backtest writes a run folder of its own"
        raise ConfigError(msg)
    out.mkdir(parents=True, exist_ok=True)
    return out
