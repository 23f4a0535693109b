"""The gateway's own SystemStatus on ``trades`` reaches every robot, journaled: real actors.

The order gateway publishes on ``trades``, topic ``$system``, a ``SystemStatus`` when its
order store goes down and when it is back (``docs/wire.md`` 4b). A host's trades intake
subscribes to it and tells every robot, once, journaled like a report, so a replay of
each robot's journal hears it at the same place.
"""

from __future__ import annotations

from pathlib import Path

from tests.integration.status_robots import StatusWatcher
from yard_actors import SystemStatus, encode, replay
from yard_actors.testing import live_host, wait_until
from yard_actors.wire.names import SYSTEM_TOPIC

TS = 1_700_000_000_000_000_000
DEGRADED = SystemStatus(
    ts=TS, component="order-gateway", status="degraded", detail="order store unavailable"
)
OK = SystemStatus(ts=TS + 1, component="order-gateway", status="ok", detail="available again")
ROBOTS = ("watcher-a", "watcher-b")


def test_the_gateways_own_status_reaches_every_robot_once_and_replays(tmp_path: Path) -> None:
    with live_host(tmp_path) as live:
        for name in ROBOTS:
            live.add_robot(StatusWatcher, name=name)
        live.gateway.wait_for(SYSTEM_TOPIC)  # the trades intake subscribes to it

        for status in (DEGRADED, DEGRADED, OK):  # the repeat goes to nobody
            live.gateway.send_raw(SYSTEM_TOPIC.encode(), encode(status))
        wait_until(
            lambda: all(
                live.snapshot(n)["state"]["statuses"][-1:] == ["order-gateway ok"] for n in ROBOTS
            ),
            what="both robots told the store is back",
        )
        heard = {name: live.snapshot(name)["state"]["statuses"] for name in ROBOTS}
        trades = live.host.intake_stats()["trades"]

    assert heard == {name: ["order-gateway degraded", "order-gateway ok"] for name in ROBOTS}
    assert trades.dropped.get("repeated") == 1
    for name in ROBOTS:
        result = replay(tmp_path, name)
        assert result.faithful
        assert [e for e in result.events if isinstance(e, SystemStatus)] == [DEGRADED, OK]
