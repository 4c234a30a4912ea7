# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""python -m hostvm build | up NAME | down NAME|--all | list"""

import json
import sys

from . import vm


def main(argv):
    if not argv or argv[0] not in ("build", "up", "down", "list"):
        print(__doc__, file=sys.stderr)
        return 2
    try:
        if argv[0] == "build":
            print(vm.build())
        elif argv[0] == "up":
            print(json.dumps(vm.up(argv[1], log=lambda msg: print(msg, file=sys.stderr))))
        elif argv[0] == "down":
            for name in vm.names() if argv[1:] == ["--all"] else argv[1:]:
                vm.down(name)
        else:
            print("\n".join(vm.names()))
    except vm.HostVMError as exc:
        print(f"hostvm: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
