"""Raw limits of the libraries under yard, and the ZeroMQ pieces every bench rig shares.

Plain ZeroMQ inproc and a plain Pykka ``tell``, measured the way yard uses them
(two-frame ``[topic, payload]`` messages, one receiving thread, one actor), so
:mod:`bench_core` can print yard's figures beside what the pieces alone can do.
The rigs (:mod:`bench_host`, :mod:`bench_many`, :mod:`order_rig`, :mod:`order_process`)
take their socket types, symbol, endpoint names, bound sockets and subscription
waits from here.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import pykka
import zmq
from measure import per_op_us, percentiles

Context = zmq.Context[zmq.Socket[bytes]]
Socket = zmq.Socket[bytes]

SYMBOL = "Si"
TOPIC = SYMBOL.encode()
FINISH_TIMEOUT_S = 180.0  # a case that has not finished by then has lost messages
endpoint_ids = itertools.count(1)


# --- sockets ---------------------------------------------------------------------------------


def bound(context: Context, kind: int, url: str) -> Socket:
    """A socket of ``kind`` bound to ``url``, closing at once and never dropping on send."""
    socket = context.socket(kind)
    socket.setsockopt(zmq.LINGER, 0)
    socket.setsockopt(zmq.SNDHWM, 0)  # unbounded: a PUB drops at its HWM
    socket.bind(url)
    return socket


def wait_topics(feed: Socket, topics: Iterable[bytes], timeout: float = 30.0) -> None:
    """Block until ``feed`` (an XPUB) has seen a subscription to each of ``topics``, as
    TestFeed does. A topic listed twice needs two subscribers (and ``XPUB_VERBOSE``)."""
    missing = Counter(topics)
    deadline = time.monotonic() + timeout
    while missing:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not feed.poll(int(remaining * 1000)):
            msg = f"no subscription to {sorted(missing.elements())} within {timeout} s"
            raise TimeoutError(msg)
        message = feed.recv()
        if message[:1] == b"\x01" and missing[message[1:]] > 0:
            missing[message[1:]] -= 1
            if not missing[message[1:]]:
                del missing[message[1:]]


# --- raw limits --------------------------------------------------------------------------------


def pair(context: Context, sender: int, receiver: int, url: str) -> tuple[Socket, Socket]:
    """``sender`` bound to ``url`` and ``receiver`` connected to it (subscribed to TOPIC)."""
    out = bound(context, sender, url)
    into = context.socket(receiver)
    into.setsockopt(zmq.LINGER, 0)
    into.setsockopt(zmq.RCVHWM, 1_000_000)
    into.connect(url)
    if receiver == zmq.SUB:
        into.subscribe(TOPIC)
        assert out.recv() == b"\x01" + TOPIC  # the XPUB sees the subscription
    return out, into


def raw_zmq(count: int, payload: bytes, pattern: str) -> dict[str, Any]:
    """Two-frame messages from this thread to a receiving thread over inproc; msgs/s."""
    sender, receiver = (zmq.PUSH, zmq.PULL) if pattern == "push-pull" else (zmq.XPUB, zmq.SUB)
    context: Context = zmq.Context()
    out, into = pair(context, sender, receiver, f"inproc://bench-raw-{next(endpoint_ids)}")
    finished: list[int] = []

    def receive() -> None:
        recv = into.recv_multipart
        for _ in range(count):
            recv()
        finished.append(time.perf_counter_ns())

    thread = threading.Thread(target=receive, name="bench-raw-receiver")
    thread.start()
    started = time.perf_counter_ns()
    send = out.send_multipart
    for _ in range(count):
        send((TOPIC, payload))
    thread.join()
    out.close()
    into.close()
    context.term()
    seconds = (finished[0] - started) / 1e9
    return {"messages": count, "seconds": seconds, "per_s": count / seconds}


class Sink(pykka.ThreadingActor):
    """Drops what it is told, and calls ``on_last`` when it receives ``last``."""

    def __init__(self, last: int, on_last: Callable[[], None]) -> None:
        super().__init__()
        self._last = last
        self._on_last = on_last

    def on_receive(self, message: Any) -> None:
        if message == self._last:
            self._on_last()


def raw_pykka(count: int) -> dict[str, Any]:
    """``tell`` ``count`` ints to one ThreadingActor; time until it handled the last one."""
    done = threading.Event()
    ref = Sink.start(count - 1, done.set)
    try:
        started = time.perf_counter_ns()
        tell = ref.tell
        for n in range(count):
            tell(n)
        sent = time.perf_counter_ns()
        if not done.wait(FINISH_TIMEOUT_S):
            msg = f"the actor did not handle {count} tells in {FINISH_TIMEOUT_S} s"
            raise RuntimeError(msg)
        finished = time.perf_counter_ns()
    finally:
        ref.stop()
    seconds = (finished - started) / 1e9
    return {
        "messages": count,
        "seconds": seconds,
        "per_s": count / seconds,
        "send_per_s": count / ((sent - started) / 1e9),
    }


class _Forwarder(pykka.ThreadingActor):
    """Sends each message it is told on a PUSH socket: the robot actor's hop, without yard."""

    def __init__(self, push: Socket) -> None:
        super().__init__()
        self._push = push

    def on_receive(self, message: Any) -> None:
        self._push.send_multipart((b"robot", message))


def raw_pingpong(count: int, warmup: int, payload: bytes) -> dict[str, Any]:
    """XPUB->SUB->thread->tell->actor->PUSH->PULL and back to this thread: the hops' floor."""
    context: Context = zmq.Context()
    run = next(endpoint_ids)
    feed, sub = pair(context, zmq.XPUB, zmq.SUB, f"inproc://bench-pp-data-{run}")
    push, pull = pair(context, zmq.PUSH, zmq.PULL, f"inproc://bench-pp-orders-{run}")
    for socket in (sub, pull):  # a lost message ends the case with zmq.Again, not a hang
        socket.setsockopt(zmq.RCVTIMEO, 10_000)
    ref = _Forwarder.start(push)

    def receive() -> None:
        recv, tell = sub.recv_multipart, ref.tell
        for _ in range(count + warmup):
            tell(recv()[1])

    thread = threading.Thread(target=receive, name="bench-pp-intake")
    thread.start()
    try:
        samples = pingpong(feed, pull, [payload] * (count + warmup))
    finally:
        thread.join()
        ref.stop()
        for socket in (feed, sub, push, pull):
            socket.close()
        context.term()
    return percentiles(samples[warmup:])


def pingpong(feed: Socket, pull: Socket, payloads: Sequence[bytes]) -> list[int]:
    clock, send, recv = time.perf_counter_ns, feed.send_multipart, pull.recv_multipart
    samples = []
    for payload in payloads:
        started = clock()
        send((TOPIC, payload))
        recv()
        samples.append(clock() - started)
    return samples


# --- per-event costs, one thread, no contention -------------------------------------------------


def zmq_costs(count: int, payload: bytes) -> dict[str, float]:
    """Send and receive ``count`` queued messages: two frames the sugar's way and by hand."""
    context: Context = zmq.Context()
    out, into = pair(context, zmq.PUSH, zmq.PULL, f"inproc://bench-costs-{next(endpoint_ids)}")
    more, nowait = zmq.SNDMORE, zmq.NOBLOCK

    def send_by_hand() -> None:
        out.send(TOPIC, more)
        out.send(payload)

    def recv_by_hand() -> bool:
        into.recv(nowait)
        into.recv(nowait)
        return bool(into.getsockopt(zmq.RCVMORE))  # the intake's frame-count check

    costs = {
        "zmq send_multipart, 2 frames": per_op_us(
            count, lambda: out.send_multipart((TOPIC, payload))
        ),
        "zmq send + send, 2 frames": per_op_us(count, send_by_hand),
    }
    costs["zmq recv_multipart(NOBLOCK), 2 frames"] = per_op_us(
        count, lambda: into.recv_multipart(nowait)
    )
    costs["zmq recv + recv + RCVMORE, 2 frames"] = per_op_us(count, recv_by_hand)
    joined = TOPIC + b" " + payload
    for _ in range(count):
        out.send(joined)
    costs["zmq recv, 1 frame"] = per_op_us(count, into.recv)
    out.close()
    into.close()
    context.term()
    return costs
