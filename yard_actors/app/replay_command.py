"""``yard replay JOURNAL_DIR [ROBOT...]``: rebuild robots from a journal and check their commands.

With no robot named, every robot the journal added, all in one forward pass over it
(:func:`~yard_actors.journal.replay_all.replay_journal`), in memory that does not grow with
the journal. One line per robot when it replays identical; for a divergence, the first place
(:mod:`~yard_actors.app.replay_report`), found again by a second replay of that robot alone
to show its state before and after the event. ``--export-test`` turns a slice of one robot's
journal into a pytest file (:mod:`~yard_actors.app.replay_export`).

Exit 0 when every robot replays identical, 1 otherwise, 2 for a usage error or a journal
that cannot be read.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from yard_actors.app.replay_export import export_hint, export_test
from yard_actors.app.replay_paths import journal_in, robots_beside
from yard_actors.app.replay_report import StateChange, changed_keys, class_change, describe
from yard_actors.errors import RobotError
from yard_actors.journal.index import JournalIndex, index_journal
from yard_actors.journal.rebuild import build_robot
from yard_actors.journal.replay_all import replay_journal
from yard_actors.journal.replay_steps import RobotReplay, open_replay
from yard_actors.journal.stream_ahead import ReadAhead, reads_ahead
from yard_actors.robot.robot import Robot

__all__ = ["add_replay_parser", "replay_command"]

_USAGE = 2


def add_replay_parser(commands: Any) -> None:
    """Add ``yard replay`` to the CLI's subcommands (``commands``: argparse's subparsers)."""
    rep = commands.add_parser(
        "replay",
        help="rebuild robots from a journal and check their commands",
        description=__doc__.split("\n\n")[0].replace("``", "") if __doc__ else None,
    )
    rep.add_argument("journal_dir", help="the host's journal directory, or a run-NNNN folder")
    rep.add_argument(
        "robots", nargs="*", metavar="ROBOT", help="robots to replay (default: every robot)"
    )
    rep.add_argument("--snapshot", action="store_true", help="print each rebuilt robot's state")
    rep.add_argument(
        "--export-test",
        metavar="FILE",
        type=Path,
        help="write a pytest file replaying ROBOT's events --start..--end, its slice beside it",
    )
    rep.add_argument("--start", type=int, metavar="SEQ", help="first event seq of the slice")
    rep.add_argument("--end", type=int, metavar="SEQ", help="last event seq of the slice")


def replay_command(args: argparse.Namespace) -> int:
    """Run ``yard replay`` as parsed; return its exit code."""
    journal_dir = journal_in(args.journal_dir)  # a run folder: the journal inside it
    robots_beside(journal_dir)
    if args.export_test is not None:
        return _export(args, journal_dir)
    if args.start is not None or args.end is not None:
        return _usage("--start and --end go with --export-test")
    # a large journal's read starts in a child now, while the index is read and the
    # robots built here (journal/stream_ahead.py)
    reader = ReadAhead(journal_dir, args.robots or None) if reads_ahead(journal_dir) else None
    try:
        index = index_journal(journal_dir)
        names = list(args.robots) or list(index.robots)
        if not names:
            msg = f"journal {journal_dir} holds no robots"
            raise RobotError(msg)
        for name in names:
            if name not in index.specs:
                msg = f"journal {journal_dir} has no robot named {name!r}"
                raise RobotError(msg)
        robots = _build_all(journal_dir, names, index)
        replaying = replay_journal(journal_dir, robots, index=index, reader=reader)
        replays = replaying.run() if robots else {}
    finally:
        if reader is not None:
            reader.close()
    for replay in replays.values():
        _report(journal_dir, replay, index, show=args.snapshot)
    identical = len(replays) == len(names) and all(r.identical for r in replays.values())
    return 0 if identical else 1


def _build_all(journal_dir: Path, names: list[str], index: JournalIndex) -> dict[str, Robot]:
    """Build each robot from its spec; one that cannot be built is said and left out."""
    robots = {}
    for name in names:
        try:
            robots[name] = build_robot(dict(index.specs[name], name=name))
        except Exception as exc:  # a class gone, or params it refuses: a line, not a traceback
            problem = f"{type(exc).__name__}: {exc}"
            print(f"{name}: cannot be rebuilt from {journal_dir}: {problem}")
    return robots


def _report(journal_dir: Path, replay: RobotReplay, index: JournalIndex, *, show: bool) -> None:
    spec = index.specs.get(replay.name)
    changes = None
    if replay.divergence is not None and spec is not None:
        changes = _state_change(journal_dir, replay, spec, index)
    for line in describe(
        replay, changes=changes, class_changed=class_change(spec, type(replay.robot))
    ):
        print(line)
    diverged = replay.divergence
    if diverged is not None and diverged.seq is not None and replay.failure is None:
        print(f"  make it a test: {export_hint(journal_dir, replay.name, diverged.seq)}")
    if show:
        print(json.dumps(replay.robot.snapshot(), indent=2, sort_keys=True))


def _state_change(
    journal_dir: Path, replay: RobotReplay, spec: Mapping[str, Any], index: JournalIndex
) -> list[StateChange] | None:
    """Replay the robot again up to its divergent event: the keys that event changed."""
    assert replay.divergence is not None
    fed = replay.divergence.step
    robot = build_robot(dict(spec, name=replay.name))
    session = open_replay(journal_dir, replay.name, robot=robot, index=index)
    steps = session.steps()
    before = robot.snapshot() if fed == 0 else None
    try:
        for number, _ in enumerate(steps, 1):
            if number == fed:
                before = robot.snapshot()
            elif number == fed + 1 and before is not None:
                return changed_keys(before, robot.snapshot())
    finally:
        steps.close()
    return None  # commands after the robot's last event: no event changed its state


def _export(args: argparse.Namespace, journal_dir: Path) -> int:
    if len(args.robots) != 1 or args.start is None or args.end is None:
        return _usage("--export-test FILE takes one ROBOT and both --start SEQ and --end SEQ")
    if args.start > args.end:
        return _usage(f"--start {args.start} is past --end {args.end}")
    index = index_journal(journal_dir, args.robots)
    if args.robots[0] not in index.specs:
        msg = f"journal {journal_dir} has no robot named {args.robots[0]!r}"
        raise RobotError(msg)
    for line in export_test(journal_dir, args.robots[0], args.export_test, args.start, args.end):
        print(line)
    return 0


def _usage(problem: str) -> int:
    print(f"yard replay: {problem}", file=sys.stderr)
    return _USAGE
