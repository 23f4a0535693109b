"""What the recovery thread holds for one asker: its requests waiting, the one under way.

Apart from :mod:`.recovery_server`, which admits requests within the limits,
takes turns between peers and sends: this module only says what a peer's
queue holds (each waiting request with the bytes it is counted at), which of
them are replays a later one may merge into, and when a peer has nothing left
(:attr:`Peer.idle`: the server then forgets it).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator

import attrs

from gateways.recovery import Replay
from gateways.recovery_jobs import Step
from gateways.registration import Request

__all__ = ["Peer", "Waiting"]


class Waiting:
    """A request waiting its turn, with the bytes it is counted at (a replay may merge)."""

    __slots__ = ("cost", "request")

    def __init__(self, request: Request, cost: int) -> None:
        self.request = request
        self.cost = cost


class Peer:
    """One asker's requests: those waiting, the one being answered, the page it refused."""

    __slots__ = ("blocked_since", "held", "identity", "job", "queue", "replays", "request")

    def __init__(self, identity: bytes) -> None:
        self.identity = identity
        self.queue: deque[Waiting] = deque()
        self.replays: dict[str, Waiting] = {}  # waiting replays by robot, to merge into
        self.request: Request | None = None  # the one being answered
        self.job: Iterator[Step] | None = None
        self.held: Step = None  # yielded, not yet sent
        self.blocked_since: float | None = None  # its queue full since (monotonic s)

    @property
    def idle(self) -> bool:
        return self.job is None and self.held is None and not self.queue

    def merged(self, replay: Replay) -> bool:
        """Whether a waiting replay for the robot took ``replay`` in (from the lower seq)."""
        waiting = self.replays.get(replay.robot)
        if waiting is None:
            return False
        previous = waiting.request
        assert isinstance(previous, Replay)
        waiting.request = attrs.evolve(replay, after_seq=min(replay.after_seq, previous.after_seq))
        return True
