"""``yard feed``: publish files (or the sample day) on a data endpoint, once its peers are ready.

Its flags, and the command, which hands them to :func:`gateways.feed.serve_feed`. The feed
waits before it publishes: for ``--hosts N`` hosts and ``--gateways`` gateways to say they
are ready (each once, whatever it trades: ``docs/wire.md`` 1), or, without ``--hosts``,
for ``--wait-for`` subscribers to some symbol.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from gateways.feed import serve_feed
from gateways.pacing import check_speed
from gateways.readers import time_zone
from yard_actors.app.instrument_config import instruments_in_file
from yard_actors.app.security_flags import add_security_flags, security_from
from yard_actors.app.signals import SignalsInterrupt
from yard_actors.errors import ConfigError

__all__ = ["add_feed_parser", "event_limit", "feed_command"]


def add_feed_parser(commands: Any) -> None:  # argparse._SubParsersAction, private
    """Add ``yard feed`` and its flags to the ``yard`` subcommands."""
    feed = commands.add_parser("feed", help="publish CSV/Finam files (or the sample day)")
    feed.add_argument("files", nargs="*", help="CSV or Finam exports; none: the sample day")
    feed.add_argument("--bind", default="tcp://*:5561", help="the data endpoint to bind (PUB)")
    feed.add_argument("--speed", help="'max' (default), 1 for real time, 10 for ten times")
    feed.add_argument("--strict", action="store_true", help="stop at the first bad row")
    feed.add_argument(
        "--hosts",
        type=_peers("hosts"),
        metavar="N",
        help="wait for N hosts and --gateways gateways to be ready first (docs/wire.md 1)",
    )
    feed.add_argument(
        "--gateways",
        type=_peers("gateways"),
        default=1,
        metavar="N",
        help="with --hosts: the gateways to wait for (default: %(default)s)",
    )
    feed.add_argument(
        "--wait-for",
        type=_peers("subscribers"),
        metavar="N",
        help="without --hosts: wait for N subscribers to some symbol first (default: 1)",
    )
    feed.add_argument(
        "--limit", type=event_limit, help="publish only the first N market events (N ≥ 1)"
    )
    feed.add_argument("--no-sessions", action="store_true", help="do not add FORTS sessions")
    feed.add_argument("--seed", type=int, default=7, help="the sample day's seed")
    feed.add_argument(
        "--tz",
        default="UTC",
        help="the time zone of CSV timestamps written without one, such as Europe/Moscow "
        "(default: %(default)s; Finam exports are Moscow time whatever it is)",
    )
    feed.add_argument("--config", help="yard.toml: its [instruments] give the tick grids")
    add_security_flags(feed)


def feed_command(args: argparse.Namespace) -> int:
    """Run ``yard feed``; its exit code (ConfigError for ``--hosts`` with ``--wait-for``)."""
    if args.hosts is not None and args.wait_for is not None:
        msg = (
            f"--hosts {args.hosts} and --wait-for {args.wait_for}: give one; --hosts waits for "
            "hosts and the gateway, --wait-for for subscribers to one symbol"
        )
        raise ConfigError(msg)
    speed = None if args.speed is None else check_speed(args.speed, source="--speed")
    with SignalsInterrupt() as signals:  # SIGTERM stops it as Ctrl-C does, with its summary
        code = serve_feed(
            args.files,
            args.bind,
            speed=speed,
            strict=args.strict,
            wait_for=1 if args.wait_for is None else args.wait_for,
            hosts=args.hosts,
            gateways=args.gateways,
            limit=args.limit,
            sessions=not args.no_sessions,
            seed=args.seed,
            security=security_from(args),
            zone=time_zone(args.tz),
            instruments=None if args.config is None else instruments_in_file(args.config),
        )
    return signals.exit_code(code)


def event_limit(text: str) -> int:
    """``--limit`` of ``yard feed`` and ``yard run``: argparse names the flag in the error,
    before anything starts."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        msg = f"must be a whole number of events, 1 or more, was {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return value


def _peers(what: str) -> Callable[[str], int]:
    """An argparse type for a count of peers ≥ 0; argparse names the flag in its error."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = -1
        if value < 0:
            msg = f"must be a whole number of {what}, 0 or more, was {text!r}"
            raise argparse.ArgumentTypeError(msg)
        return value

    return parse
