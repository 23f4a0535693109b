"""README's "Deployment across processes", run as it is written there.

The test takes the section's ``toml`` block as ``yard.toml`` and runs its ``bash`` blocks
line by line in a fresh folder, adding nothing to the commands: ``yard keys``, the gateway,
both hosts and the feed (each long-running one a process of its own, started once the one
before it says it is ready), then the ``yard ctl`` lines. The feed publishes what README
says (``--limit``) and exits; orders and fills must have reached the gateway's store for
every robot of both hosts, each ``yard ctl`` must exit 0, and SIGTERM must stop the
gateway and the hosts with exit 0 and their summaries. README's ports are fixed: if one
is taken, the test is skipped, saying which.
"""

from __future__ import annotations

import re
import shlex
import socket
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateways.store import open_store
from tests.integration.cli_process import yard
from tests.integration.crash.processes import REPO, YardProcess
from yard_actors.testing import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(420)]

README = REPO / "README.md"
SECTION = "## Deployment across processes"
# What a long-running command prints once it serves; the feed serves until it has published.
SERVERS = {"gateway": "yard gateway ready", "run": "yard host ready", "feed": None}
START_S = 60.0  # a process's start-up, imports and CURVE handshakes, on a loaded 2-core box
FEED_S = 180.0  # the feed publishes README's --limit and exits (30 s of linger at most)
TRADED_S = 90.0  # from the feed's end until every robot's fills are in the store
STOP_S = 30.0
CTL_S = 60.0


def _section(text: str) -> str:
    start = text.index(SECTION)
    heading = re.compile(r"^#{2,3} ", re.MULTILINE)
    following = heading.search(text, start + len(SECTION))
    return text[start : following.start() if following else len(text)]


def _blocks(section: str, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", section, re.MULTILINE | re.DOTALL)


def _commands(block: str) -> list[list[str]]:
    """Each command of a bash block as argv: continued lines joined, comments dropped."""
    joined = re.sub(r"\\\n", " ", block)
    return [shlex.split(line, comments=True) for line in joined.splitlines() if line.strip()]


def _subcommand(argv: list[str]) -> str:
    """``yard [--cpu N] [-v] COMMAND ...``: the COMMAND."""
    rest = argv[1:]
    while rest and rest[0].startswith("-"):
        rest = rest[2:] if rest[0] == "--cpu" else rest[1:]
    return rest[0]


def _flag(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def _taken(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as ZeroMQ binds
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def _start(
    commands: list[list[str]], folder: Path, processes: list[YardProcess]
) -> tuple[YardProcess, dict[str, YardProcess], YardProcess]:
    """Run README's commands in order: one-shots to their end (exit 0), each server until it
    says it is ready. The gateway, the hosts by their ``--robots``, and the feed."""
    servers: dict[str, YardProcess] = {}
    hosts: dict[str, YardProcess] = {}
    for n, argv in enumerate(commands):
        assert argv[0] == "yard", argv
        kind = _subcommand(argv)
        if kind not in SERVERS:
            done = yard(*argv[1:], cwd=folder)
            assert done.returncode == 0, (argv, done.stderr)
            continue
        process = YardProcess(
            f"{n}-{kind}",
            [sys.executable, "-m", "yard_actors.app.cli", *argv[1:]],
            folder,
            ready=SERVERS[kind],
            env={"PYTHONPATH": ""},  # the robots come from the installed package, as README's
        )
        processes.append(process)
        process.start(START_S)
        if kind == "run":
            hosts[_flag(argv, "--robots")] = process
        else:
            servers[kind] = process
    return servers["gateway"], hosts, servers["feed"]


@pytest.fixture
def processes() -> Iterator[list[YardProcess]]:
    """The long-running processes a test started; any still running is killed after it."""
    started: list[YardProcess] = []
    yield started
    for process in started:
        process.kill(count=False)


def test_readme_deployment_runs_verbatim_trades_on_both_hosts_and_stops_cleanly(
    tmp_path: Path, processes: list[YardProcess]
) -> None:
    section = _section(README.read_text(encoding="utf-8"))
    [config] = _blocks(section, "toml")
    starting, controlling = (_commands(block) for block in _blocks(section, "bash"))
    ports = sorted({int(p) for p in re.findall(r"127\.0\.0\.1:(\d+)", section)})
    if busy := [port for port in ports if _taken(port)]:
        pytest.skip(f"README's deployment needs ports {ports}; taken now: {busy}")
    (tmp_path / "yard.toml").write_text(config, encoding="utf-8")
    robots = [robot["name"] for robot in tomllib.loads(config)["robots"]]
    gateway, hosts, feed = _start(starting, tmp_path, processes)
    assert sorted(name for names in hosts for name in names.split(",")) == sorted(robots)
    assert len(hosts) == 2

    wait_until(lambda: not feed.running, timeout=FEED_S, what="the feed to publish and exit")
    assert str(feed.stop()).endswith("exited by itself with code 0"), feed.errors()[-2000:]
    published = feed.output()
    assert re.search(r"^yard feed: [\d,]+ events", published, re.MULTILINE), published
    store_url = _flag(next(a for a in starting if _subcommand(a) == "gateway"), "--store")
    with open_store(store_url.replace("sqlite:///", f"sqlite:///{tmp_path}/", 1)) as store:
        wait_until(
            lambda: all(store.trades(robot=name) for name in robots),
            timeout=TRADED_S,
            what=f"fills in the store for every robot of {robots}",
        )
        orders = {name: len(store.orders(robot=name)) for name in robots}
    assert all(orders.values()), orders

    for argv in controlling:
        done = yard(*argv[1:], cwd=tmp_path, timeout=CTL_S)
        assert done.returncode == 0, (argv, done.stdout, done.stderr)
        if argv[-1] == "status":  # the robot table of the host it asked
            assert any(all(n in done.stdout for n in names.split(",")) for names in hosts)

    stopped = {
        name: process.stop(STOP_S) for name, process in [("gateway", gateway), *hosts.items()]
    }
    assert stopped == dict.fromkeys(stopped), stopped  # every one exited 0 on SIGTERM
    assert "yard gateway stopped" in gateway.output(), gateway.errors()[-2000:]
    for names, host in hosts.items():
        ready, _, table = host.output().partition("\n")  # the table follows the ready line
        assert all(name in table for name in names.split(",")), (ready, table)
    for process in processes:
        assert process.tracebacks() == []
