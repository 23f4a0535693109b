"""The ``yard`` command line and the composition of feed, gateway and host that ``yard run`` wires.

The only layer that imports both the framework and ``gateways``.
"""
