"""The remote side of supervision: a client for a host's control endpoint, from anywhere.

``connect(url)`` gives a :class:`Client` with the same calls as the local
:class:`~yard_actors.host.host.Host` (``docs/wire.md`` section 4c); ``yard ctl`` and
``yard repl --connect`` use it. No Pykka, no host: only the wire, the keys and the
robot table's rendering.
"""

from __future__ import annotations

from yard_actors.ctl.client import DEFAULT_TIMEOUT_S, Client, HaltResult, connect

__all__ = ["DEFAULT_TIMEOUT_S", "Client", "HaltResult", "connect"]
