"""What `yard replay` says of a robot: the keys an event changed, and a class changed since."""

from __future__ import annotations

import hashlib
import inspect
from pathlib import Path

from yard_actors.app.replay_report import StateChange, changed_keys, class_change
from yard_actors.robot.robot import Robot


class Kept(Robot):
    symbols = ("Si",)


def test_changed_keys_walk_into_nested_state_and_leave_the_rest_out() -> None:
    before = {"events": 1, "state": {"quotes": 99, "side": "buy"}, "open_orders": []}
    after = {"events": 2, "state": {"quotes": 100, "side": "buy"}, "open_orders": [{"id": 1}]}

    assert changed_keys(before, after) == [
        StateChange(key="events", before=1, after=2),
        StateChange(key="open_orders", before=[], after=[{"id": 1}]),
        StateChange(key="state.quotes", before=99, after=100),
    ]


def test_a_class_whose_file_hash_matches_the_journal_is_not_reported() -> None:
    path = inspect.getsourcefile(Kept)
    assert path is not None
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    spec = {"class": "t:Kept", "source": {"path": path, "sha256": digest}}

    assert class_change(spec, Kept) is None


def test_a_class_whose_file_changed_is_reported_with_both_hashes() -> None:
    spec = {"class": "t:Kept", "source": {"path": "/old/t.py", "sha256": "ab" * 32}}

    change = class_change(spec, Kept)

    assert change is not None
    assert str(change).startswith("class t:Kept changed since the run: its file /old/t.py")
    assert f"sha256 {'ab' * 8}... then, " in str(change)


def test_an_old_journal_without_a_hash_says_the_change_is_unknown() -> None:
    change = class_change({"class": "t:Kept"}, Kept)

    assert change is not None
    assert "has no hash of its file" in str(change)
