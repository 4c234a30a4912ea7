# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""The GPU fact fixtures as hosts: fake sysfs trees and stand-ins for nvidia-smi / lspci.

This machine has no GPU, no NVIDIA driver and no lspci, so their outputs come from the fixture files
(tests/unit/plugins/module_utils/fixtures/gpu/, see the README there) and the tools are replaced by
small executables that print those files and exit with the tool's status code.  Everything else (the
sysfs reader, the parsers, the module, Ansible) runs for real.
"""

import shlex
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent / "plugins" / "module_utils" / "fixtures" / "gpu"
HOSTS_WITH_DRIVER = ("h100-8x", "a100-80gb-mig", "l4-1x")


def fixture(host, name):
    return (FIXTURES / host / name).read_text(encoding="utf-8")


def build_sysfs(root, lines, nvidia_version=None):
    """A sysfs tree under ``root`` with one PCI device per line of the pci-devices.txt format.

    ``address vendor device class driver numa_node``; driver ``-`` means no driver bound.  Like the real
    one, ``driver`` is a symlink into bus/pci/drivers/.
    """
    root = Path(root)
    devices = root / "bus" / "pci" / "devices"
    devices.mkdir(parents=True, exist_ok=True)
    for line in lines.splitlines():
        if not line.strip():
            continue
        address, vendor, device, class_code, driver, numa = line.split()
        path = devices / address
        path.mkdir()
        for name, value in (("vendor", vendor), ("device", device), ("class", class_code), ("numa_node", numa)):
            (path / name).write_text(value + "\n", encoding="ascii")
        if driver != "-":
            target = root / "bus" / "pci" / "drivers" / driver
            target.mkdir(parents=True, exist_ok=True)
            (path / "driver").symlink_to(target)
    if nvidia_version:
        module = root / "module" / "nvidia"
        module.mkdir(parents=True)
        (module / "version").write_text(nvidia_version.strip() + "\n", encoding="ascii")
    return root


def host_sysfs(root, host):
    """The sysfs tree of a fixture host (with /sys/module/nvidia/version when its driver is loaded)."""
    version = FIXTURES / host / "nvidia-version"
    return build_sysfs(
        root,
        fixture(host, "pci-devices.txt"),
        version.read_text(encoding="ascii") if version.exists() else None,
    )


def stand_in(path, responses, default=("", 1)):
    """An executable at ``path`` answering by its arguments.

    ``responses``: ``[(substring of the joined arguments, output text, exit status), ...]``, first match
    wins; the output goes to stdout.
    """
    path = Path(path)
    data = path.parent / (path.name + ".d")
    data.mkdir(parents=True, exist_ok=True)
    script = ["#!/bin/sh", 'args="$*"']
    for number, (pattern, text, status) in enumerate([*responses, ("", *default)]):
        out = data / str(number)
        out.write_text(text, encoding="utf-8")
        script.append(f'case "$args" in *{shlex.quote(pattern)}*) cat {shlex.quote(str(out))}; exit {status};; esac')
    path.write_text("\n".join(script) + "\n", encoding="utf-8")
    path.chmod(0o755)
    return str(path)


def nvidia_smi_for(path, host):
    """A stand-in nvidia-smi printing the fixture host's --query-gpu and -L outputs."""
    return stand_in(
        path,
        [("--query-gpu", fixture(host, "nvidia-smi-query.csv"), 0), ("-L", fixture(host, "nvidia-smi-L.txt"), 0)],
    )
