"""The command line's security flags and ``yard keys``: one definition for every command.

``yard feed`` and ``yard gateway`` take the same flags, read into one
:class:`~yard_actors.net.Security` (its defaults are the flags' defaults); a host
reads ``[security]`` from yard.toml instead, and ``yard run --secret-key`` gives
each host of one config its own key.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from yard_actors.net import FEED, GATEWAY, LOCAL_ONLY, Security, make_keys

__all__ = ["DEFAULT_KEY_NAMES", "add_security_flags", "make_key_files", "security_from"]

DEFAULT_KEY_NAMES: Final = (FEED, GATEWAY, "host")
"""The key pairs ``yard keys DIR`` makes when no ``--name`` is given: one deployment's."""


def add_security_flags(parser: argparse.ArgumentParser) -> None:
    """Add ``--secret-key``, ``--public-keys``, ``--server-key``, ``--allow-insecure-tcp``
    and ``--max-message-size`` to ``parser``."""
    group = parser.add_argument_group(
        "security", "CURVE keys for tcp:// endpoints (inproc:// and ipc:// need none)"
    )
    group.add_argument(
        "--secret-key",
        type=Path,
        metavar="FILE",
        help="this component's key pair, NAME.key_secret (made by yard keys)",
    )
    group.add_argument(
        "--public-keys",
        type=Path,
        metavar="DIR",
        help="the directory of public keys (NAME.key) it trusts, its servers' included",
    )
    group.add_argument(
        "--server-key",
        type=_server_key,
        action="append",
        default=[],
        metavar="NAME=FILE",
        help="the public key of server NAME if not DIR/NAME.key (repeatable)",
    )
    group.add_argument(
        "--allow-insecure-tcp",
        action="store_true",
        help="without keys, use tcp:// anyway (a warning; anyone reaching it can use it)",
    )
    group.add_argument(
        "--max-message-size",
        type=_positive_bytes,
        default=LOCAL_ONLY.max_message_size,
        metavar="BYTES",
        help="the largest frame accepted; a peer sending more is cut off (default: %(default)s)",
    )


def security_from(args: argparse.Namespace) -> Security:
    """The :class:`Security` the flags of :func:`add_security_flags` describe."""
    return Security(
        secret_key=args.secret_key,
        public_keys=args.public_keys,
        server_keys=dict(args.server_key),
        allow_insecure_tcp=args.allow_insecure_tcp,
        max_message_size=args.max_message_size,
    )


def make_key_files(directory: Path, names: Sequence[str] | None) -> list[str]:
    """``yard keys``: make the key pairs; return one line to print per pair."""
    paths = make_keys(directory, names or DEFAULT_KEY_NAMES)
    lines = []
    for public, secret in zip(paths[::2], paths[1::2], strict=True):
        lines.append(f"yard: wrote {public} (public: give it to peers) and {secret} (keep it)")
    return lines


def _server_key(text: str) -> tuple[str, Path]:
    name, sep, path = text.partition("=")
    if not sep or not name or not path:
        msg = f"must be NAME=FILE, such as gateway=keys/gateway.key, was {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return name, Path(path)


def _positive_bytes(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        msg = f"must be a positive whole number of bytes, was {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return value
