"""A robot's state stored as changes between whole snapshots, and read back exactly."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yard_actors.analysis.delta import applied, change
from yard_actors.analysis.records import StateDeltas, state_at

_scalars = st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.text(max_size=5)
_json = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=20,
)


@given(_json, _json)
def test_a_change_applied_to_the_old_value_gives_the_new(old: Any, new: Any) -> None:
    operation = change(old, new)

    assert (operation is None) == (old == new)
    if operation is not None:
        assert applied(old, operation) == new


def test_a_rolling_window_is_stored_as_what_it_dropped_and_appended() -> None:
    old = {"mids": [str(n) for n in range(100)], "z": 1}
    new = {"mids": [str(n) for n in range(1, 101)], "z": 1}

    assert change(old, new) == ["{", {"mids": ["[", 1, ["100"]]}, []]


def test_a_dict_patch_names_the_changed_and_the_removed_keys() -> None:
    assert change({"a": 1, "b": 2, "c": 3}, {"a": 1, "b": 5, "d": 4}) == [
        "{",
        {"b": ["=", 5], "d": ["=", 4]},
        ["c"],
    ]


def test_a_change_that_is_not_an_operation_is_refused_with_its_kind() -> None:
    with pytest.raises(ValueError, match="must start with '=', '\\{' or '\\[', was 'x'"):
        applied(1, ["x", 2])


def _snapshot(n: int) -> dict[str, Any]:
    return {"now": n, "events": n, "state": {"mids": list(range(n, n + 50))}, "pnl": "0"}


def test_rows_are_whole_at_the_start_and_every_k_rows_and_changes_between() -> None:
    deltas = StateDeltas(full_every=4)

    rows = [deltas.next(_snapshot(n)) for n in range(10)]

    assert [full for _, full in rows] == [True, False, False, False, True] + [False] * 3 + [
        True,
        False,
    ]
    assert rows[1][0] == {
        "now": ["=", 1],
        "events": ["=", 1],
        "state": ["{", {"mids": ["[", 1, [50]]}, []],
    }


def test_the_state_at_any_row_is_the_last_whole_one_with_the_changes_after_it() -> None:
    deltas = StateDeltas(full_every=4)
    rows = [deltas.next(_snapshot(n)) for n in range(10)]

    for n in range(10):
        start = max(i for i in range(n + 1) if rows[i][1])
        assert state_at(rows[start : n + 1]) == _snapshot(n)


def test_a_snapshot_that_lost_a_key_is_stored_whole() -> None:
    deltas = StateDeltas(full_every=100)
    deltas.next({"a": 1, "b": 2})

    assert deltas.next({"a": 1}) == ({"a": 1}, True)


def test_full_every_must_be_a_positive_number_of_rows() -> None:
    with pytest.raises(
        ValueError, match="full_every must be a positive whole number of rows, was 0"
    ):
        StateDeltas(full_every=0)
