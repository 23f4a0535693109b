"""Robots for the tests of what a host tells robots and shows of them; importable by path."""

from __future__ import annotations

from yard_actors import Quote, Robot, SystemStatus
from yard_actors.robot.robot import HandlerResult


class StatusWatcher(Robot):
    """Keeps every system status it hears, as ``component status``."""

    symbols = ("Si",)

    def on_start(self) -> None:
        self.statuses: list[str] = []

    def on_system(self, status: SystemStatus) -> HandlerResult:
        self.statuses.append(f"{status.component} {status.status}")
        return None


class FailsOnAQuote(Robot):
    """Raises on its first quote: the robot fails (and a restore fails it again)."""

    symbols = ("Si",)

    def on_quote(self, quote: Quote) -> HandlerResult:
        msg = f"no liking for a bid of {quote.bid}"
        raise ValueError(msg)
