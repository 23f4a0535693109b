"""Params: built once at construction, changed by set_params; whatever a class raises is named."""

from __future__ import annotations

from decimal import Decimal

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


@attrs.frozen(kw_only=True)
class Ticked:
    """A converter that raises neither TypeError nor ValueError for a bad value."""

    tick: Decimal = attrs.field(default=Decimal(1), converter=Decimal)
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
    assert changed_params(None, {"qty": 1, "side": "buy"}, {"qty": 5}) == {
        "qty": 5,
        "side": "buy",
    }
    assert changed_params(Size, Size(qty=1), {"qty": 5}) == Size(qty=5)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"qty": -1}, "Ticked refused qty=-1, the params are unchanged: qty must be positive"),
        ({"no_such_field": 1}, r"Ticked has no param 'no_such_field' \(its params: qty, tick\)"),
        ({"tick": "abc"}, "Ticked refused tick='abc', the params are unchanged: InvalidOperation"),
        ({"tick": "1", "qty": "two"}, "Ticked refused qty='two', the .*: '<=' not supported"),
    ],
)
def test_a_change_the_class_refuses_raises_with_the_class_the_field_and_the_value(
    changes: dict[str, object], reason: str
) -> None:
    current = Ticked()

    with pytest.raises(RobotError, match=f"^{reason}"):
        changed_params(Ticked, current, changes)

    assert current == Ticked()


def test_a_change_of_the_wrong_shape_is_refused_for_dict_params() -> None:
    with pytest.raises(RobotError, match="the params dict refused them"):
        changed_params(None, {"qty": 1}, ["qty", 2])  # type: ignore[arg-type]


def test_whatever_a_params_class_raises_at_construction_is_a_robot_error() -> None:
    with pytest.raises(RobotError, match=r"params for Ticked are invalid: InvalidOperation: not a"):
        build_params(Ticked, {"tick": "abc"}, "alpha")


@attrs.frozen(kw_only=True)
class Band:
    low: int = 1
    high: int = 5

    def __attrs_post_init__(self) -> None:
        if self.low > self.high:
            msg = f"low must not be above high, was {self.low} > {self.high}"
            raise ValueError(msg)


def test_fields_valid_only_together_are_taken_together() -> None:
    assert changed_params(Band, Band(), {"low": 10, "high": 20}) == Band(low=10, high=20)


def test_fields_wrong_only_together_are_named_together_with_the_whole_changes_reason() -> None:
    with pytest.raises(
        RobotError,
        match=r"^Band refused \{'low': 10, 'high': 8\} together, the params are unchanged: "
        r"low must not be above high, was 10 > 8$",
    ):
        changed_params(Band, Band(), {"low": 10, "high": 8})


def test_a_long_value_is_shortened_in_the_refusal() -> None:
    with pytest.raises(RobotError, match=r"^Ticked refused tick='x{76}\.\.\., the params"):
        changed_params(Ticked, Ticked(), {"tick": "x" * 500})
