"""``yard init``: a commented example config and a robot template to start from.

``yard init --deployment`` writes instead the config of a deployment across processes
(a feed, a gateway and two hosts on one machine, over keyed ``tcp://``) and prints the
commands that start it: the same text as README's "Deployment across processes", which
a test runs as it is written there.
"""

from __future__ import annotations

from pathlib import Path

from yard_actors.errors import ConfigError

__all__ = [
    "DEPLOYMENT_COMMANDS",
    "DEPLOYMENT_CONFIG",
    "DEPLOYMENT_CONTROL",
    "write_deployment",
    "write_templates",
]

CONFIG = """\
# yard.toml: one file for the whole setup. `yard run yard.toml` runs it all in one
# process; `yard run yard.toml --role host --robots my-robot` runs one host of it.
# Every key is optional: what is left out takes the default shown.

# Where orders and fills are kept: the one source of truth.
store = "sqlite:///yard-data/yard.db"       # or "mongodb://host1,host2/yard?replicaSet=rs0"
journal_dir = "yard-data/journal"          # every event each robot received, before it handled it
# runtime = "pooled"                       # or "threads": a thread per robot ([pool] below)

[journal]
flush = "every_event"                      # every_event | every_n | interval
# every_n = 100
# interval_ms = 50
# fsync = false                            # true: survive power loss, at ~0.3 ms per record

# [pool]                                   # the pooled runtime's worker threads
# workers = 1
# batch = 64                               # messages of one robot a worker handles in a turn
# max_workers = 9                          # most the pool grows to while turns are stuck
#                                          # (default workers + 8; = workers: never grows)

# [mailbox]                                # market data that may wait for one robot
# conflate_at = 10000                      # from this many waiting, its quotes are conflated
# overrun_at = 50000                       # at this many it is halted, its ticks withheld

[endpoints]                                # inproc:// in one process; tcp:// across machines
data = "inproc://yard-data"                # the feed binds, hosts and the gateway connect
orders = "inproc://yard-orders"            # the gateway binds, hosts connect
trades = "inproc://yard-trades"            # the gateway binds, hosts connect
recovery = "inproc://yard-recovery"        # the gateway binds: replay of missed reports
# control = "tcp://0.0.0.0:5564"           # each host binds (default: ipc:// beside its
#                                          # journal); `yard ctl --endpoint` connects

[security]                                 # CURVE keys: every tcp:// endpoint needs them
# secret_key = "keys/host.key_secret"      # this process's key pair (yard keys keys)
# public_keys = "keys"                     # the public keys it trusts (NAME.key)
# max_message_size = 524288                # bytes; a larger frame cuts its sender off

[paper]                                    # the paper exchange inside the gateway
latency_ms = 0
fee_per_lot = "0.5"
require_session = true                     # refuse orders outside an open trading session

[feed]
# files = ["data/SPFB.Si_ticks.csv"]       # CSV or Finam exports; none: the bundled sample day
speed = "max"                              # "max", or 1.0 for real time, 10.0 for ten times
sessions = true                            # insert MOEX FORTS session status from the schedule
seed = 7                                   # the sample day's seed
# tz = "UTC"                               # zone of CSV times written without one (Finam: Moscow)

[instruments]                              # built in: Si RTS MIX BR GOLD Eu ED SBRF GAZR (MOEX
                                           # specs: check them against the exchange's pages)
# usd_rub = "92.5"                         # roubles per dollar: P&L of RTS, BR, GOLD, ED in
#                                          # roubles (without it, in price points)
# [instruments.NG]                         # add an instrument, or change a built-in one
# tick = "0.001"                           # its price step (required for a new one)
# point_value_usd = "100"                  # dollars a price point is worth (paid at
#                                          # usd_rub), or point_value = "..." in roubles
# lot = 1                                  # units of the quoted price in one lot

[[robots]]
class = "my_robot:MyRobot"                 # module:Class, importable from where you run yard
name = "my-robot"
symbols = ["Si"]
params = { qty = 1, edge_ticks = 2 }

[[robots]]
class = "robots.market_maker:MarketMaker"
name = "mm-rts"
symbols = ["RTS"]
params = { half_spread_ticks = 2, max_position = 3, requote_ticks = 2 }  # RTS's tick: 10
"""

ROBOT = '''\
"""my_robot.py: a robot template. Run it with `yard run yard.toml`."""

from __future__ import annotations

import attrs

from yard_actors import Fill, HandlerResult, Quote, Robot


@attrs.frozen(kw_only=True)
class MyParams:
    qty: int = 1
    edge_ticks: int = 2


class MyRobot(Robot):
    """Buys below the market and sells above it, one lot at a time."""

    symbols = ("Si",)
    params_class = MyParams

    def on_start(self) -> None:
        self.fills = 0  # public attributes are part of the snapshot and of replay checks

    def on_quote(self, quote: Quote) -> HandlerResult:
        if self.open_orders(quote.symbol):
            return None  # one order at a time
        # prices move in whole ticks (Si: 1, RTS: 10, BR: 0.01; [instruments] in yard.toml)
        edge = self.params.edge_ticks * self.instrument(quote.symbol).tick
        if self.position(quote.symbol) <= 0:
            return self.buy(quote.symbol, self.params.qty, quote.bid - edge)
        return self.sell(quote.symbol, self.params.qty, quote.ask + edge)

    def on_fill(self, fill: Fill) -> HandlerResult:
        self.fills += 1
        return None
'''


def write_templates(directory: Path) -> list[Path]:
    """Write ``yard.toml`` and ``my_robot.py`` into ``directory``; never overwrite a file."""
    return _write(directory, {directory / "yard.toml": CONFIG, directory / "my_robot.py": ROBOT})


def _write(directory: Path, targets: dict[Path, str]) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    existing = [str(path) for path in targets if path.exists()]
    if existing:
        msg = f"{', '.join(existing)} already exist; yard init does not overwrite files"
        raise ConfigError(msg)
    for path, text in targets.items():
        path.write_text(text, encoding="utf-8")
    return list(targets)


DEPLOYMENT_CONFIG = """\
# yard.toml: the hosts' config of a deployment across processes (yard init --deployment).
# The feed, the gateway and each host run in processes of their own; the feed and the
# gateway take their endpoints as flags, and each host overrides what is its own.
journal_dir = "yard-data/journal"          # each host its own: --journal-dir

[endpoints]                                # every tcp:// endpoint is keyed (CURVE)
data = "tcp://127.0.0.1:5561"              # the feed binds, hosts and the gateway connect
orders = "tcp://127.0.0.1:5562"            # the gateway binds, hosts connect
trades = "tcp://127.0.0.1:5563"            # the gateway binds, hosts connect
recovery = "tcp://127.0.0.1:5565"          # the gateway binds: replay of missed reports
control = "tcp://127.0.0.1:5564"           # host-a binds; host-b: --control, port 5566

[security]
secret_key = "keys/host-a.key_secret"      # host-b: --secret-key keys/host-b.key_secret
public_keys = "keys"                       # the keys it trusts: feed, gateway, ops

[[robots]]                                 # on host-a
class = "robots.trend:TrendFollower"
name = "trend-si"
symbols = ["Si"]
params = { fast = 20, slow = 120, qty = 1 }

[[robots]]                                 # on host-a
class = "robots.market_maker:MarketMaker"
name = "mm-si"
symbols = ["Si"]
params = { half_spread_ticks = 3, max_position = 5, requote_ticks = 3 }

[[robots]]                                 # on host-b
class = "robots.market_maker:MarketMaker"
name = "mm-rts"
symbols = ["RTS"]
params = { half_spread_ticks = 2, max_position = 3, requote_ticks = 2 }
"""

DEPLOYMENT_COMMANDS = """\
yard keys keys --name feed --name gateway --name host-a --name host-b --name ops
yard gateway --store sqlite:///yard-data/yard.db --data tcp://127.0.0.1:5561 \\
    --orders tcp://127.0.0.1:5562 --replies tcp://127.0.0.1:5563 --recovery tcp://127.0.0.1:5565 \\
    --secret-key keys/gateway.key_secret --public-keys keys
yard run yard.toml --role host --robots trend-si,mm-si --journal-dir yard-data/host-a
yard run yard.toml --role host --robots mm-rts --journal-dir yard-data/host-b \\
    --control tcp://127.0.0.1:5566 --secret-key keys/host-b.key_secret
yard feed --bind tcp://127.0.0.1:5561 --hosts 2 --speed max --limit 20000 \\
    --secret-key keys/feed.key_secret --public-keys keys
"""
"""The commands that start :data:`DEPLOYMENT_CONFIG`'s deployment, in order, from its folder:
the key pairs, then the gateway and each host, each in a terminal of its own, and the feed
last (it waits for both hosts and the gateway)."""


DEPLOYMENT_CONTROL = """\
yard ctl --endpoint tcp://127.0.0.1:5564 --keys keys --key ops --server host-a status
yard ctl --endpoint tcp://127.0.0.1:5564 --keys keys --key ops --server host-a pause mm-si
yard ctl --endpoint tcp://127.0.0.1:5564 --keys keys --key ops --server host-a params mm-si max_position=3
yard ctl --endpoint tcp://127.0.0.1:5564 --keys keys --key ops --server host-a halt
"""  # noqa: E501 - commands as they are typed, one a line
"""Supervising host-a of :data:`DEPLOYMENT_CONFIG` with the ``ops`` key: its robots' table,
one robot paused, a param changed, and the kill switch."""


def write_deployment(directory: Path) -> list[Path]:
    """Write :data:`DEPLOYMENT_CONFIG` as ``yard.toml`` into ``directory``; never overwrite it.

    Its robots are the example robots of the installed ``robots`` package: no module to
    write beside it.
    """
    return _write(directory, {directory / "yard.toml": DEPLOYMENT_CONFIG})
