"""A feed waits for hosts and the gateway, each counted once whatever it trades.

Each says it is ready by subscribing to ``$ready/host`` or ``$ready/gateway`` on ``data``
(docs/wire.md 1): a real Host after its robots' symbols, the gateway's sockets after
theirs. The feed (:class:`QuotePublisher`, ``yard feed --hosts``) counts those, over
``ipc://`` without keys and over keyed ``tcp://``; a host that cannot be reached
(``inproc://`` endpoints under ``--role host``) refuses at once.
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import zmq

from gateways.endpoints import GatewaySockets
from gateways.feed import QuotePublisher, serve_feed
from tests.integration.cli_process import yard
from yard_actors import net
from yard_actors.errors import GatewayError
from yard_actors.host.host import Host
from yard_actors.net import Security, make_keys
from yard_actors.wire.names import HOST_READY

Context = zmq.Context[zmq.Socket[bytes]]
MM = "robots.market_maker:MarketMaker"
NOBODY_S = 0.5  # how long a wait that must fail waits: nobody is coming


@pytest.fixture
def sockets() -> Iterator[Path]:
    # ipc:// paths are capped near 100 bytes: a short directory of its own, not tmp_path.
    with tempfile.TemporaryDirectory(prefix="yard-wait-") as folder:
        yield Path(folder)


@pytest.fixture
def context() -> Iterator[Context]:
    made: Context = zmq.Context()
    yield made
    made.term()


@pytest.fixture
def feed(context: Context, sockets: Path) -> Iterator[QuotePublisher]:
    publisher = QuotePublisher(context, f"ipc://{sockets}/data")
    yield publisher
    publisher.close()


def _host(sockets: Path, name: str, robots: dict[str, list[str]]) -> Host:
    host = Host(
        data=f"ipc://{sockets}/data",
        orders=f"ipc://{sockets}/orders",
        trades=f"ipc://{sockets}/trades",
        control=f"ipc://{sockets}/control-{name}",
        journal_dir=None,
    )
    for robot, symbols in robots.items():
        host.add_robot(MM, name=robot, symbols=symbols)
    return host


def test_a_feed_waiting_for_hosts_counts_each_host_once_whatever_it_trades(
    feed: QuotePublisher, sockets: Path
) -> None:
    # Three robots on two symbols: no one symbol has a subscriber per host and the gateway.
    with (
        _host(sockets, "a", {"mm-si": ["Si"], "mm-rts": ["RTS"]}) as host_a,
        _host(sockets, "b", {"mm-rts-2": ["RTS"]}) as host_b,
    ):
        host_a.announce_ready()
        with pytest.raises(GatewayError, match=r"1 of 2 hosts ready; start each host"):
            feed.wait_until_ready(hosts=2, gateways=0, timeout=NOBODY_S)

        host_b.announce_ready()
        feed.wait_until_ready(hosts=2, gateways=0, timeout=30)


def test_a_host_says_it_is_ready_after_its_robots_symbols_on_the_same_socket(
    context: Context, sockets: Path
) -> None:
    publisher = context.socket(zmq.XPUB)
    publisher.setsockopt(zmq.XPUB_VERBOSE, 1)
    publisher.bind(f"ipc://{sockets}/data")
    try:
        with _host(sockets, "a", {"mm-si": ["Si"], "mm-rts": ["RTS"]}) as host:
            host.announce_ready()
            heard: list[bytes] = []
            while f"\x01{HOST_READY}".encode() not in heard:
                assert publisher.poll(30_000), f"no $ready/host subscription; heard {heard}"
                heard.append(publisher.recv())
    finally:
        publisher.close(linger=0)

    assert {b"\x01Si", b"\x01RTS", b"\x01$session"} <= set(heard[:-1])


def test_a_feed_waits_for_the_gateway_too(
    feed: QuotePublisher, context: Context, sockets: Path
) -> None:
    with pytest.raises(GatewayError, match=r"0 of 1 gateway ready"):
        feed.wait_until_ready(hosts=0, gateways=1, timeout=NOBODY_S)
    gateway = GatewaySockets(
        context,
        orders=f"ipc://{sockets}/orders",
        trades=f"ipc://{sockets}/trades",
        recovery=None,
        data=f"ipc://{sockets}/data",
        symbols=["Si"],
    )
    try:
        feed.wait_until_ready(hosts=0, gateways=1, timeout=30)
    finally:
        gateway.close()


def test_over_keyed_tcp_the_feed_names_the_keys_of_the_hosts_that_are_ready(
    tmp_path: Path, context: Context
) -> None:
    keys = tmp_path / "keys"
    make_keys(keys, ["feed", "host-a"])
    feed = QuotePublisher(context, "tcp://127.0.0.1:*", security=Security.from_keys(keys, "feed"))
    host = context.socket(zmq.SUB)  # a host's data socket, as net connects it
    try:
        net.connect(host, feed.endpoint, Security.from_keys(keys, "host-a"), server="feed")
        host.subscribe(HOST_READY.encode())
        feed.wait_until_ready(hosts=1, gateways=0, timeout=30)

        assert feed.readiness(1, 0) == "1 of 1 host ready (host-a)"
    finally:
        host.close(linger=0)
        feed.close()


def test_yard_feed_says_whom_it_waits_for_and_gives_up_naming_who_is_missing(
    sockets: Path,
) -> None:
    out, err = io.StringIO(), io.StringIO()
    url = f"ipc://{sockets}/data"

    code = serve_feed([], url, hosts=2, wait_timeout=NOBODY_S, out=out, err=err)

    assert code == 2
    assert out.getvalue() == (
        f"yard feed: waiting for 2 hosts and 1 gateway to be ready on {url}; "
        "start them now (Ctrl-C to stop)\n"
    )
    assert "0 of 2 hosts and 0 of 1 gateway ready; start each host" in err.getvalue()


def test_yard_feed_publishes_only_the_first_limit_events(sockets: Path) -> None:
    out = io.StringIO()

    code = serve_feed([], f"ipc://{sockets}/data", wait_for=0, limit=5, linger=0, out=out)

    assert code == 0
    assert out.getvalue().startswith("yard feed: 5 events ")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--hosts", "2", "--wait-for", "2"], "--hosts 2 and --wait-for 2: give one"),
        (["--hosts", "-1"], "argument --hosts: must be a whole number of hosts, 0 or more"),
        (["--limit", "0"], "argument --limit: must be a whole number of events, 1 or more"),
    ],
)
def test_yard_feed_refuses_flags_that_cannot_work(
    args: list[str], message: str, tmp_path: Path
) -> None:
    done = yard("feed", "--bind", f"ipc://{tmp_path}/d", *args, cwd=tmp_path, timeout=60)

    assert done.returncode == 2
    assert message in done.stderr


def test_a_host_on_inproc_endpoints_refuses_to_run_on_its_own(tmp_path: Path) -> None:
    # It would wait for ever: no feed or gateway in another process can bind inproc://.
    done = yard("run", "--role", "host", cwd=tmp_path, timeout=60)

    assert done.returncode == 2
    assert "--role host runs a host in a process of its own, but" in done.stderr
    for name in ("data", "orders", "trades"):
        assert f"endpoints.{name} = 'inproc://yard-{name}'" in done.stderr
    assert not (tmp_path / "yard-data").exists()  # refused before anything was made


def test_a_host_with_only_its_data_on_inproc_is_refused_naming_it(tmp_path: Path) -> None:
    config = tmp_path / "yard.toml"
    config.write_text(
        f'[endpoints]\ndata = "inproc://market"\norders = "ipc://{tmp_path}/o"\n'
        f'trades = "ipc://{tmp_path}/t"\n',
        encoding="utf-8",
    )

    done = yard("run", str(config), "--role", "host", cwd=tmp_path, timeout=60)

    assert done.returncode == 2
    assert "endpoints.data = 'inproc://market': inproc:// reaches only" in done.stderr
    assert "endpoints.orders" not in done.stderr
