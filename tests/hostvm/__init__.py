# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Disposable Debian hosts for the hosts-layer molecule scenarios: qemu VMs (software emulation).

Why VMs and why TCG: the hosts layer changes kernel settings (sysctl, modules, swap, nftables),
which must never run on this machine itself, and /dev/kvm here is a nested hypervisor a stock
Debian kernel cannot boot under. So each host is a real Debian bookworm system booted with
``qemu-system-x86_64 -accel tcg`` from a qcow2 overlay over one cached ext4 image.

    python -m hostvm build          # debootstrap the base image into the cache (once, ~2-3 min)
    python -m hostvm up NAME        # boot NAME, wait for sshd + systemd, print its ssh port
    python -m hostvm down NAME      # power it off and delete its overlay
    python -m hostvm down --all

The image is keyed by a hash of its recipe (suite, packages, setup script), so changing the
recipe builds a new one. Needs root (debootstrap, mkfs.ext4 -d), qemu-system-x86, qemu-utils
and debootstrap from Debian (``ensure_tools`` installs them with apt-get when missing).
"""
