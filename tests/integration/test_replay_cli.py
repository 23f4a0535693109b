"""``yard replay`` on recorded runs: every robot identical, a changed robot caught at its event,
and an incident exported as a pytest file that passes, then fails once the robot changes."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from yard_actors.journal import read_robot
from yard_actors.wire.codec import decode
from yard_actors.wire.events import Quote

ROBOT = '''\
"""A robot that buys one lot far below the market every {every}th quote of Si."""

from __future__ import annotations

from yard_actors import HandlerResult, Quote, Robot


class Counting(Robot):
    symbols = ("Si",)

    def on_start(self) -> None:
        self.quotes = 0

    def on_quote(self, quote: Quote) -> HandlerResult:
        self.quotes += 1
        if self.quotes % {every} != 0:
            return None
        qty = {qty_rule}
        return self.buy(quote.symbol, qty, quote.bid - 500)
'''
EVERY = 20
CHANGED_AT = 100  # the changed robot's first different order: at its 100th quote
ORIGINAL = ROBOT.format(every=EVERY, qty_rule="1")
CHANGED = ROBOT.format(every=EVERY, qty_rule=f"2 if self.quotes >= {CHANGED_AT} else 1  # changed")

CONFIG = """\
journal_dir = "yard-data/journal"

[[robots]]
class = "counting_robot:Counting"
name = "counter"
symbols = ["Si"]

[[robots]]
class = "robots.market_maker:MarketMaker"
name = "mm-si"
symbols = ["Si"]
params = { half_spread_ticks = 2, max_position = 3, requote_ticks = 2 }
"""


def yard(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")  # a rewritten robot is read afresh
    return subprocess.run(
        [sys.executable, "-m", "yard_actors.app.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project folder with a small recorded run of ``counter`` and ``mm-si``."""
    project = tmp_path_factory.mktemp("project")
    (project / "yard.toml").write_text(CONFIG)
    (project / "counting_robot.py").write_text(ORIGINAL)
    ran = yard("run", "yard.toml", "--limit", "4000", "--quiet", cwd=project)
    assert ran.returncode == 0, ran.stderr
    return project


def journal_of(project: Path) -> Path:
    [journal] = {path.parent for path in project.glob("yard-data/**/journal-*.yj")}
    return journal


def quote_seqs(journal: Path, robot: str) -> list[int]:
    """The seqs of the robot's quotes, read by the backward reader, independently of replay."""
    entries = read_robot(journal, robot).entries
    return [
        e.seq
        for e in entries
        if e.seq is not None and e.kind == "event" and isinstance(decode(e.payload), Quote)
    ]


@pytest.fixture
def project(recorded: Path, tmp_path: Path) -> Path:
    """A copy of the recorded project, its robot module as it was in the run."""
    copy = tmp_path / "project"
    shutil.copytree(recorded, copy, ignore=shutil.ignore_patterns("control"))  # a socket
    return copy


def test_a_recorded_run_replays_identical_for_every_robot(project: Path) -> None:
    result = yard("replay", str(journal_of(project)), cwd=project)

    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert [line.split(":")[0] for line in lines] == ["counter", "mm-si"]
    assert all(": identical: " in line for line in lines)
    assert "commands" in lines[0]


def test_the_journal_records_the_robot_class_file_and_its_hash(project: Path) -> None:
    spec = read_robot(journal_of(project), "counter").spec

    assert spec is not None
    source = (project / "counting_robot.py").read_bytes()
    assert spec["source"]["sha256"] == hashlib.sha256(source).hexdigest()
    assert Path(spec["source"]["path"]).name == "counting_robot.py"


def test_a_changed_robot_is_reported_at_its_first_different_event(project: Path) -> None:
    journal = journal_of(project)
    expected_seq = quote_seqs(journal, "counter")[CHANGED_AT - 1]
    then = hashlib.sha256(ORIGINAL.encode()).hexdigest()
    now = hashlib.sha256(CHANGED.encode()).hexdigest()
    (project / "counting_robot.py").write_text(CHANGED)

    result = yard("replay", str(journal), cwd=project)

    assert result.returncode == 1, result.stdout + result.stderr
    out = result.stdout
    assert "mm-si: identical: " in out
    assert "replayed; DIVERGED" in out.split("\n")[0]
    assert f"at event seq {expected_seq} (command #{CHANGED_AT // EVERY - 1} of the robot)" in out
    assert "event:     Quote(" in out
    journaled = out.split("journaled:")[1].split("\n")[0]
    produced = out.split("produced:")[1].split("\n")[0]
    assert "NewOrder(" in journaled
    assert "qty=1" in journaled
    assert "NewOrder(" in produced
    assert "qty=2" in produced
    assert f"quotes: {CHANGED_AT - 1} -> {CHANGED_AT}" in out
    assert "class counting_robot:Counting changed since the run" in out
    assert f"sha256 {then[:16]}... then, {now[:16]}... now" in out


def test_replay_of_one_named_robot_and_its_snapshot(project: Path) -> None:
    result = yard("replay", str(journal_of(project)), "counter", "--snapshot", cwd=project)

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("counter: identical: ")
    assert '"quotes": ' in result.stdout


def test_an_unknown_robot_or_a_slice_without_its_range_is_a_usage_error(project: Path) -> None:
    journal = str(journal_of(project))

    unknown = yard("replay", journal, "ghost", cwd=project)
    no_range = yard("replay", journal, "counter", "--export-test", "t.py", cwd=project)

    assert unknown.returncode == 2
    assert "has no robot named 'ghost'" in unknown.stderr
    assert no_range.returncode == 2
    assert "--start SEQ and --end SEQ" in no_range.stderr


def test_an_exported_incident_passes_as_written_and_fails_once_the_robot_changes(
    project: Path,
) -> None:
    journal = journal_of(project)
    seqs = quote_seqs(journal, "counter")
    start, end = seqs[CHANGED_AT - 30], seqs[CHANGED_AT + 10]
    test_file = project / "test_incident.py"

    exported = yard(
        "replay", str(journal), "counter", "--export-test", str(test_file),
        "--start", str(start), "--end", str(end), cwd=project,
    )  # fmt: skip
    assert exported.returncode == 0, exported.stdout + exported.stderr
    slice_file = project / "test_incident.slice.jsonl"
    journal_bytes = sum(path.stat().st_size for path in journal.glob("journal-*.yj"))
    assert slice_file.stat().st_size < journal_bytes / 3  # the robot's events up to end only
    passed = pytest_run(test_file, project)
    (project / "counting_robot.py").write_text(CHANGED)
    failed = pytest_run(test_file, project)

    assert passed.returncode == 0, passed.stdout
    assert "1 passed" in passed.stdout
    assert failed.returncode == 1, failed.stdout
    assert f"at event seq {seqs[CHANGED_AT - 1]} " in failed.stdout


def pytest_run(test_file: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    return subprocess.run(
        [sys.executable, "-m", "pytest", str(test_file), "-q", "-p", "no:cacheprovider",
         "--rootdir", str(cwd)],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
