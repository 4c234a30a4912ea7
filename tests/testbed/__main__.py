# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""`python -m testbed build|up|down|status [component ...]` (PYTHONPATH=tests)."""

import argparse
import json
import sys
import time

from . import stack
from .errors import TestbedError
from .paths import state_dir


def _print_endpoints(state: dict) -> None:
    for name, info in state["components"].items():
        shown = {k: v for k, v in info.items() if k not in ("pids", "inventory")}
        print(f"{name}:")
        for key, value in sorted(shown.items()):
            print(f"  {key}: {value}")
    root = state_dir()
    print(f"\ninventory:  {root / 'inventory.yml'}\nkubeconfig: {root / 'kubeconfig'}")
    print(f"export KUBECONFIG={root / 'kubeconfig'}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="testbed", description=__doc__)
    parser.add_argument("action", choices=["build", "up", "down", "status"])
    parser.add_argument("components", nargs="*", help="subset of components (default: all)")
    args = parser.parse_args(argv)
    try:
        if args.action == "build":
            timings = stack.build(args.components or None)
            print(json.dumps({"build_seconds": timings}, indent=2))
        elif args.action == "up":
            began = time.monotonic()
            state = stack.up(args.components or None)
            _print_endpoints(state)
            print(f"\ntestbed up in {time.monotonic() - began:.1f}s; start seconds: {state.get('timings')}")
        elif args.action == "down":
            stack.down()
            print("testbed down")
        else:
            state = stack.load_state()
            if not state:
                print("testbed is down")
                return 1
            bad = stack.healthy(state)
            _print_endpoints(state)
            print("\nunhealthy: " + (", ".join(bad) if bad else "none"))
            return 1 if bad else 0
    except TestbedError as exc:
        print(f"testbed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
