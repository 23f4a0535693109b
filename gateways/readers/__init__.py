"""Market data files read into yard events lazily: generic CSV and Finam exports, told apart.

:func:`read_file` and :func:`merge` (:mod:`.market_file`) read any supported
file and interleave several in time; each format lives in its own module,
:mod:`.generic_csv` (a header naming the columns) and :mod:`.finam` (Finam's
columns, Moscow time, bars, tickers). Every error is a :class:`FeedError`.
"""

from __future__ import annotations

from gateways.readers._rows import FeedError
from gateways.readers.finam import FINAM_ROOTS, finam_symbol
from gateways.readers.generic_csv import time_zone
from gateways.readers.market_file import MarketFile, ReadStats, merge, read_file

__all__ = [
    "FINAM_ROOTS",
    "FeedError",
    "MarketFile",
    "ReadStats",
    "finam_symbol",
    "merge",
    "read_file",
    "time_zone",
]
