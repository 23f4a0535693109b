"""The layers as a process sees them: what importing one part of yard loads.

import-linter (in .ci/run) checks the import graph; these tests check what a
fresh interpreter actually loads, which is what a gateway or feed process pays
for at start-up and what it can break.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import yard_actors

_FRAMEWORK_ABOVE_WIRE = (
    "pykka",
    "yard_actors.robot",
    "yard_actors.journal",
    "yard_actors.runtime",
    "yard_actors.host",
    "yard_actors.testing",
    "yard_actors.app",
)


def _loaded_after(statement: str) -> list[str]:
    """Module names loaded by ``statement`` in a fresh interpreter."""
    script = f"import json, sys\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    loaded: list[str] = json.loads(done.stdout.splitlines()[-1])
    return loaded


def _above_wire(modules: list[str]) -> list[str]:
    return [
        name
        for name in modules
        if any(name == top or name.startswith(f"{top}.") for top in _FRAMEWORK_ABOVE_WIRE)
    ]


@pytest.mark.parametrize(
    "module",
    [
        "gateways.order_gateway",
        "gateways.paper",
        "gateways.feed",
        "gateways.store",
        "gateways.serve",
        "gateways.readers",
    ],
)
def test_a_gateway_module_loads_neither_pykka_nor_the_host(module: str) -> None:
    assert _above_wire(_loaded_after(f"import {module}")) == []


def test_the_wire_vocabulary_loads_alone() -> None:
    loaded = _loaded_after(
        "import yard_actors.wire.codec, yard_actors.wire.frames, yard_actors.wire.names"
    )
    assert _above_wire(loaded) == []


def test_importing_yard_actors_loads_nothing_until_a_name_is_used() -> None:
    assert _above_wire(_loaded_after("import yard_actors")) == []
    assert "yard_actors.host.host" in _loaded_after("from yard_actors import Host")


@pytest.mark.parametrize("name", yard_actors.__all__)
def test_every_public_name_resolves(name: str) -> None:
    assert getattr(yard_actors, name) is not None


def test_an_unknown_name_is_an_attribute_error_naming_it() -> None:
    with pytest.raises(AttributeError, match="has no attribute 'Hots'"):
        _ = yard_actors.Hots
