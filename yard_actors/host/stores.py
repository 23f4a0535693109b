"""Which order stores can tell a host of its robots' fills, found by their URL's scheme.

The framework never imports ``gateways``: a package that provides an order store
with a change stream declares it as an entry point in the ``yard.fill_sources``
group, named for its URL scheme (yard's own: ``mongodb = gateways.store:open_store``
in ``setup.cfg``). A store with no such entry (SQLite) has no change stream, and
fills reach the host on the trades endpoint alone.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from importlib.metadata import entry_points

from yard_actors.errors import ConfigError
from yard_actors.host.fill_watch import FillSource, OpenFillSource

__all__ = ["FILL_SOURCES", "fill_source_for", "without_credentials"]

FILL_SOURCES = "yard.fill_sources"
"""The entry-point group: name = URL scheme, value = ``module:function(url) -> store``."""


def fill_source_for(url: str | None) -> OpenFillSource | None:
    """How to open ``url``'s change stream, or None if its kind of store has none.

    Raises :class:`ConfigError` when the entry point for the scheme is declared
    but cannot be loaded (a broken install), naming the entry point.
    """
    if url is None or "://" not in url:
        return None
    scheme = url.split("://", 1)[0]
    found = entry_points(group=FILL_SOURCES, name=scheme)
    if not found:
        return None
    point = next(iter(found))
    try:
        opener: Callable[[str], FillSource] = point.load()
    except (ImportError, AttributeError) as exc:
        msg = f"store {scheme}://: entry point {point.value} ({FILL_SOURCES}) fails to load: {exc}"
        raise ConfigError(msg) from exc
    return functools.partial(opener, url)


def without_credentials(url: str) -> str:
    """``url`` fit for a log line: ``mongodb://user:secret@db1/yard`` gives ``mongodb://db1/yard``."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest.split("/", 1)[0]:
        return url
    return f"{scheme}://{rest.split('@', 1)[1]}"
