"""``yard replay JOURNAL ROBOT --export-test FILE --start N --end M``: an incident becomes a test.

Writes FILE, a pytest module that rebuilds the robot from a slice of its journal (its events
before ``N``), feeds it its events ``N`` to ``M`` and asserts after each one the commands the
live robot journaled; and beside it ``FILE``'s stem + ``.slice.jsonl``, the slice
(:mod:`~yard_actors.testing.journal_slice`): that robot's events only, only up to ``M``. The
test passes while the robot decides as it did in the run, and fails at the first event where
a change to it decides otherwise. Run it where the robot's module imports (``yard run``'s
folder, for a robot beside its ``yard.toml``).
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from yard_actors.app.wording import count
from yard_actors.errors import RobotError
from yard_actors.testing.journal_slice import export_slice

__all__ = ["export_hint", "export_test", "exported_source", "slice_path"]

_TEMPLATE = '''\
"""The journaled decisions of robot {robot!r}, events seq {start} to {end}.

Exported by `yard replay {journal} {robot} --export-test ... --start {start} --end {end}`.
The robot is rebuilt from the events before seq {start} in {slice_name} (this robot's
events of that journal, up to seq {end}); the test feeds it the rest and checks, event by
event, the commands the live robot journaled. It fails where the robot now decides otherwise.
"""

from __future__ import annotations

from pathlib import Path

from yard_actors.testing import RobotHarness

SLICE = Path(__file__).with_name({slice_name!r})


def {test_name}() -> None:
    harness = RobotHarness.from_journal(SLICE, {robot!r}, start={start}, end={end})

    assert harness.recorded, "the slice holds no event from seq {start} to seq {end}"
    for step in harness.recorded:
        produced = harness.feed_journaled(step.event)
        assert produced == list(step.commands), (
            f"at event seq {{step.seq}} ({{step.event!r}}) the robot sent {{produced!r}}, "
            f"the journal has {{list(step.commands)!r}}"
        )
'''


def slice_path(test_file: Path) -> Path:
    """Where the slice of ``test_file`` goes: beside it, its stem + ``.slice.jsonl``."""
    return test_file.with_name(test_file.stem + ".slice.jsonl")


def export_hint(journal: Path, robot: str, seq: int) -> str:
    """The command that makes the event at ``seq`` where ``robot`` diverged a test: what
    ``yard replay`` prints under a divergence, to run as printed."""
    test_file = f"tests/test_{_words(robot)}_seq{seq}.py"
    where = f"{shlex.quote(str(journal))} {shlex.quote(robot)}"
    return f"yard replay {where} --export-test {test_file} --start {seq} --end {seq}"


def _words(robot: str) -> str:
    """``robot`` as a Python identifier's words: ``mm-si`` -> ``mm_si``."""
    return re.sub(r"\W+", "_", robot).strip("_").lower() or "robot"


def exported_source(journal: Path, robot: str, slice_name: str, start: int, end: int) -> str:
    """The text of the exported pytest module."""
    words = _words(robot)
    return _TEMPLATE.format(
        robot=robot,
        journal=journal,
        slice_name=slice_name,
        start=start,
        end=end,
        test_name=f"test_{words}_decides_events_{start}_to_{end}_as_journaled",
    )


def export_test(journal: Path, robot: str, test_file: Path, start: int, end: int) -> list[str]:
    """Write the test and its slice, making their folder if missing (``tests/`` in a new
    project); return the lines to print. Raises :class:`RobotError` when the robot has no
    event in the range (and then writes no file)."""
    slice_file = slice_path(test_file)
    slice_file.parent.mkdir(parents=True, exist_ok=True)
    before, inside = export_slice(journal, robot, slice_file, start=start, end=end)
    if not inside:
        slice_file.unlink()
        msg = f"robot {robot!r} has no event from seq {start} to seq {end} in {journal}"
        raise RobotError(msg)
    test_file.write_text(exported_source(journal, robot, slice_file.name, start, end))
    size = slice_file.stat().st_size
    return [
        f"wrote {test_file}: {count(inside, 'event')} of {robot} (seq {start} to {end})",
        f"and {slice_file} ({count(before + inside, 'event')}, {size:,} bytes): run "
        f"`python -m pytest {test_file}` where {robot}'s module imports",
    ]
