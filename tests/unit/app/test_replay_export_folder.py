"""``yard replay --export-test tests/test_incident.py``, as README writes it, in a project
that has no ``tests/`` folder yet: the folder is made, not a traceback."""

from __future__ import annotations

from pathlib import Path

from tests.unit.testing.test_from_journal import record
from yard_actors.app.replay_export import export_test


def test_the_test_and_its_slice_go_into_a_folder_made_for_them(tmp_path: Path) -> None:
    journal = tmp_path / "journal"
    record(journal, quotes=30)
    test_file = tmp_path / "tests" / "incidents" / "test_incident.py"

    lines = export_test(journal, "a", test_file, 10, 15)

    assert test_file.is_file()
    assert (test_file.parent / "test_incident.slice.jsonl").is_file()
    assert lines[0].startswith(f"wrote {test_file}: ")
