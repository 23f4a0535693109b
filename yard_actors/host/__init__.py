"""Many robots in one process: the Host, its intakes, routing, robot actors and order link.

Import the Host itself from ``yard_actors``; the modules here are the host's parts.
"""
