"""The Host with real Pykka actors and real ZeroMQ sockets, driven through the test kit."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest

from yard_actors import (
    CancelOrder,
    Control,
    ControlAction,
    NewOrder,
    Quote,
    Robot,
    RobotError,
    encode,
    replay,
)
from yard_actors.host.supervision_config import SupervisionConfig
from yard_actors.robot.robot import HandlerResult
from yard_actors.runtime import mailbox
from yard_actors.testing import (
    accepted,
    filled,
    live_host,
    quote,
    rejected,
    run_robot,
    wait_until,
)

pytestmark = pytest.mark.usefixtures("each_runtime")

TS = 1_700_000_000_000_000_000


class Buyer(Robot):
    """Buys one lot at the bid of each quote; counts what it got."""

    symbols = ("Si",)

    def on_start(self) -> None:
        self.quotes = 0
        self.fills = 0
        self.controls: list[str] = []

    def on_quote(self, quote: Quote) -> HandlerResult:
        self.quotes += 1
        return self.buy(quote.symbol, 1, quote.bid)

    def on_fill(self, fill: object) -> HandlerResult:
        self.fills += 1
        return None

    def on_control(self, control: Control) -> HandlerResult:
        self.controls.append(control.action.value)
        return None


class Fragile(Buyer):
    def on_quote(self, quote: Quote) -> HandlerResult:
        if quote.bid == Decimal(13):
            raise RuntimeError("unlucky quote")
        return super().on_quote(quote)


class Slow(Robot):
    """Takes 20 ms over each quote (a test robot may sleep; a real one must not)."""

    symbols = ("Si",)

    def on_quote(self, quote: Quote) -> HandlerResult:
        time.sleep(0.02)
        return None


class Counter(Robot):
    symbols = ("Si",)


def test_the_robot_table_shows_handling_time_and_the_wait_behind_it(tmp_path: Path) -> None:
    with live_host(tmp_path) as live:
        live.add_robot(Slow, name="slow")
        live.add_robot(Counter, name="counter")  # two on Si: the quotes wait in the mailbox
        for n in range(3):
            live.publish(quote("Si", 1 + n, 2 + n, ts=TS + n))
        wait_until(lambda: live.host.robots().by_name("slow")["events_in"] == 3)
        row = live.host.robots().by_name("slow")

    assert 20_000 <= row["handle_p50_us"] <= row["handle_p99_us"]
    # the third quote waited behind two 20 ms handlings, in the mailbox or in the batch
    assert row["wait_p99_us"] >= 40_000
    assert row["wait_p50_us"] < row["wait_p99_us"]


class WhereHandled(Robot):
    """Notes the thread that handles each quote (a test robot may; a real one must not)."""

    symbols = ("Si",)

    def on_start(self) -> None:
        self.threads: list[str] = []

    def on_quote(self, quote: Quote) -> HandlerResult:
        self.threads.append(threading.current_thread().name)
        if quote.bid == Decimal(1):
            time.sleep(0.05)  # one slow turn: more than the 20 ms the test lets a turn take
        if quote.bid == Decimal(9):
            return self.buy("Si", 1, quote.bid)
        return None

    def on_fill(self, fill: object) -> HandlerResult:
        self.threads.append(threading.current_thread().name)
        return None

    def state(self) -> dict[str, object]:
        return {"threads": list(self.threads)}


def test_a_robot_alone_on_its_symbol_runs_on_the_intake_until_a_turn_is_slow(
    tmp_path: Path, each_runtime: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # quick below 20 ms, not 1 ms: a busy CI box must not make a quick turn slow
    monkeypatch.setattr(mailbox, "QUICK_TURN_NS", 20_000_000)
    with run_robot(WhereHandled, name="where", journal_dir=tmp_path) as live:

        def handled(count: int) -> Callable[[], bool]:
            return lambda: live.host.robots().by_name("where")["events_in"] == count

        for n, bid in enumerate((5, 6, 1, 7, 9)):
            live.publish(quote("Si", bid, bid + 1, ts=TS + n))
            wait_until(handled(n + 1))
        order = live.next_command()
        assert isinstance(order, NewOrder)
        live.reply(filled(order, ts=TS + 10))
        wait_until(lambda: live.host.robots().by_name("where")["events_in"] == 6)
        threads = live.snapshot("where")["state"]["threads"]

    if each_runtime == "threads":
        assert len(set(threads)) == 1
        assert not threads[0].startswith("yard-")  # the robot's own Pykka thread
    else:
        # quick turns run on the data intake's thread, no hand-off to a worker; after the
        # slow one (bid 1) the robot's next turn goes to the pool, and after that quick
        # one (bid 7) it is back on the intake; a fill always goes to the pool
        assert threads[:3] == ["yard-intake-data"] * 3
        assert threads[3].startswith("yard-robots")
        assert threads[4] == "yard-intake-data"
        assert threads[5].startswith("yard-robots")


def test_a_published_quote_reaches_the_gateway_as_a_new_order(tmp_path: Path) -> None:
    with run_robot(Buyer, name="alpha", journal_dir=tmp_path) as live:
        live.publish(quote("Si", 90_000, 90_001, ts=TS))

        command = live.next_command()

        assert isinstance(command, NewOrder)
        assert command == NewOrder(
            ts=TS,
            client_order_id="alpha-1",
            robot="alpha",
            symbol="Si",
            side=command.side,
            qty=1,
            price=Decimal(90_000),
        )


@pytest.mark.parametrize("transport", ["inproc", "ipc", "tcp"])
def test_the_same_host_runs_over_every_transport(tmp_path: Path, transport: str) -> None:
    with live_host(tmp_path / "journal", transport=transport, ipc_dir=tmp_path) as live:
        live.add_robot(Buyer, name="alpha")
        live.publish(quote("Si", 100, 101, ts=TS))
        order = live.next_command()
        assert isinstance(order, NewOrder)
        live.reply(filled(order))
        live.wait_idle()
        wait_until(lambda: live.snapshot("alpha")["state"]["fills"] == 1)


def test_two_robots_get_only_their_own_control_and_trades(tmp_path: Path) -> None:
    with live_host(tmp_path) as live:
        live.add_robot(Buyer, name="alpha")
        live.add_robot(Buyer, name="beta")
        live.publish(quote("Si", 100, 101, ts=TS))
        orders = {c.robot: c for c in live.gateway.commands(2)}
        assert isinstance(orders["alpha"], NewOrder)

        live.reply(filled(orders["alpha"], ts=TS + 1))
        live.control(Control(ts=TS + 2, robot="beta", action=ControlAction.PAUSE))
        # Control and data are separate streams: let the pause land before the next quote.
        wait_until(lambda: live.snapshot("beta")["status"] == "paused", what="beta paused")
        live.publish(quote("Si", 102, 103, ts=TS + 3))
        [third] = live.gateway.commands(1)
        live.wait_idle()

        alpha, beta = live.snapshot("alpha"), live.snapshot("beta")
        assert third.robot == "alpha"  # beta is paused
        assert (alpha["state"]["fills"], beta["state"]["fills"]) == (1, 0)
        assert (alpha["state"]["controls"], beta["state"]["controls"]) == ([], ["pause"])
        assert alpha["positions"]["Si"]["qty"] == 1
        assert beta["positions"] == {}
        assert (alpha["status"], beta["status"]) == ("running", "paused")


def test_a_failing_robot_is_marked_failed_while_the_others_keep_trading(tmp_path: Path) -> None:
    # no restarts: this is about the failure staying alone (restarts: test_restart.py)
    with live_host(tmp_path, supervision=SupervisionConfig(max_restarts=0)) as live:
        live.add_robot(Fragile, name="fragile")
        live.add_robot(Buyer, name="steady")
        live.publish(quote("Si", 10, 11, ts=TS))
        live.gateway.commands(2)

        live.publish(quote("Si", 13, 14, ts=TS + 1))  # Fragile raises: cancels its order
        live.publish(quote("Si", 15, 16, ts=TS + 2))
        commands = live.gateway.commands(3)
        live.wait_idle()

        assert CancelOrder(ts=TS + 1, client_order_id="fragile-1", robot="fragile") in commands
        assert sorted(c.client_order_id for c in commands if c.robot == "steady") == [
            "steady-2",
            "steady-3",
        ]
        table = live.host.robots()
        assert table.by_name("fragile")["status"] == "failed"
        assert table.by_name("fragile")["error"] == "RuntimeError in on_quote: unlucky quote"
        assert table.by_name("steady")["status"] == "running"
        assert "RuntimeError: unlucky quote" in (live.host.failure("fragile") or "")
        assert not live.gateway.has_command()


def test_malformed_messages_are_counted_per_intake_and_dropped(tmp_path: Path) -> None:
    with run_robot(Buyer, name="alpha", journal_dir=tmp_path) as live:
        live.feed.send_raw(b"Si", b"{not json")
        live.feed.send_raw(b"Si", b'{"type":"Quote","v":1}')
        live.feed.send_raw(b"Si", b"one", b"frame too many")
        live.feed.send_raw(b"Si", encode(quote("RTS", 1, 2, ts=TS)))
        live.gateway.send_raw(b"alpha", b'{"type":"Nope","v":1}')
        live.gateway.send_raw(b"alpha", encode(quote("Si", 1, 2, ts=TS)))
        live.send_control_raw(b"\xff\xfe")
        live.publish(quote("Si", 100, 101, ts=TS))  # the robot still trades

        assert isinstance(live.next_command(), NewOrder)
        expected = {
            "data": {"not_json": 1, "missing_field": 1, "bad_frames": 1, "topic_mismatch": 1},
            "trades": {"unknown_type": 1, "wrong_intake": 1},
            "control": {"not_json": 1},
        }
        # Each intake has its own thread: wait for all three to have counted.
        wait_until(
            lambda: {k: dict(v.dropped) for k, v in live.host.intake_stats().items()} == expected,
            what="every malformed message counted by its intake",
        )
        live.wait_idle()
        assert live.snapshot("alpha")["state"]["quotes"] == 1


def test_replaying_the_journal_gives_identical_commands_and_snapshot(tmp_path: Path) -> None:
    with run_robot(Buyer, name="alpha", journal_dir=tmp_path) as live:
        for n in range(20):
            live.publish(quote("Si", 100 + n, 101 + n, ts=TS + n))
            order = live.next_command()
            assert isinstance(order, NewOrder)
            live.reply(accepted(order))
            if n % 4 == 0:
                live.reply(filled(order, ts=TS + n))
        # Fills and controls come through different intakes: let the last fill
        # land first, or the halt may cancel 16 orders, the filled one too.
        wait_until(lambda: live.snapshot("alpha")["state"]["fills"] == 5, what="five fills")
        live.control(Control(ts=TS + 99, robot="alpha", action=ControlAction.HALT))
        live.gateway.commands(15)  # halt cancels the 15 orders still working
        live.wait_idle()
        live_snapshot = live.snapshot("alpha")

    result = replay(tmp_path, "alpha")

    assert result.faithful
    assert len(result.commands) == 35
    assert result.robot.snapshot() == live_snapshot


def test_a_restarted_host_restores_its_robot_from_the_journal(tmp_path: Path) -> None:
    with run_robot(Buyer, name="alpha", journal_dir=tmp_path) as live:
        live.publish(quote("Si", 100, 101, ts=TS))
        order = live.next_command()
        assert isinstance(order, NewOrder)
        live.reply(filled(order))
        wait_until(lambda: live.snapshot("alpha")["state"]["fills"] == 1)

    with run_robot(Buyer, name="alpha", journal_dir=tmp_path) as live:
        live.publish(quote("Si", 200, 201, ts=TS + 5))
        order = live.next_command()
        live.wait_idle()
        snapshot = live.snapshot("alpha")

    assert order.client_order_id == "alpha-2"  # the sequence continued
    assert snapshot["state"] == {"controls": [], "fills": 1, "quotes": 2}
    assert snapshot["positions"]["Si"]["qty"] == 1


def test_a_journaled_name_with_another_class_is_refused(tmp_path: Path) -> None:
    with run_robot(Buyer, name="alpha", journal_dir=tmp_path):
        pass
    with live_host(tmp_path) as live, pytest.raises(RobotError, match=r"was a .*Buyer"):
        live.add_robot(Fragile, name="alpha")


def test_robot_names_are_unique(tmp_path: Path) -> None:
    with live_host(tmp_path) as live:
        live.add_robot(Buyer, name="alpha")
        with pytest.raises(RobotError, match="a robot named 'alpha' already runs"):
            live.add_robot(Buyer, name="alpha")


def test_remove_robot_stops_its_deliveries(tmp_path: Path) -> None:
    with live_host(tmp_path) as live:
        live.add_robot(Buyer, name="alpha")
        live.add_robot(Buyer, name="beta")
        live.host.remove_robot("alpha")
        live.publish(quote("Si", 1, 2, ts=TS))

        [only] = live.gateway.commands(1)

        assert only.robot == "beta"
        assert [row["name"] for row in live.host.robots()] == ["beta"]
        with pytest.raises(RobotError, match="no robot named 'alpha'"):
            live.host.snapshot("alpha")


def test_the_robot_table_reads_as_a_table(tmp_path: Path) -> None:
    with run_robot(Buyer, name="alpha", journal_dir=tmp_path) as live:
        live.publish(quote("Si", 1, 2, ts=TS))
        order = live.next_command()
        assert isinstance(order, NewOrder)
        live.reply(filled(order))
        wait_until(lambda: live.host.robots().by_name("alpha")["position"] == {"Si": 1})

        row = live.host.robots().by_name("alpha")
        text = str(live.host.robots())

    assert (row["events_in"], row["commands_out"], row["mailbox"]) == (2, 1, 0)
    # both events were timed: in the mailbox, and through handle + journal + send
    assert 0 <= row["wait_p50_us"] <= row["wait_p99_us"] < 5_000_000
    assert 0 < row["handle_p50_us"] <= row["handle_p99_us"] < 5_000_000
    assert text.splitlines()[0].split() == [
        "name",
        "status",
        "events",
        "commands",
        "open",
        "held",
        "position",
        "pnl",
        "upnl",
        "mailbox",
        "handle_us",
        "restarts",
        "error",
    ]
    assert "alpha" in text.splitlines()[2]
    assert "Si:1" in text


def test_stop_leaves_no_thread_behind(tmp_path: Path) -> None:
    before = set(threading.enumerate())
    with run_robot(Buyer, name="alpha", journal_dir=tmp_path) as live:
        live.publish(quote("Si", 1, 2, ts=TS))
        live.next_command()
    assert set(threading.enumerate()) <= before


def test_a_removed_robot_added_again_continues_where_it_stopped(tmp_path: Path) -> None:
    with live_host(tmp_path) as live:
        live.add_robot(Buyer, name="alpha")
        live.publish(quote("Si", 100, 101, ts=TS))
        order = live.next_command()
        assert isinstance(order, NewOrder)
        live.reply(rejected(order, ts=TS))  # no working order: removing it cancels nothing
        # the snapshot, not the table: a row may not show the order yet, a snapshot
        # taken after the reject was handled shows it gone
        wait_until(lambda: live.snapshot("alpha")["open_orders"] == [])
        assert live.host.remove_robot("alpha") == []
        live.feed.wait_gone("Si")

        live.add_robot(Buyer, name="alpha")
        live.publish(quote("Si", 100, 101, ts=TS + 1))
        again = live.next_command()
        live.wait_idle()

        assert again.client_order_id == "alpha-2"
        assert live.snapshot("alpha")["state"]["quotes"] == 2


class Recorder(Robot):
    symbols = ("Si",)

    def on_start(self) -> None:
        self.bids: list[int] = []

    def on_quote(self, quote: Quote) -> HandlerResult:
        self.bids.append(int(quote.bid))
        return self.buy("Si", 1, quote.bid) if int(quote.bid) % 50 == 0 else None


def test_a_burst_arrives_whole_and_in_order_and_replays_exactly(tmp_path: Path) -> None:
    with live_host(tmp_path) as live:
        live.add_robot(Recorder, name="first")
        live.add_robot(Recorder, name="second")
        for n in range(2000):
            live.publish(quote("Si", n, n + 1, ts=TS + n))
        commands = live.gateway.commands(80, timeout=10)
        wait_until(lambda: live.host.robots().by_name("second")["events_in"] == 2000)
        live.wait_idle()
        snapshots = {name: live.snapshot(name) for name in ("first", "second")}

    assert snapshots["first"]["state"]["bids"] == list(range(2000))
    assert sorted(c.client_order_id for c in commands if c.robot == "first")[:3] == [
        "first-1",
        "first-10",
        "first-11",
    ]
    for name in ("first", "second"):
        result = replay(tmp_path, name)
        assert result.faithful
        assert result.robot.snapshot() == snapshots[name]


def test_wait_idle_waits_for_what_the_intake_still_holds_then_the_robots(tmp_path: Path) -> None:
    names = [f"c{n:02d}" for n in range(20)]
    with live_host(tmp_path) as live:
        for name in names:
            live.add_robot(Counter, name=name)
        for n in range(2_000):
            live.publish(quote("Si", 100 + n % 7, 101 + n % 7, ts=TS + n))

        live.wait_idle(timeout=30)  # no polling after it: the intake and the robots are done

        assert {row["events_in"] for row in live.host.robots()} == {2_000}
