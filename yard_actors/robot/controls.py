"""What a control command does to a robot: the status and params it leads to, or why not.

Apart from :mod:`yard_actors.robot.robot` because it is a rule, not a handler: the
lifecycle table (:mod:`.lifecycle`), the params class and the risk limits each may refuse
a control, and a refusal is a sentence the robot logs and keeps in ``last_refusal``.
"""

from __future__ import annotations

from typing import Any

from yard_actors.errors import RobotError
from yard_actors.robot.lifecycle import RobotStatus, next_status
from yard_actors.robot.params import changed_params
from yard_actors.robot.risk import RiskGuard
from yard_actors.wire.events import Control, ControlAction

__all__ = ["controlled", "describe_control"]


def controlled(
    control: Control,
    *,
    status: RobotStatus,
    params: Any,
    params_class: type[Any] | None,
    risk: RiskGuard,
) -> tuple[RobotStatus, Any]:
    """The status and params ``control`` leads to; raises RobotError to refuse it."""
    target = next_status(status, control.action)
    if target is None:
        known = isinstance(control.action, ControlAction)
        msg = f"it is {status.value}" if known else "it is no control action yard knows"
        raise RobotError(msg)
    if control.action is not ControlAction.SET_PARAMS:
        return target, params
    changed = changed_params(params_class, params, control.params)
    risk.check_params(changed)  # raises RobotError: refused, counted
    return target, changed


def describe_control(control: Control) -> str:
    """The control as a refusal names it: its action, and for ``set_params`` the params."""
    action = control.action
    what = action.value if isinstance(action, ControlAction) else repr(action)
    if action is ControlAction.SET_PARAMS:
        what = f"{what} {control.params!r}"
    return what
