"""What a trader subclasses and keeps: the Robot, its book, lifecycle, risk, timers, snapshot."""

from yard_actors.robot.lifecycle import RobotStatus
from yard_actors.robot.robot import HandlerResult, Robot

__all__ = ["HandlerResult", "Robot", "RobotStatus"]
