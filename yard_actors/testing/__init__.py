"""The test kit: build events in a line, test a robot as an object, or as a live actor.

Two levels, both shown in the README:

* :class:`RobotHarness` calls the robot directly on the test's thread: feed an
  event, get its commands, read its state. Fast, for the robot's logic.
* :func:`live_host` / :func:`run_robot` start a real :class:`~yard_actors.host.host.Host`
  with real Pykka actors and real ZeroMQ sockets over ``inproc://``, a test feed
  and a test gateway, so an actor-level test is a few lines and still sees what
  production sees: journaling, routing, the order link.

The live kit waits on ZeroMQ subscriptions (XPUB) rather than sleeping, so a
published event is never lost to a subscription still in flight.
"""

from yard_actors.testing.builders import (
    DEFAULT_START_TS,
    accepted,
    bar,
    cancelled,
    filled,
    quote,
    rejected,
    tick,
    wait_until,
)
from yard_actors.testing.harness import RobotHarness
from yard_actors.testing.live import LiveHost, TestFeed, TestGateway, live_host, run_robot

__all__ = [
    "DEFAULT_START_TS",
    "LiveHost",
    "RobotHarness",
    "TestFeed",
    "TestGateway",
    "accepted",
    "bar",
    "cancelled",
    "filled",
    "live_host",
    "quote",
    "rejected",
    "run_robot",
    "tick",
    "wait_until",
]
