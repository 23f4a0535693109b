"""``serve_feed`` over a real ipc:// socket to a real SUB subscriber."""

from __future__ import annotations

import io
import itertools
import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import zmq

from gateways.feed import (
    PROGRESS_EVERY,
    REPEAT_EVERY_S,
    Published,
    QuotePublisher,
    market_stream,
    replay_events,
    serve_feed,
)
from gateways.readers import merge, read_file
from gateways.sample import SAMPLE_DATE, sample_session
from gateways.sessions import FORTS, with_sessions
from yard_actors.errors import ConfigError
from yard_actors.testing import quote, tick
from yard_actors.wire.codec import encode
from yard_actors.wire.events import Quote, SessionState, SessionStatus, SystemStatus, Tick

T0 = 1_764_241_198_000_000_000  # 2025-11-27T10:59:58Z: 13:59:58 in Moscow, 2 s before clearing
SECOND = 10**9
OPEN, CLEARING, CLOSED = SessionState.OPEN, SessionState.CLEARING, SessionState.CLOSED


class Feed:
    """``serve_feed`` on a thread of its own, with what it printed and returned."""

    def __init__(self, files: list[str], url: str, **kwargs: object) -> None:
        self.out, self.err = io.StringIO(), io.StringIO()
        self.code: int | None = None
        kwargs = {"wait_timeout": 10.0, "linger": 10.0, "out": self.out, "err": self.err, **kwargs}

        def run() -> None:
            self.code = serve_feed(files, url, **kwargs)  # type: ignore[arg-type]

        self.thread = threading.Thread(target=run, name="serve-feed")
        self.thread.start()

    def join(self) -> int:
        self.thread.join(timeout=60)
        assert not self.thread.is_alive(), "serve_feed did not return within 60 s"
        assert self.code is not None
        return self.code


Subscribe = Callable[[str, tuple[str, ...]], zmq.Socket[bytes]]


@pytest.fixture
def context() -> Iterator[zmq.Context[zmq.Socket[bytes]]]:
    context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    yield context
    context.term()


@pytest.fixture
def subscribe(context: zmq.Context[zmq.Socket[bytes]]) -> Iterator[Subscribe]:
    """Connect SUB sockets to a URL with topics; closed after the test."""
    sockets: list[zmq.Socket[bytes]] = []

    def connect(url: str, topics: tuple[str, ...]) -> zmq.Socket[bytes]:
        socket = context.socket(zmq.SUB)
        socket.setsockopt(zmq.LINGER, 0)
        socket.setsockopt(zmq.RCVHWM, 0)  # a SUB at its high-water mark drops; the host sets 1M
        for topic in topics:
            socket.subscribe(topic.encode())
        socket.connect(url)
        sockets.append(socket)
        return socket

    yield connect
    for socket in sockets:
        socket.close()


def receive(
    socket: zmq.Socket[bytes], count: int, timeout: float = 30.0
) -> list[tuple[float, list[bytes]]]:
    """``count`` messages with the monotonic time each arrived; fails after ``timeout``."""
    received: list[tuple[float, list[bytes]]] = []
    deadline = time.monotonic() + timeout
    while len(received) < count:
        remaining = max(0.0, deadline - time.monotonic())
        arrived = socket.poll(int(remaining * 1000))
        assert arrived, f"received {len(received)} of {count} messages in {timeout} s"
        received.append((time.monotonic(), socket.recv_multipart()))
    return received


def wire(event: Published) -> list[bytes]:
    if isinstance(event, SessionStatus | SystemStatus):
        topic = "$session" if isinstance(event, SessionStatus) else "$system"
    else:
        topic = event.symbol
    return [topic.encode(), encode(event)]


def without_repeats(received: list[tuple[float, list[bytes]]]) -> list[list[bytes]]:
    """The messages, each status only the first time: the feed repeats them every 5 s."""
    seen: list[list[bytes]] = []
    kept = []
    for _, frames in received:
        if frames[0].startswith(b"$"):
            if frames in seen:
                continue
            seen.append(frames)
        kept.append(frames)
    return kept


def write_files(tmp_path: Path) -> list[str]:
    si = tmp_path / "si.csv"
    si.write_text(
        "timestamp,symbol,bid,ask,bid_size,ask_size\n"
        + "".join(f"{T0 + n * SECOND // 2},Si,{90000 + n},{90001 + n},3,4\n" for n in range(9))
    )
    rts = tmp_path / "rts.txt"  # Finam ticks, Moscow time: 13:59:58.250 onwards
    rts.write_text(
        "<TICKER>;<PER>;<DATE>;<TIME>;<LAST>;<VOL>\n"
        + "".join(f"RIZ5;0;20251127;1359{58 + n}250;{110000 + 10 * n};{n + 1}\n" for n in range(2))
        + "RIZ5;0;20251127;140000250;110020;5\nRIZ5;0;20251127;140001x;1;1\n"
    )
    return [str(si), str(rts)]


def test_serve_feed_delivers_every_event_and_session_in_order(
    tmp_path: Path, subscribe: Subscribe
) -> None:
    files = write_files(tmp_path)
    url = f"ipc://{tmp_path}/data"
    expected = list(with_sessions(merge(*(read_file(f) for f in files)), FORTS))
    socket = subscribe(url, ("$session", "Si", "RTS"))

    feed = Feed(files, url)
    received = receive(socket, len(expected))

    assert feed.join() == 0
    assert [frames for _, frames in received] == [wire(event) for event in expected]
    assert [e.state for e in expected if isinstance(e, SessionStatus)] == [OPEN, CLEARING]
    summary = feed.out.getvalue()
    assert re.fullmatch(
        r"yard feed: 14 events \(9 quotes, 3 ticks, 2 session changes\) from 2 files, "
        r"1 bad row skipped, in \d+\.\d\d s: [\d,]+ events/s\n",
        summary,
    ), summary


def test_serve_feed_paces_by_event_time_at_ten_times(tmp_path: Path, subscribe: Subscribe) -> None:
    path = tmp_path / "second.csv"  # three quotes spanning one second of event time
    path.write_text(
        "timestamp,symbol,bid,ask,bid_size,ask_size\n"
        + "".join(f"{T0 + n * SECOND // 2},Si,90000,90001,1,1\n" for n in range(3))
    )
    url = f"ipc://{tmp_path}/data"
    socket = subscribe(url, ("Si",))

    feed = Feed([str(path)], url, speed=10.0, sessions=False)
    received = receive(socket, 3)

    assert feed.join() == 0
    assert 0.09 <= received[-1][0] - received[0][0] < 1.0


def test_serve_feed_without_a_subscriber_exits_2_saying_so(tmp_path: Path) -> None:
    feed = Feed([], f"ipc://{tmp_path}/data", wait_timeout=0.3)

    assert feed.join() == 2
    assert "yard feed: fewer than 1 subscribers to any symbol on ipc://" in feed.err.getvalue()
    assert "is the host running" in feed.err.getvalue()


def test_serve_feed_in_strict_mode_exits_2_at_the_first_bad_row(
    tmp_path: Path, subscribe: Subscribe
) -> None:
    files = write_files(tmp_path)
    url = f"ipc://{tmp_path}/data"
    socket = subscribe(url, ("Si", "RTS", "$session"))

    feed = Feed(files, url, strict=True)
    # Up to the RTS tick before the bad row: 2 session changes, 5 quotes, 3 ticks.
    received = receive(socket, 10)

    assert feed.join() == 2
    assert f"yard feed: {files[1]} line 5: TIME '140001x' is not HHMMSS" in feed.err.getvalue()
    assert received[-1][1][0] == b"RTS"
    assert not socket.poll(200), "nothing is published after the bad row"


def test_serve_feed_refuses_a_missing_file_before_waiting_for_subscribers(tmp_path: Path) -> None:
    missing = tmp_path / "missing.csv"
    began = time.monotonic()

    feed = Feed([str(missing)], f"ipc://{tmp_path}/data", wait_timeout=30.0)

    assert feed.join() == 2
    assert time.monotonic() - began < 10
    assert f"yard feed: Cannot read market data file {missing}: No such file" in feed.err.getvalue()


def test_serve_feed_refuses_a_url_it_cannot_bind(tmp_path: Path) -> None:
    feed = Feed([], "nonsense://nowhere")

    assert feed.join() == 2
    assert "yard feed: feed cannot bind nonsense://nowhere" in feed.err.getvalue()


def test_serve_feed_refuses_a_speed_that_is_not_positive(tmp_path: Path) -> None:
    feed = Feed([], f"ipc://{tmp_path}/data", speed=0.0)

    assert feed.join() == 2
    assert "yard feed: --speed must be 'max' or a positive number of times real time" in (
        feed.err.getvalue()
    )


@pytest.mark.slow
def test_the_whole_sample_day_arrives_with_its_sessions(
    tmp_path: Path, subscribe: Subscribe
) -> None:
    url = f"ipc://{tmp_path}/data"
    expected = len(list(sample_session())) + 6  # open, clearing, open, clearing, open, closed
    close = FORTS.windows_on(SAMPLE_DATE)[-1][1]  # 23:50 in Moscow
    socket = subscribe(url, ("",))
    closed = wire(SessionStatus(ts=close, session="FORTS", state=CLOSED))

    feed = Feed([], url)
    received = receive(socket, expected, timeout=60)
    while received[-1][1] != closed:  # the statuses were repeated while publishing
        received += receive(socket, 1)
    messages = without_repeats(received)

    assert feed.join() == 0
    assert messages[0][0] == b"$session"
    assert len(messages) == expected
    assert f"yard feed: {expected:,} events" in feed.out.getvalue()


def test_replay_events_publishes_sessions_with_their_topic(
    tmp_path: Path, context: zmq.Context[zmq.Socket[bytes]], subscribe: Subscribe
) -> None:
    publisher = QuotePublisher(context, f"ipc://{tmp_path}/data")
    socket = subscribe(publisher.endpoint, ("",))
    try:
        publisher.wait_for_market_subscribers(count=1, timeout=10)
        events: list[Quote | Tick] = [quote("Si", 1, 2, ts=T0), tick("RTS", 110000, ts=T0)]
        stream = list(with_sessions(events, FORTS))

        counts = replay_events(stream, publisher)
        received = receive(socket, len(stream))
    finally:
        publisher.close()

    assert [frames[0] for _, frames in received] == [b"$session", b"Si", b"RTS"]
    assert (counts.quotes, counts.ticks, counts.sessions, counts.events) == (1, 1, 1, 3)


def test_market_stream_merges_the_files_with_their_sessions_or_gives_the_sample_day(
    tmp_path: Path,
) -> None:
    files = write_files(tmp_path)

    merged = list(market_stream([read_file(f) for f in files], seed=7, sessions=True))
    day = list(itertools.islice(market_stream([], seed=3, sessions=False), 50))

    assert merged == list(with_sessions(merge(*(read_file(f) for f in files)), FORTS))
    assert day == list(itertools.islice(sample_session(seed=3), 50))


class _Counting:
    """A publisher that keeps what it is given."""

    def __init__(self) -> None:
        self.published: list[Published] = []

    def publish(self, event: Published) -> None:
        self.published.append(event)

    def idle(self, seconds: float) -> None:
        pass


def test_replay_events_reports_progress_every_so_often_and_at_the_end() -> None:
    events = [quote("Si", 1, 2, ts=T0 + n) for n in range(2 * PROGRESS_EVERY + 5)]
    publisher = _Counting()
    seen: list[int] = []

    replay_events(events, publisher, progress=seen.append)

    assert seen == [PROGRESS_EVERY, 2 * PROGRESS_EVERY, 2 * PROGRESS_EVERY + 5]
    assert publisher.published == events


OPENED = SessionStatus(ts=T0, session="FORTS", state=OPEN)
FEED_OK = SystemStatus(ts=T0, component="feed-moex", status="ok")


class Idling:
    """``publisher.idle(seconds)`` on a thread of its own: the publisher's only thread meanwhile."""

    def __init__(self, publisher: QuotePublisher, seconds: float) -> None:
        self.thread = threading.Thread(target=publisher.idle, args=(seconds,), name="feed-idle")
        self.thread.start()

    def __enter__(self) -> Idling:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.thread.join(timeout=30)
        assert not self.thread.is_alive(), "idle did not return"


@pytest.mark.parametrize("topics", [("$session", "$system", "Si"), ("",), ("$",)])
def test_a_late_subscriber_gets_the_last_status_of_each_session_and_component_at_once(
    tmp_path: Path,
    context: zmq.Context[zmq.Socket[bytes]],
    subscribe: Subscribe,
    topics: tuple[str, ...],
) -> None:
    publisher = QuotePublisher(context, f"ipc://{tmp_path}/data", repeat_every=None)
    clearing = SessionStatus(ts=T0 + SECOND, session="FORTS", state=CLEARING)
    other = SessionStatus(ts=T0, session="MOEX-FX", state=OPEN)
    try:
        for event in (OPENED, FEED_OK, other, clearing, quote("Si", 1, 2, ts=T0 + SECOND)):
            publisher.publish(event)  # nobody hears these: nobody has subscribed yet
        connected = time.monotonic()
        socket = subscribe(publisher.endpoint, topics)
        with Idling(publisher, 1.0):
            received = receive(socket, 3, timeout=5)
        late = socket.poll(100)
    finally:
        publisher.close()

    assert sorted(frames for _, frames in received) == sorted(
        [wire(FEED_OK), wire(other), wire(clearing)]
    )
    assert received[-1][0] - connected < 0.5
    assert not late, "each status once: one subscriber, one answer"


def test_the_feed_repeats_its_statuses_to_every_subscriber_while_idle(
    tmp_path: Path, context: zmq.Context[zmq.Socket[bytes]], subscribe: Subscribe
) -> None:
    publisher = QuotePublisher(context, f"ipc://{tmp_path}/data", repeat_every=0.1)
    sockets = [subscribe(publisher.endpoint, ("$session",)) for _ in range(2)]
    try:
        publisher.wait_for_subscribers(["$session"], count=2)
        publisher.publish(OPENED)
        with Idling(publisher, 0.5):
            received = [receive(socket, 3) for socket in sockets]
    finally:
        publisher.close()

    for messages in received:
        assert [frames for _, frames in messages] == [wire(OPENED)] * 3
    first = received[0]  # the second socket's were waiting when it was read
    assert first[2][0] - first[0][0] >= 0.15  # two repeats, 0.1 s apart


def test_the_feed_repeats_its_statuses_between_quotes_too(
    tmp_path: Path, context: zmq.Context[zmq.Socket[bytes]], subscribe: Subscribe
) -> None:
    publisher = QuotePublisher(context, f"ipc://{tmp_path}/data", repeat_every=0.05)
    socket = subscribe(publisher.endpoint, ("$session", "Si"))
    try:
        publisher.wait_for_subscribers(["$session", "Si"])
        publisher.publish(OPENED)
        began = time.monotonic()
        published = 0
        while time.monotonic() - began < 0.3:  # the feed's own pace: no idle between quotes
            publisher.publish(quote("Si", 1, 2, ts=T0 + published))
            published += 1
        received = receive(socket, published + 1)
        while socket.poll(200):
            received.append((time.monotonic(), socket.recv_multipart()))
    finally:
        publisher.close()

    statuses = [frames for _, frames in received if frames[0] == b"$session"]
    assert len(received) - len(statuses) == published
    assert len(statuses) >= 3
    assert set(map(tuple, statuses)) == {tuple(wire(OPENED))}


def test_a_publisher_refuses_a_repeat_interval_that_is_not_positive(
    tmp_path: Path, context: zmq.Context[zmq.Socket[bytes]]
) -> None:
    with pytest.raises(ConfigError, match="repeat_every must be a positive number of seconds"):
        QuotePublisher(context, f"ipc://{tmp_path}/data", repeat_every=0)

    assert REPEAT_EVERY_S == 5.0
