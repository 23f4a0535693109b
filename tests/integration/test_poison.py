"""No message poisons a host: a control, a robot's error or a bug fails one robot at most.

Each test runs a real host (real actors, real sockets over ``inproc://``), then
restarts it on the same journal, as ``yard run --role host`` does after a crash or a
deploy: every robot must be restored and the host must start.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import ClassVar

import pytest

from robots.market_maker import MarketMaker
from yard_actors import CancelOrder, Command, Control, ControlAction, Event, NewOrder, Quote, Robot
from yard_actors.host.robot_actor import RobotActor
from yard_actors.host.supervision_config import SupervisionConfig
from yard_actors.robot.robot import HandlerResult
from yard_actors.testing import LiveHost, cancelled, live_host, quote, wait_until

pytestmark = pytest.mark.usefixtures("each_runtime")

TS = 1_700_000_000_000_000_000

# Failures stay failed here: these tests are about a failure staying alone; a failed
# robot's restart from its journal is test_restart.py's.
NO_RESTARTS = SupervisionConfig(max_restarts=0)


class Buyer(Robot):
    """Buys one lot at the bid of each quote."""

    symbols = ("Si",)

    def on_quote(self, quote: Quote) -> HandlerResult:
        return self.buy(quote.symbol, 1, quote.bid)


class Buggy(Buyer):
    """Stands for a bug in yard: an error that escapes Robot.handle on the quote bid 13."""

    def handle(self, event: Event) -> list[Command]:
        if isinstance(event, Quote) and event.bid == 13:
            raise RuntimeError("a bug below the handlers")
        return super().handle(event)


class Aborting(Buyer):
    """Raises a BaseException of its own (not an Exception) on the quote bid 13."""

    def on_quote(self, quote: Quote) -> HandlerResult:
        if quote.bid == 13:
            raise Abort("enough")
        return super().on_quote(quote)


class Abort(BaseException):
    pass


class Moody(Buyer):
    """Starts, or not: ``broken`` is set by a test before a restart."""

    broken: ClassVar[bool] = False

    def on_start(self) -> None:
        if type(self).broken:
            raise RuntimeError("cannot start today")


def _yard_replay(journal: Path, robot: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "yard_actors.app.cli", "replay", str(journal), robot],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _add(live: LiveHost, *robots: tuple[type[Robot], str]) -> None:
    for robot_class, name in robots:
        live.add_robot(robot_class, name=name)


def _statuses(live: LiveHost) -> dict[str, str]:
    return {row["name"]: row["status"] for row in live.host.robots()}


def _idle(live: LiveHost, robot: str) -> Callable[[], bool]:
    """A check that ``robot`` has no open orders, for :func:`wait_until`."""
    return lambda: not live.snapshot(robot)["open_orders"]


def test_params_a_robot_refuses_leave_it_and_its_host_running_through_a_restart(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    journal = tmp_path / "journal"
    makers = ((MarketMaker, "mm-a"), (MarketMaker, "mm-b"))
    with live_host(journal) as live:
        _add(live, *makers)
        live.publish(quote("Si", 100, 102, ts=TS))
        quoted = live.gateway.commands(4)

        live.control(
            Control(
                ts=TS + 1,
                robot="mm-a",
                action=ControlAction.SET_PARAMS,
                params={"tick_size": "abc"},
            )
        )
        wait_until(lambda: live.snapshot("mm-a")["last_refusal"] is not None, what="a refusal")
        live.publish(quote("Si", 110, 112, ts=TS + 2))  # both requote: cancel both sides
        requoted = live.gateway.commands(4)
        for order in quoted:
            assert isinstance(order, NewOrder)
            live.reply(cancelled(order, ts=TS + 3))
        live.wait_idle()
        for name in ("mm-a", "mm-b"):
            wait_until(_idle(live, name), what=f"{name} idle")
        refused = live.snapshot("mm-a")
        before_restart = _statuses(live)

    assert sorted((c.robot, type(c).__name__) for c in requoted) == [
        ("mm-a", "CancelOrder"),
        ("mm-a", "CancelOrder"),
        ("mm-b", "CancelOrder"),
        ("mm-b", "CancelOrder"),
    ]
    assert before_restart == {"mm-a": "running", "mm-b": "running"}
    assert refused["params"]["tick_size"] is None  # unchanged: the instrument's tick
    assert refused["error"] is None
    assert "InvalidOperation" in refused["last_refusal"]
    assert "robot mm-a refused set_params {'tick_size': 'abc'}: MarketMakerParams" in caplog.text

    with live_host(journal) as live:
        _add(live, *makers)  # each restored from the journal, the refused control included
        restored = live.snapshot("mm-a")
        live.publish(quote("Si", 120, 122, ts=TS + 4))
        orders = live.gateway.commands(4)
        after_restart = _statuses(live)

    assert after_restart == {"mm-a": "running", "mm-b": "running"}
    assert restored["last_refusal"] == refused["last_refusal"]  # replay refused it the same
    assert sorted(c.client_order_id for c in orders) == ["mm-a-3", "mm-a-4", "mm-b-3", "mm-b-4"]
    assert {c.price for c in orders if isinstance(c, NewOrder)} == {Decimal(119), Decimal(123)}
    replayed = _yard_replay(journal, "mm-a")
    assert replayed.returncode == 0, replayed.stderr
    assert replayed.stdout.rstrip().endswith("faithful")


def test_an_error_escaping_a_robots_handling_fails_it_alone_live_and_after_a_restart(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    journal = tmp_path / "journal"
    robots = ((Buggy, "buggy"), (Buyer, "steady"))
    with live_host(journal, supervision=NO_RESTARTS) as live:
        _add(live, *robots)
        live.publish(quote("Si", 10, 11, ts=TS))
        live.gateway.commands(2)

        live.publish(quote("Si", 13, 14, ts=TS + 1))  # buggy's handling raises
        live.publish(quote("Si", 15, 16, ts=TS + 2))
        after_bug = live.gateway.commands(3)
        live.host.control("buggy", "pause")  # the actor still answers: refused, it failed
        live.wait_idle()
        table = live.host.robots()
        failure = live.host.failure("buggy") or ""

    assert CancelOrder(ts=TS, client_order_id="buggy-1", robot="buggy") in after_bug
    assert sorted(c.client_order_id for c in after_bug if c.robot == "steady") == [
        "steady-2",
        "steady-3",
    ]
    assert table.by_name("buggy")["status"] == "failed"
    assert table.by_name("buggy")["error"] == "RuntimeError in yard: a bug below the handlers"
    assert table.by_name("steady")["status"] == "running"
    assert "RuntimeError: a bug below the handlers" in failure

    caplog.clear()
    with live_host(journal, supervision=NO_RESTARTS) as live:
        _add(live, *robots)  # buggy's replay raises at the same event: failed, not fatal
        live.publish(quote("Si", 20, 21, ts=TS + 3))
        # buggy's cancel, never answered, is sent again as it is restored; then steady's order
        [cancel, order] = live.gateway.commands(2)
        live.wait_idle()
        statuses = _statuses(live)
        failure = live.host.failure("buggy") or ""

    assert (type(cancel), cancel.client_order_id) == (CancelOrder, "buggy-1")
    assert order.client_order_id == "steady-4"
    assert statuses == {"buggy": "failed", "steady": "running"}
    assert "RuntimeError: a bug below the handlers" in failure
    assert "robot buggy failed restoring from the journal" in caplog.text
    assert "RuntimeError: a bug below the handlers" in caplog.text
    replayed = _yard_replay(journal, "buggy")
    assert replayed.returncode == 1
    assert replayed.stdout == (
        "buggy: 5 events, 2 commands replayed; "
        "FAILED: the event at journal seq 2 raised RuntimeError: a bug below the handlers\n"
    )
    assert "Traceback" not in replayed.stderr


def test_a_robot_that_no_longer_starts_is_restored_failed_and_the_others_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    journal = tmp_path / "journal"
    robots = ((Moody, "moody"), (Buyer, "steady"))
    with live_host(journal) as live:
        _add(live, *robots)
        live.publish(quote("Si", 10, 11, ts=TS))
        live.gateway.commands(2)
        live.wait_idle()

    monkeypatch.setattr(Moody, "broken", True)
    with live_host(journal) as live:
        _add(live, *robots)
        live.publish(quote("Si", 20, 21, ts=TS + 1))
        [order] = live.gateway.commands(1)
        live.wait_idle()
        statuses = _statuses(live)
        failure = live.host.failure("moody") or ""

    assert order.client_order_id == "steady-2"
    assert statuses == {"moody": "failed", "steady": "running"}
    assert "RuntimeError: cannot start today" in failure


def test_a_handler_raising_a_base_exception_of_its_own_fails_its_robot_not_the_host(
    tmp_path: Path,
) -> None:
    with live_host(tmp_path, supervision=NO_RESTARTS) as live:
        _add(live, (Aborting, "aborting"), (Buyer, "steady"))
        live.publish(quote("Si", 10, 11, ts=TS))
        live.gateway.commands(2)

        live.publish(quote("Si", 13, 14, ts=TS + 1))
        live.publish(quote("Si", 15, 16, ts=TS + 2))
        commands = live.gateway.commands(3)
        live.wait_idle()
        table = live.host.robots()

    assert CancelOrder(ts=TS + 1, client_order_id="aborting-1", robot="aborting") in commands
    assert table.by_name("aborting")["status"] == "failed"
    assert table.by_name("aborting")["error"] == "Abort in on_quote: enough"
    assert table.by_name("steady")["status"] == "running"


def test_a_robot_actor_that_dies_anyway_shows_its_robot_failed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash_on(actor: RobotActor, exc: Exception) -> None:  # a bug in the failure path too
        raise exc

    monkeypatch.setattr(RobotActor, "_crashed", crash_on)
    with live_host(tmp_path) as live:
        _add(live, (Buggy, "buggy"), (Buyer, "steady"))
        live.publish(quote("Si", 13, 14, ts=TS))  # buggy's actor stops: Pykka's on_failure
        [order] = live.gateway.commands(1)
        wait_until(lambda: _statuses(live)["buggy"] == "failed", what="buggy shown failed")
        row = live.host.robots().by_name("buggy")

    assert order.client_order_id == "steady-1"
    assert row["error"] == "its actor stopped: RuntimeError: a bug below the handlers"
