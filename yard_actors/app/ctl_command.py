"""``yard ctl``: one supervision call on a running host, from this machine or another.

``yard ctl --endpoint URL [--keys DIR --key NAME] ACTION ...`` connects to the host's
control endpoint (:mod:`yard_actors.ctl`), makes one call, prints its answer the way
``yard repl`` shows it (the robot table, a sentence, a snapshot as JSON) and exits:
0 when the host did it, 1 when it refused or failed (its error on stderr), 2 for a
usage error (a bad flag, no keys for ``tcp://``). Over ``tcp://`` the client needs
its key pair and the host's public key (``--keys DIR --key NAME``; ``yard keys DIR
--name NAME`` makes one, and the host must hold ``NAME.key`` among its public keys).

A param's value (``params trend-si qty=2 fast=5``) is read as JSON when it is a whole
number, ``true``, ``false``, ``null``, a list or an object; anything else (``0.5``,
``buy``) stays text, so a price reaches the robot's params class exact, never a float.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Final

from yard_actors.app.tables import robots_text
from yard_actors.ctl import DEFAULT_TIMEOUT_S, Client, connect
from yard_actors.errors import ConfigError, YardError
from yard_actors.net import Security

__all__ = ["add_ctl_parser", "ctl_command", "parse_params"]

_ACTIONS: Final = (
    "status, snapshot, failure, pause, resume, params, restart, halt, add, remove, stats"
)


def add_ctl_parser(commands: Any) -> None:
    """Add ``yard ctl`` and its actions to the ``yard`` subcommands."""
    ctl = commands.add_parser("ctl", help=f"one supervision call on a running host ({_ACTIONS})")
    ctl.add_argument("--endpoint", required=True, metavar="URL", help="the host's control URL")
    ctl.add_argument("--keys", type=Path, metavar="DIR", help="the directory of yard keys")
    ctl.add_argument("--key", metavar="NAME", help="this client's key pair in --keys")
    ctl.add_argument(
        "--server",
        default="host",
        metavar="NAME",
        help="the host's key name in --keys (default: %(default)s)",
    )
    ctl.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_S,
        metavar="S",
        help="seconds to wait for an answer (default: %(default)s)",
    )
    actions = ctl.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("status", help="the robot table")
    for action, what in (
        ("snapshot", "a robot's full state, as JSON"),
        ("failure", "the traceback of a robot's failure"),
        ("pause", "hold a robot's orders; it keeps handling events"),
        ("resume", "let a paused robot send again"),
        ("restart", "rebuild a robot from its journal"),
        ("remove", "cancel a robot's working orders and remove it"),
    ):
        actions.add_parser(action, help=what).add_argument("name", help="the robot's name")
    params = actions.add_parser("params", help="change a robot's params: NAME k=v ...")
    params.add_argument("name", help="the robot's name")
    params.add_argument("params", nargs="+", metavar="k=v", help="the params to set")
    actions.add_parser("halt", help="cancel every working order and halt every robot")
    add = actions.add_parser("add", help="start a robot: CLASS --name N [k=v ...]")
    add.add_argument(
        "robot_class", metavar="CLASS", help="module:Class, e.g. robots.trend:TrendFollower"
    )
    add.add_argument("--name", required=True, help="the new robot's name")
    add.add_argument("--symbols", help="its symbols, comma-separated (default: its class's)")
    add.add_argument("params", nargs="*", metavar="k=v", help="its params")
    actions.add_parser("stats", help="the control endpoint's counters, as JSON")


def ctl_command(args: argparse.Namespace) -> int:
    """Run ``yard ctl``; return its exit code (see the module's docstring)."""
    try:
        keys = _keys(args)
        call = _CALLS[args.action]
        params = parse_params(getattr(args, "params", None) or [])
        client = connect(args.endpoint, keys=keys, server=args.server, timeout=args.timeout)
    except (ConfigError, ValueError) as exc:
        print(f"yard ctl: {exc}", file=sys.stderr)
        return 2
    try:
        print(call(client, args, params))
    except YardError as exc:
        print(f"yard ctl: {exc}", file=sys.stderr)
        return 1
    finally:
        client.close()
    return 0


def parse_params(pairs: Sequence[str]) -> dict[str, Any]:
    """``["qty=2", "side=buy"]`` -> ``{"qty": 2, "side": "buy"}``; ValueError names a bad one."""
    params: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key:
            msg = f"a param is key=value, such as qty=2, was {pair!r}"
            raise ValueError(msg)
        params[key] = _value(text)
    return params


def _value(text: str) -> Any:
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return value if value is None or isinstance(value, bool | int | list | dict) else text


def _keys(args: argparse.Namespace) -> Security | None:
    if (args.keys is None) != (args.key is None):
        msg = "--keys DIR and --key NAME go together: the directory of keys and your key's name"
        raise ConfigError(msg)
    return None if args.keys is None else Security.from_keys(args.keys, args.key)


def _status(client: Client, args: argparse.Namespace, params: dict[str, Any]) -> str:
    return robots_text(client.robots())  # to a pipe, a robot's row on one line


def _snapshot(client: Client, args: argparse.Namespace, params: dict[str, Any]) -> str:
    return json.dumps(client.snapshot(args.name), indent=2, sort_keys=True)


def _failure(client: Client, args: argparse.Namespace, params: dict[str, Any]) -> str:
    return client.failure(args.name) or f"{args.name} has not failed"


def _params(client: Client, args: argparse.Namespace, params: dict[str, Any]) -> str:
    after = client.set_params(args.name, **params)
    return f"{args.name} params: {json.dumps(after, sort_keys=True)}"


def _add(client: Client, args: argparse.Namespace, params: dict[str, Any]) -> str:
    symbols = [s for s in args.symbols.split(",") if s] if args.symbols else None
    name = client.add_robot(args.robot_class, name=args.name, symbols=symbols, params=params)
    return f"{name} added"


def _remove(client: Client, args: argparse.Namespace, params: dict[str, Any]) -> str:
    cancelled = client.remove_robot(args.name)
    if not cancelled:
        return f"{args.name} removed; it had no working orders"
    return f"{args.name} removed; cancelled its working orders {', '.join(cancelled)}"


def _stats(client: Client, args: argparse.Namespace, params: dict[str, Any]) -> str:
    return json.dumps(client.control_stats(), indent=2, sort_keys=True)


_Call = Callable[[Client, argparse.Namespace, dict[str, Any]], str]
_CALLS: Final[dict[str, _Call]] = {
    "status": _status,
    "snapshot": _snapshot,
    "failure": _failure,
    "pause": lambda client, args, params: client.pause(args.name),
    "resume": lambda client, args, params: client.resume(args.name),
    "params": _params,
    "restart": lambda client, args, params: client.restart(args.name),
    "halt": lambda client, args, params: str(client.halt()),
    "add": _add,
    "remove": _remove,
    "stats": _stats,
}
