# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Write .testbed/inventory.yml so the collection's playbooks run against the testbed as is."""

from pathlib import Path

import yaml


def write_inventory(state: dict, root: Path) -> Path:
    """Merge every component's `inventory` vars into one localhost inventory."""
    hostvars = {
        "ansible_connection": "local",
        "ansible_python_interpreter": "{{ ansible_playbook_python }}",
    }
    for info in state["components"].values():
        hostvars.update(info.get("inventory", {}))
    inventory = {
        "all": {
            "vars": {"cloudforge_testbed": True},
            "children": {
                "platform_controller": {"hosts": {"localhost": hostvars}},
            },
        }
    }
    path = root / "inventory.yml"
    path.write_text(
        "# Written by `make testbed-up`; endpoints and credentials of the running testbed.\n"
        + yaml.safe_dump(inventory, sort_keys=True)
    )
    path.chmod(0o600)
    return path
