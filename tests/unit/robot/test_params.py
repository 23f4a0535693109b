"""Params: built once at construction, changed by set_params without ever failing the robot."""

from __future__ import annotations

import attrs
import pytest

from yard_actors.errors import RobotError
from yard_actors.robot.params import build_params, changed_params


@attrs.frozen(kw_only=True)
class Size:
    qty: int = 1

    def __attrs_post_init__(self) -> None:
        if self.qty <= 0:
            msg = f"qty must be positive, was {self.qty}"
            raise ValueError(msg)


def test_params_without_a_class_are_a_copy_of_the_dict_given() -> None:
    given = {"qty": 2}

    built = build_params(None, given, "alpha")

    assert built == {"qty": 2}
    assert built is not given
    assert build_params(None, None, "alpha") == {}


def test_params_with_a_class_are_built_from_a_mapping_or_kept_as_given() -> None:
    ready = Size(qty=4)

    assert build_params(Size, {"qty": 3}, "alpha") == Size(qty=3)
    assert build_params(Size, ready, "alpha") is ready


def test_params_a_class_refuses_raise_naming_the_robot_and_the_class() -> None:
    with pytest.raises(RobotError, match="robot alpha: params for Size are invalid: qty must"):
        build_params(Size, {"qty": 0}, "alpha")


def test_changes_are_merged_into_dict_params_and_class_params() -> None:
    assert changed_params(None, {"qty": 1, "side": "buy"}, {"qty": 5}, "alpha") == {
        "qty": 5,
        "side": "buy",
    }
    assert changed_params(Size, Size(qty=1), {"qty": 5}, "alpha") == Size(qty=5)


@pytest.mark.parametrize("changes", [{"qty": -1}, {"no_such_field": 1}])
def test_a_refused_change_keeps_the_params_and_is_logged(
    changes: dict[str, int], caplog: pytest.LogCaptureFixture
) -> None:
    current = Size(qty=2)

    kept = changed_params(Size, current, changes, "alpha")

    assert kept is current
    assert "robot alpha kept its params" in caplog.text
