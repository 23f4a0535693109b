"""The command-line options the bench scripts share, each spelled and explained once.

A script starts from :func:`base_parser` and adds the groups it takes; BENCHMARKS.md
quotes these spellings, so a change here is a change to every command it shows.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

QUICK_FACTOR = 0.25


def base_parser(doc: str | None) -> argparse.ArgumentParser:
    """A parser described by the first line of the script's docstring."""
    return argparse.ArgumentParser(description=doc.splitlines()[0] if doc else None)


def add_run_options(parser: argparse.ArgumentParser, *, quick: str = "counts / 4") -> None:
    """``--quick``, ``--scale``, ``--only`` and ``--json``: how much to run, and where the
    figures go besides the screen. ``quick`` is ``--quick``'s help."""
    parser.add_argument("--quick", action="store_true", help=quick)
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every count")
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="PREFIX",
        help="run the cases whose name starts with PREFIX (repeatable)",
    )
    add_json(parser)


def add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write results as JSON")


def count_factor(args: argparse.Namespace) -> float:
    """What to multiply every count by: ``--scale``, and a quarter of it with ``--quick``."""
    return float(args.scale) * (QUICK_FACTOR if args.quick else 1.0)


def add_pin_host(parser: argparse.ArgumentParser, *, rest: str) -> None:
    """``--pin-host CPU``; ``rest`` says what runs on the other CPUs."""
    parser.add_argument(
        "--pin-host",
        type=int,
        metavar="CPU",
        help=f"run this process (every thread it starts) on one CPU; {rest}",
    )


def add_mongo_url(parser: argparse.ArgumentParser, *, per: str) -> None:
    """``--mongo-url``, by default $YARD_MONGO_URL; ``per`` says what gets its own database."""
    parser.add_argument(
        "--mongo-url",
        default=os.environ.get("YARD_MONGO_URL") or None,
        metavar="URL",
        help=f"a MongoDB server to use (a database {per}, dropped after) instead of "
        "starting nx-27017; default $YARD_MONGO_URL",
    )


def comma_ints(text: str) -> list[int]:
    """An option's value such as ``1,10,1000``."""
    try:
        return [int(part) for part in text.split(",") if part]
    except ValueError as exc:
        msg = f"{text!r} is not a comma-separated list of whole numbers"
        raise argparse.ArgumentTypeError(msg) from exc


def comma_names(allowed: Sequence[str]) -> Callable[[str], list[str]]:
    """A type for an option's value such as ``pooled,threads``, each one of ``allowed``."""

    def parse(text: str) -> list[str]:
        names = [name for name in text.split(",") if name]
        for name in names:
            if name not in allowed:
                msg = f"{name!r} is not one of {', '.join(allowed)}"
                raise argparse.ArgumentTypeError(msg)
        return names

    return parse


def write_json(path: Path | None, report: Any) -> None:
    """Write ``report`` to ``--json``'s path, if one was given."""
    if path is not None:
        path.write_text(json.dumps(report, indent=2, default=str) + "\n")
