"""``yard init``: a commented example config and a robot template to start from."""

from __future__ import annotations

from pathlib import Path

from yard_actors.errors import ConfigError

__all__ = ["write_templates"]

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

[[robots]]
class = "my_robot:MyRobot"                 # module:Class, importable from where you run yard
name = "my-robot"
symbols = ["Si"]
params = { qty = 1, edge_ticks = 2 }

[[robots]]
class = "robots.market_maker:MarketMaker"
name = "mm-rts"
symbols = ["RTS"]
params = { half_spread_ticks = 2, tick_size = "10", max_position = 3, requote_ticks = 2 }
"""

ROBOT = '''\
"""my_robot.py: a robot template. Run it with `yard run yard.toml`."""

from __future__ import annotations

from decimal import Decimal

import attrs

from yard_actors import Fill, HandlerResult, InstrumentTable, Quote, Robot

INSTRUMENTS = InstrumentTable()  # each contract's tick: prices move in whole ticks (RTS: 10)


def tick_of(symbol: str) -> Decimal:
    instrument = INSTRUMENTS.get(symbol)
    return Decimal(1) if instrument is None else instrument.tick_size


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
        edge = self.params.edge_ticks * tick_of(quote.symbol)  # on the grid for any symbol
        if self.position(quote.symbol) <= 0:
            return self.buy(quote.symbol, self.params.qty, quote.bid - edge)
        return self.sell(quote.symbol, self.params.qty, quote.ask + edge)

    def on_fill(self, fill: Fill) -> HandlerResult:
        self.fills += 1
        return None
'''


def write_templates(directory: Path) -> list[Path]:
    """Write ``yard.toml`` and ``my_robot.py`` into ``directory``; never overwrite a file."""
    directory.mkdir(parents=True, exist_ok=True)
    targets = {directory / "yard.toml": CONFIG, directory / "my_robot.py": ROBOT}
    existing = [str(path) for path in targets if path.exists()]
    if existing:
        msg = f"{', '.join(existing)} already exist; yard init does not overwrite files"
        raise ConfigError(msg)
    for path, text in targets.items():
        path.write_text(text, encoding="utf-8")
    return list(targets)
