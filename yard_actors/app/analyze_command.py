"""``yard analyze``: a run's robots replayed into a database of per-event state, and a report.

``yard analyze RUN [ROBOT...] [--store URL] [--db URL] [--out DIR]`` replays the journal of a
run folder (or a journal directory), robot by robot in one read
(:mod:`yard_actors.analysis`), and leaves in ``--out`` (default: ``analysis/`` beside the
journal, so ``RUN/analysis/``): ``analysis.sqlite`` (unless ``--db`` names another database:
``sqlite:///path`` or ``mongodb://host/db``), three PNG plots per robot and ``report.html``.
The run's order store (``--store``; default: the ``yard.db`` beside the journal, when there
is one) is read to cross-check each robot's orders and fills; this module reads it, because
only the command line composes the framework with the gateways' stores.

Exit 0 when every robot replayed identical to the run and agrees with the store; 1 when one
diverged, failed or disagrees (the report says where); 2 for a usage error.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gateways.store import OrderStore, open_store
from yard_actors.analysis.analyzer import Progress, analyze_journal
from yard_actors.analysis.metrics import RobotMetrics
from yard_actors.analysis.records import DEFAULT_FULL_EVERY, Sink
from yard_actors.analysis.report_html import ReportedRobot
from yard_actors.analysis.sqlite_sink import FILE_NAME, SQLiteSink
from yard_actors.analysis.store_check import StoreFacts
from yard_actors.app.replay_paths import journal_in, robots_beside
from yard_actors.app.wording import count
from yard_actors.errors import ConfigError
from yard_actors.host.stores import without_credentials
from yard_actors.journal import iter_records

__all__ = ["add_analyze_parser", "analyze_command", "analyze_hint", "analyze_line"]

_OUT = "analysis"
_RUN_STORE = "yard.db"  # the SQLite store yard run keeps beside a run's journal
_SQLITE = "sqlite:///"
_MONGO = ("mongodb://", "mongodb+srv://")


def add_analyze_parser(commands: Any) -> None:  # argparse._SubParsersAction, private
    """Add ``yard analyze`` to the ``yard`` subcommands."""
    analyze = commands.add_parser(
        "analyze", help="replay a run into a database of per-event state, with a report"
    )
    analyze.add_argument("journal_dir", help="a run-NNNN folder, or a host's journal directory")
    analyze.add_argument("robots", nargs="*", metavar="ROBOT", help="only these (default: all)")
    analyze.add_argument(
        "--store",
        metavar="URL",
        help="the run's order store, to cross-check orders and fills "
        f"(default: {_RUN_STORE} beside the journal, if there is one)",
    )
    analyze.add_argument(
        "--db",
        metavar="URL",
        help=f"where the rows go: sqlite:///path or mongodb://host/db ({FILE_NAME} in --out)",
    )
    analyze.add_argument("--out", metavar="DIR", help="the report's folder (default: RUN/analysis)")
    analyze.add_argument(
        "--full-every",
        type=_positive,
        default=DEFAULT_FULL_EVERY,
        metavar="N",
        help="store a robot's whole state every N rows, the changed keys between "
        "(default: %(default)s)",
    )


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        msg = f"must be a whole number of rows, 1 or more, was {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return value


def analyze_command(args: argparse.Namespace) -> int:
    journal = journal_in(args.journal_dir)  # a run folder: the journal inside it
    if not journal.is_dir():  # before the output folder is made for nothing
        msg = f"there is no journal at {journal}: name a run-NNNN folder or a journal directory"
        raise ConfigError(msg)
    robots_beside(journal)
    out = Path(args.out) if args.out else journal.parent / _OUT
    store_url = args.store or _store_beside(journal)
    with contextlib.ExitStack() as stack:
        sink = stack.enter_context(_sink(args.db, out))
        store = None if store_url is None else stack.enter_context(_store(store_url))
        with _progress(journal) as progress:
            analyses = analyze_journal(
                journal,
                sink,
                robots=args.robots or None,
                full_every=args.full_every,
                collect_facts=store is not None,
                progress=progress,
            )
        reader = None if store is None else (lambda robot: _facts(store, robot))
        # matplotlib (~1 s to import on a busy machine) loads for yard analyze alone, not
        # for every yard command: the report is imported where it is drawn.
        from yard_actors.analysis.report import report_robots  # noqa: PLC0415

        reported, page = report_robots(
            analyses, sink, out, store=reader, title=f"yard analyze {journal}"
        )
        where = sink.where
    for robot in reported:
        print(analyze_line(robot))
    checked = f"; store: {without_credentials(store_url)}" if store_url else ""
    print(f"database: {where}; report: {page}{checked or '; no store to check against'}")
    return 0 if all(_good(robot) for robot in reported) else 1


def analyze_hint(journal: Path | None, store: str) -> str:
    """The line ``yard run`` and ``yard backtest`` end with: the command that analyses the run.

    ``--store`` is left out where ``yard analyze`` finds the store itself (``yard.db``
    beside the journal).
    """
    if journal is None:
        return "analyse the run: no journal was kept"
    flag = "" if _is_beside(journal, store) else f" --store {store}"
    return f"analyse the run: yard analyze {journal}{flag}"


def _is_beside(journal: Path, store: str) -> bool:
    """Whether ``store`` is the SQLite file ``yard analyze`` looks for beside ``journal``."""
    if not store.startswith(_SQLITE):
        return False
    return Path(store[len(_SQLITE) :]).resolve() == (journal.parent / _RUN_STORE).resolve()


def analyze_line(robot: ReportedRobot) -> str:
    """One robot's line: its counts and P&L, whether the replay and the store agree."""
    m: RobotMetrics = robot.metrics
    parts = [
        f"{robot.robot}: {count(m.events, 'event')}, {count(m.orders, 'order')}, "
        f"{count(m.fills, 'fill')}, net {m.net} (realised {m.realized}, fees {m.fees}, "
        f"unrealised {m.unrealized}, in {m.money})",  # roubles or pts, as yard run's summary
        "replay identical" if robot.divergence is None else f"REPLAY: {robot.divergence}",
    ]
    if robot.store_check is not None:
        parts.append(robot.store_check)
    return "; ".join(parts)


def _good(robot: ReportedRobot) -> bool:
    return robot.divergence is None and robot.store_agrees is not False


def _store_beside(journal: Path) -> str | None:
    path = journal.parent / _RUN_STORE
    return f"{_SQLITE}{path}" if path.is_file() else None


def _sink(url: str | None, out: Path) -> contextlib.AbstractContextManager[Sink]:
    if url is None:
        return SQLiteSink(out / FILE_NAME)
    if url.startswith(_SQLITE) and len(url) > len(_SQLITE):
        return SQLiteSink(url[len(_SQLITE) :])
    if url.startswith(_MONGO):
        from yard_actors.analysis.mongo_sink import MongoSink  # noqa: PLC0415 - pymongo: ~0.2 s

        return MongoSink(url)
    msg = f"--db {url!r} is not a database yard analyze writes to; use sqlite:///path or mongodb://host/db"
    raise ConfigError(msg)


@contextlib.contextmanager
def _store(url: str) -> Iterator[OrderStore]:
    store = open_store(url)
    try:
        yield store
    finally:
        store.close()


def _facts(store: OrderStore, robot: str) -> StoreFacts:
    orders = {record.client_order_id for record in store.orders(robot=robot)}
    fills = {
        trade.fill.trade_id: (str(trade.fill.price), trade.fill.qty, str(trade.fill.fee))
        for trade in store.trades(robot=robot)
    }
    return StoreFacts(orders=frozenset(orders), fills=fills)


@contextlib.contextmanager
def _progress(journal: Path) -> Iterator[Progress | None]:
    """A rich progress bar on stderr while the journal is read, when stderr is a terminal.

    Its length is the journal's last event seq, found by a read of the journal's records
    before the analysis (no payload decoded; a small part of the analysis' time), and it
    moves with the seq of the last event analysed: the replay reads the journal in order.
    """
    if not sys.stderr.isatty():
        yield None
        return
    # rich is imported here: only an interactive analysis draws with it (as yard run's bar)
    from rich.console import Console  # noqa: PLC0415
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn  # noqa: PLC0415

    last_seq = max((r.seq or 0 for r in iter_records(journal) if r.kind == "event"), default=0)
    columns = (
        TextColumn("[bold]analysing"),
        BarColumn(),
        TextColumn("{task.fields[events]:,} events"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("analyse", total=last_seq or None, events=0)

        def show(done: int, seq: int) -> None:
            progress.update(task, completed=last_seq if seq < 0 else seq, events=done)

        yield show
