"""Where open positions are marked (robot/marks.py), and bars reaching ``on_bar``."""

from __future__ import annotations

from decimal import Decimal

from yard_actors import Bar, Command, HandlerResult, NewOrder, Robot
from yard_actors.robot.marks import Marks
from yard_actors.testing import DEFAULT_START_TS, RobotHarness, bar, quote, tick

TS = DEFAULT_START_TS
MINUTE = 60_000_000_000


class Holder(Robot):
    """Buys one lot of Si at the first price it sees, whatever the data."""

    symbols = ("Si", "RTS")

    def on_tick(self, event: object) -> HandlerResult:
        return None if self.open_orders() or self.position("Si") else self.buy("Si", 1, 90000)


class BarWatcher(Robot):
    """Keeps the closes of the bars it sees; buys a lot when a bar closes above its open."""

    symbols = ("Si",)

    def on_start(self) -> None:
        self.closes: list[str] = []

    def on_bar(self, bar: Bar) -> HandlerResult:
        self.closes.append(str(bar.close))
        return self.buy(bar.symbol, 1, bar.close) if bar.close > bar.open else None


def _new_orders(commands: list[Command]) -> list[NewOrder]:
    """``commands``, every one of which the test expects to be a new order."""
    orders = [command for command in commands if isinstance(command, NewOrder)]
    assert orders == commands, f"not all new orders: {commands}"
    return orders


def test_a_symbol_is_marked_at_its_last_trade_until_a_quote_comes_then_at_the_mid() -> None:
    marks = Marks()

    assert marks.update(tick("Si", 90010, ts=TS)) is True
    assert marks.price("Si") == Decimal(90010)
    assert marks.update(bar("Si", 90000, 90030, 89990, 90020, ts=TS + 1)) is True
    assert marks.price("Si") == Decimal(90020)
    assert marks.update(quote("Si", 90000, 90002, ts=TS + 2)) is True
    assert marks.price("Si") == Decimal(90001)
    assert marks.update(tick("Si", 90050, ts=TS + 3)) is False  # the book's mid stays the mark
    assert marks.price("Si") == Decimal(90001)
    assert marks.price("RTS") is None


def test_a_robot_on_ticks_alone_marks_its_position_at_the_last_trade() -> None:
    harness = RobotHarness(Holder)
    [order] = _new_orders(harness.tick("Si", 90000))
    harness.accept(order)
    harness.fill(order, price=90000)

    harness.tick("Si", 90025)

    assert harness.robot.position("Si") == 1
    assert harness.robot.unrealized_pnl() == Decimal(25)
    assert harness.robot.last_trade_price("Si") == Decimal(90025)


def test_a_robot_on_bars_alone_marks_its_position_at_the_last_close() -> None:
    harness = RobotHarness(BarWatcher)
    [order] = _new_orders(harness.feed(bar("Si", 90000, 90020, 89990, 90010, ts=TS + MINUTE)))
    harness.accept(order)
    harness.fill(order, price=90010)

    harness.feed(bar("Si", 90010, 90010, 89950, 89960, ts=TS + 2 * MINUTE))

    assert harness.robot.unrealized_pnl() == Decimal(-50)


def test_a_quote_outranks_a_later_trade_as_the_mark() -> None:
    harness = RobotHarness(Holder)
    [order] = _new_orders(harness.tick("Si", 90000))
    harness.accept(order)
    harness.fill(order, price=90000)
    harness.quote("Si", 90010, 90012)

    harness.tick("Si", 90100)

    assert harness.robot.unrealized_pnl() == Decimal(11)


def test_bars_reach_on_bar_in_order_and_its_commands_go_out() -> None:
    harness = RobotHarness(BarWatcher)

    first = harness.feed(bar("Si", 90000, 90020, 89990, 90010, ts=TS + MINUTE))
    second = harness.feed(bar("Si", 90010, 90010, 89950, 89960, ts=TS + 2 * MINUTE))

    assert [(c.side.value, c.qty, c.price) for c in _new_orders(first)] == [
        ("buy", 1, Decimal(90010))
    ]
    assert second == []
    assert isinstance(harness.robot, BarWatcher)
    assert harness.robot.closes == ["90010", "89960"]
    assert harness.robot.now == TS + 2 * MINUTE


def test_a_robot_without_on_bar_takes_bars_quietly() -> None:
    harness = RobotHarness(Holder)

    assert harness.feed(bar("Si", 1, 2, 1, 2, ts=TS + MINUTE)) == []
    assert harness.snapshot()["events"] == 1


def test_a_halted_robot_does_not_see_bars_but_still_marks_to_them() -> None:
    harness = RobotHarness(BarWatcher)
    [order] = _new_orders(harness.feed(bar("Si", 90000, 90020, 89990, 90010, ts=TS + MINUTE)))
    harness.accept(order)
    harness.fill(order, price=90010)
    harness.control("halt")

    out = harness.feed(bar("Si", 90010, 90040, 90010, 90030, ts=TS + 2 * MINUTE))

    assert out == []
    assert isinstance(harness.robot, BarWatcher)
    assert harness.robot.closes == ["90010"]
    assert harness.robot.unrealized_pnl() == Decimal(20)


def test_a_robot_fed_bars_replays_to_the_same_state() -> None:
    harness = RobotHarness(BarWatcher)
    [order] = _new_orders(harness.feed(bar("Si", 90000, 90020, 89990, 90010, ts=TS + MINUTE)))
    harness.accept(order)
    harness.fill(order, price=90010)
    harness.feed(bar("Si", 90010, 90040, 90010, 90030, ts=TS + 2 * MINUTE))

    fresh, commands = harness.replay()

    assert fresh.snapshot() == harness.snapshot()
    assert commands == harness.commands
