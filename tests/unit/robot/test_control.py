"""Controls a robot cannot apply are refused with a reason, never fatal; errors fail one robot."""

from __future__ import annotations

from decimal import Decimal

import attrs
import pytest

from yard_actors import CancelOrder, Control, ControlAction, NewOrder, Quote, Robot, RobotStatus
from yard_actors.robot.robot import HandlerResult
from yard_actors.testing import RobotHarness


class Abort(BaseException):
    """A user's own BaseException: it must fail its robot, not stop the host."""


@attrs.frozen(kw_only=True)
class QuoteParams:
    tick_size: Decimal = attrs.field(default=Decimal(1), converter=Decimal)
    qty: int = attrs.field(default=1, validator=attrs.validators.instance_of(int))
    mode: str = "plain"

    def __attrs_post_init__(self) -> None:
        if self.mode == "weird":
            raise LookupError("no such mode in the table")  # neither TypeError nor ValueError
        if self.mode == "abort":
            raise Abort("the validator aborted")
        if self.mode == "interrupt":
            raise KeyboardInterrupt


class Quoter(Robot):
    """Bids one tick under the bid of each quote; records the controls that reached it."""

    symbols = ("Si",)
    params_class = QuoteParams

    def on_start(self) -> None:
        self.controls: list[str] = []

    def on_quote(self, quote: Quote) -> HandlerResult:
        p = self.params
        return self.buy(quote.symbol, p.qty, quote.bid - p.tick_size)

    def on_control(self, control: Control) -> HandlerResult:
        self.controls.append(control.action.value)
        return None


def running_quoter() -> RobotHarness[Quoter]:
    harness = RobotHarness(Quoter, name="q", params={"tick_size": "5"})
    harness.quote("Si", 100, 101)
    return harness


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"tick_size": "abc"}, "refused tick_size='abc', the params are unchanged: InvalidOp"),
        ({"no_such_field": 1}, "has no param 'no_such_field' (its params: mode, qty, tick_size)"),
        ({"qty": "two"}, "refused qty='two', the params are unchanged: 'qty' must be <class"),
        ({"mode": "weird"}, "refused mode='weird', the params are unchanged: LookupError: no"),
        ({"mode": "abort"}, "Abort: the validator aborted"),
    ],
)
def test_set_params_the_class_refuses_is_refused_and_the_robot_runs_on_with_old_params(
    changes: dict[str, object], reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    harness = running_quoter()

    out = harness.control("set_params", **changes)

    robot = harness.robot
    assert isinstance(robot, Quoter)
    assert out == []
    assert robot.status is RobotStatus.RUNNING
    assert robot.params == QuoteParams(tick_size=Decimal(5))
    assert robot.error is None
    assert robot.controls == []  # a refused control does not reach on_control
    assert f"robot q refused set_params {changes!r}: " in caplog.text
    assert reason in (robot.last_refusal or "")
    assert robot.snapshot()["last_refusal"] == robot.last_refusal
    [order] = harness.quote("Si", 200, 201)
    assert isinstance(order, NewOrder)
    assert order.price == Decimal(195)  # still the old tick size


def test_a_refusal_is_replayed_the_same() -> None:
    harness = running_quoter()
    harness.control("set_params", tick_size="abc")
    harness.control("set_params", tick_size="2")
    harness.quote("Si", 300, 301)

    fresh, commands = harness.replay()

    assert commands == harness.commands
    assert fresh.snapshot() == harness.snapshot()
    assert fresh.last_refusal is not None
    assert fresh.last_refusal.startswith("set_params {'tick_size': 'abc'} at ")


def test_valid_params_after_a_refusal_apply_and_reach_on_control() -> None:
    harness = running_quoter()
    harness.control("set_params", tick_size="abc")

    harness.control("set_params", tick_size="2", qty=3)

    assert harness.robot.params == QuoteParams(tick_size=Decimal(2), qty=3)
    assert isinstance(harness.robot, Quoter)
    assert harness.robot.controls == ["set_params"]
    [order] = harness.quote("Si", 100, 101)
    assert isinstance(order, NewOrder)
    assert (order.qty, order.price) == (3, Decimal(98))


def test_a_validator_raising_keyboard_interrupt_still_interrupts() -> None:
    harness = running_quoter()

    with pytest.raises(KeyboardInterrupt):
        harness.control("set_params", mode="interrupt")


@pytest.mark.parametrize(
    ("action", "status"),
    [
        ("pause", RobotStatus.PAUSED),
        ("halt", RobotStatus.HALTED),
        ("stop", RobotStatus.STOPPED),
    ],
)
def test_each_lifecycle_action_applies_and_reaches_on_control(
    action: str, status: RobotStatus
) -> None:
    harness = running_quoter()

    harness.control(action)

    assert harness.robot.status is status
    assert isinstance(harness.robot, Quoter)
    assert harness.robot.controls == [action]
    assert harness.robot.last_refusal is None


@pytest.mark.parametrize("action", ["resume", "pause", "halt", "stop", "set_params"])
def test_every_action_to_a_stopped_robot_is_refused_with_its_status(action: str) -> None:
    harness = running_quoter()
    harness.control("stop")

    harness.control(action)

    assert harness.robot.status is RobotStatus.STOPPED
    assert isinstance(harness.robot, Quoter)
    assert harness.robot.controls == ["stop"]
    assert (harness.robot.last_refusal or "").endswith(": it is stopped")


def test_resume_of_a_running_robot_is_refused_and_it_keeps_running() -> None:
    harness = running_quoter()

    harness.control("resume")

    assert harness.robot.status is RobotStatus.RUNNING
    assert (harness.robot.last_refusal or "").startswith("resume at ")


def test_an_action_yard_does_not_know_is_refused_not_raised() -> None:
    harness = running_quoter()
    control = Control(ts=harness.ts + 1, robot="q", action=ControlAction.PAUSE)
    object.__setattr__(control, "action", "explode")  # what the wire's decoder never lets by

    assert harness.feed(control) == []

    assert harness.robot.status is RobotStatus.RUNNING
    assert harness.robot.last_refusal == (
        f"'explode' at {control.ts}: it is no control action yard knows"
    )


def test_params_of_the_wrong_shape_are_refused_for_a_class_and_for_a_dict() -> None:
    class Plain(Robot):
        symbols = ("Si",)

    for harness in (running_quoter(), RobotHarness(Plain, name="q", params={"qty": 1})):
        before = harness.robot.params
        control = Control(ts=harness.ts + 1, robot="q", action=ControlAction.SET_PARAMS)
        object.__setattr__(control, "params", ["tick_size", 2])  # not a dict

        harness.feed(control)

        assert harness.robot.params == before
        assert harness.robot.status is RobotStatus.RUNNING
        assert "refused them, the params are unchanged: " in (harness.robot.last_refusal or "")
        assert "mapping" in (harness.robot.last_refusal or "")  # the dict or evolve said why


def test_dict_params_take_any_changes() -> None:
    class Plain(Robot):
        symbols = ("Si",)

    harness = RobotHarness(Plain, name="p", params={"qty": 1})

    harness.control("set_params", qty=2, side="buy")

    assert harness.robot.params == {"qty": 2, "side": "buy"}
    assert harness.robot.last_refusal is None


def test_a_failing_on_start_builds_a_failed_robot_instead_of_raising() -> None:
    class BadStart(Robot):
        symbols = ("Si",)

        def on_start(self) -> None:
            raise RuntimeError("no config file")

    harness = RobotHarness(BadStart, name="bad")

    assert harness.quote("Si", 1, 2) == []
    assert harness.robot.status is RobotStatus.FAILED
    assert harness.robot.error == "RuntimeError in on_start: no config file"
    assert "RuntimeError: no config file" in (harness.robot.failure_traceback or "")


def test_a_handler_raising_a_base_exception_of_its_own_fails_only_its_robot() -> None:
    class Aborting(Quoter):
        def on_quote(self, quote: Quote) -> HandlerResult:
            if quote.bid == 13:
                raise Abort("enough")
            return super().on_quote(quote)

    harness = RobotHarness(Aborting, name="a")
    harness.quote("Si", 10, 11)

    out = harness.quote("Si", 13, 14)

    assert out == [CancelOrder(ts=harness.ts, client_order_id="a-1", robot="a")]
    assert harness.robot.status is RobotStatus.FAILED
    assert harness.robot.error == "Abort in on_quote: enough"


@pytest.mark.parametrize("fatal", [KeyboardInterrupt, SystemExit])
def test_keyboard_interrupt_and_system_exit_from_a_handler_pass_through(
    fatal: type[BaseException],
) -> None:
    class Exiting(Quoter):
        def on_quote(self, quote: Quote) -> HandlerResult:
            raise fatal

    harness = RobotHarness(Exiting, name="x")

    with pytest.raises(fatal):
        harness.quote("Si", 1, 2)


def test_mark_failed_fails_the_robot_and_returns_the_cancels_of_its_working_orders() -> None:
    harness = running_quoter()
    harness.quote("Si", 110, 111)

    out = harness.robot.mark_failed("a bug in yard", RuntimeError("book out of step"))

    assert [c.client_order_id for c in out] == ["q-1", "q-2"]
    assert all(isinstance(c, CancelOrder) for c in out)
    assert harness.robot.status is RobotStatus.FAILED
    assert harness.robot.error == "a bug in yard"
    assert "RuntimeError: book out of step" in (harness.robot.failure_traceback or "")
    assert harness.quote("Si", 120, 121) == []
