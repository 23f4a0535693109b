"""What ``host.robots()`` shows of a robot: why a restored robot failed, what it awaits."""

from __future__ import annotations

from pathlib import Path

from tests.integration.status_robots import FailsOnAQuote
from tests.integration.test_host import Buyer
from yard_actors import NewOrder
from yard_actors.host.supervision_config import SupervisionConfig
from yard_actors.testing import live_host, quote, run_robot, wait_until

TS = 1_700_000_000_000_000_000


def test_a_robot_restored_failed_shows_why_in_its_row_from_the_start(tmp_path: Path) -> None:
    no_restarts = SupervisionConfig(max_restarts=0)  # it stays failed (test_restart.py restarts)
    with live_host(tmp_path, supervision=no_restarts) as live:
        live.add_robot(FailsOnAQuote, name="grumpy")
        live.publish(quote("Si", 1, 2, ts=TS))
        wait_until(lambda: live.host.robots().by_name("grumpy")["status"] == "failed")
        error = live.host.robots().by_name("grumpy")["error"]

    with live_host(tmp_path) as live:
        live.add_robot(FailsOnAQuote, name="grumpy")
        row = live.host.robots().by_name("grumpy")

    assert error is not None
    assert "ValueError" in error
    assert (row["status"], row["error"]) == ("failed", error)


def test_an_order_with_no_report_yet_is_awaited_in_the_robots_row_and_table(
    tmp_path: Path,
) -> None:
    with run_robot(Buyer, name="alpha", journal_dir=tmp_path) as live:
        live.publish(quote("Si", 1, 2, ts=TS))
        assert isinstance(live.next_command(), NewOrder)
        # sent, then published: the robot's own figures follow the order by a moment
        wait_until(lambda: live.host.robots().by_name("alpha")["open_orders"] == 1)
        table = live.host.robots()

    [header, _, line] = str(table).splitlines()
    assert table.by_name("alpha")["awaiting"] == 1
    assert line.split()[header.split().index("open")] == "1"  # the grid shows open orders
