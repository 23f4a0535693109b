"""One host with one robot, as its own process: the cross-process tests start two of these.

Prints ``ready`` once its robot is routed, then, once the robot holds ``--fills``
fills (or ``--timeout`` passes), one line of JSON with the robot's snapshot, and exits.
Over tcp it needs ``--keys DIR --key-name NAME`` (CURVE keys made by ``yard keys``), or
``--allow-insecure-tcp``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from yard_actors import Host
from yard_actors.net import LOCAL_ONLY, Security


def main() -> int:
    parser = argparse.ArgumentParser()
    for endpoint in ("data", "orders", "trades", "recovery", "control", "journal"):
        parser.add_argument(f"--{endpoint}", required=True)
    parser.add_argument("--robot", required=True)
    parser.add_argument("--robot-class", required=True)
    parser.add_argument("--fills", type=int, required=True)
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--keys", help="the directory of yard keys")
    parser.add_argument("--key-name", default="host", help="this host's key in --keys")
    parser.add_argument("--allow-insecure-tcp", action="store_true")
    args = parser.parse_args()
    security = LOCAL_ONLY
    if args.keys is not None:
        security = Security.from_keys(args.keys, args.key_name)
    elif args.allow_insecure_tcp:
        security = Security(allow_insecure_tcp=True)
    with Host(
        data=args.data,
        orders=args.orders,
        trades=args.trades,
        control=args.control,
        recovery=args.recovery,
        journal_dir=args.journal,
        security=security,
    ) as host:
        host.add_robot(args.robot_class, name=args.robot)
        print("ready", flush=True)
        deadline = time.monotonic() + args.timeout
        while time.monotonic() < deadline:
            snapshot = host.snapshot(args.robot)
            if len(snapshot["state"]["fills"]) >= args.fills:
                break
            time.sleep(0.02)
        host.wait_idle()
        print(json.dumps(host.snapshot(args.robot)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
