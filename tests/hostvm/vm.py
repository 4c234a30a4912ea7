# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Build the base image and boot/stop disposable qemu hosts (see the package docstring)."""

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

SUITE = "bookworm"
MIRROR = "http://deb.debian.org/debian"
# What the hosts layer expects on a minimal Debian server, plus what Ansible needs
# (python3, python3-apt for the apt module) and what the verify step uses.
PACKAGES = [
    "systemd-sysv",
    "openssh-server",
    "python3",
    "python3-apt",
    "linux-image-amd64",
    "udev",
    "iproute2",
    "sudo",
    "initramfs-tools",
    "apt",
    "kmod",
    "procps",
    "nftables",
    "systemd-timesyncd",
    "ca-certificates",
]
TOOLS = {"qemu-system-x86_64": "qemu-system-x86", "qemu-img": "qemu-utils", "debootstrap": "debootstrap"}
IMAGE_SIZE = "3G"
MEMORY_MB = 1024
BOOT_TIMEOUT = 300

SETUP_SCRIPT = r"""
set -eu
echo cloudforge-host > /etc/hostname
printf '127.0.0.1 localhost\n127.0.1.1 cloudforge-host\n' > /etc/hosts
: > /etc/fstab
mkdir -p /etc/systemd/network /root/.ssh
printf '[Match]\nName=en* eth*\n[Network]\nDHCP=ipv4\n' > /etc/systemd/network/10-dhcp.network
systemctl enable systemd-networkd.service
systemctl enable serial-getty@ttyS0.service
# No password logins; root over ssh with the test key only.
passwd -l root
chmod 700 /root/.ssh
# A swap file, so the prerequisites role has real swap to turn off.
dd if=/dev/zero of=/swapfile bs=1M count=64 status=none
chmod 600 /swapfile
mkswap /swapfile >/dev/null
echo '/swapfile none swap sw 0 0' >> /etc/fstab
echo '/dev/vda / ext4 rw,relatime 0 1' >> /etc/fstab
apt-get clean
rm -rf /var/lib/apt/lists/*
"""


class HostVMError(RuntimeError):
    pass


def cache_root() -> Path:
    base = os.environ.get("CLOUDFORGE_TESTBED_CACHE")
    root = (
        Path(base) if base else Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "cloudforge-testbed"
    )
    path = root / "hostvm"
    path.mkdir(parents=True, exist_ok=True)
    return path


def state_root() -> Path:
    repo = Path(__file__).resolve().parents[2]
    path = Path(os.environ.get("CLOUDFORGE_HOSTVM_STATE", repo / ".testbed" / "hostvm"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def recipe_key() -> str:
    text = json.dumps([SUITE, MIRROR, PACKAGES, SETUP_SCRIPT, IMAGE_SIZE], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def image_dir() -> Path:
    return cache_root() / f"{SUITE}-{recipe_key()}"


def ensure_tools() -> None:
    missing = sorted({pkg for tool, pkg in TOOLS.items() if not shutil.which(tool)})
    if not missing:
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise HostVMError(f"install {' '.join(missing)} (Debian packages) to run the hosts-layer scenarios")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    install = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing]
    if subprocess.run(install, env=env, capture_output=True, check=False).returncode != 0:
        subprocess.run(["apt-get", "update", "-qq"], env=env, check=True, capture_output=True)
        subprocess.run(install, env=env, check=True, capture_output=True)


def ssh_key() -> Path:
    return image_dir() / "id_ed25519"


def build(log=print) -> Path:
    """Build the base image (cached by recipe); return its directory."""
    ensure_tools()
    target = image_dir()
    if (target / "ready").exists():
        return target
    if os.geteuid() != 0:
        raise HostVMError("building the host image needs root (debootstrap, mkfs.ext4 -d)")
    started = time.monotonic()
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="hostvm-root-", dir=cache_root()) as tmp:
        root = Path(tmp) / "root"
        try:
            _debootstrap_image(root, target, log)
        finally:
            _unmount_below(root)
    (target / "ready").write_text(f"built in {time.monotonic() - started:.0f}s\n")
    log(f"hostvm: image ready in {target} ({time.monotonic() - started:.0f}s)")
    return target


def _debootstrap_image(root: Path, target: Path, log) -> None:
    log(f"hostvm: debootstrap {SUITE} into {root} (a few minutes)")
    subprocess.run(
        [
            "debootstrap",
            "--variant=minbase",
            f"--include={','.join(PACKAGES)}",
            SUITE,
            str(root),
            MIRROR,
        ],
        check=True,
        capture_output=True,
    )
    key = target / "id_ed25519"
    if not key.exists():
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    subprocess.run(["chroot", str(root), "sh", "-c", SETUP_SCRIPT], check=True, capture_output=True)
    (root / "root/.ssh/authorized_keys").write_text((target / "id_ed25519.pub").read_text())
    os.chmod(root / "root/.ssh/authorized_keys", 0o600)
    boot = root / "boot"
    kernel = sorted(boot.glob("vmlinuz-*"))[-1]
    initrd = sorted(boot.glob("initrd.img-*"))[-1]
    shutil.copy(kernel, target / "vmlinuz")
    shutil.copy(initrd, target / "initrd.img")
    _unmount_below(root)
    image = target / "base.img"
    subprocess.run(["truncate", "-s", IMAGE_SIZE, str(image)], check=True)
    subprocess.run(["mkfs.ext4", "-q", "-F", "-d", str(root), str(image)], check=True, capture_output=True)


def _unmount_below(root: Path) -> None:
    """debootstrap mounts /proc and /sys in the new root; never copy (or delete) through them."""
    mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
    for mount in sorted((m for m in mounts if m.startswith(str(root) + "/")), reverse=True):
        subprocess.run(["umount", "-l", mount], check=False)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ssh(port: int, command: str, timeout: int = 20) -> subprocess.CompletedProcess:
    """Run ``command`` as root on the VM whose sshd is forwarded to ``port``."""
    return subprocess.run(
        [
            "ssh",
            *ssh_options(),
            "-p",
            str(port),
            "root@127.0.0.1",
            command,
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def ssh_options() -> list:
    return [
        "-i",
        str(ssh_key()),
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "LogLevel=ERROR",
        "-o",
        "ConnectTimeout=5",
        "-o",
        "BatchMode=yes",
    ]


def up(name: str, log=print) -> dict:
    """Boot host ``name`` (a fresh overlay) and wait until sshd answers and systemd is running."""
    images = build(log)
    state = state_root() / name
    if (state / "info.json").exists():
        info = json.loads((state / "info.json").read_text())
        if _alive(info["pid"]):
            return info
        down(name)
    state.mkdir(parents=True, exist_ok=True)
    overlay = state / "disk.qcow2"
    subprocess.run(
        ["qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw", "-b", str(images / "base.img"), str(overlay)],
        check=True,
    )
    port = _free_port()
    argv = [
        "qemu-system-x86_64",
        "-accel",
        "tcg,tb-size=256",
        "-m",
        str(MEMORY_MB),
        "-smp",
        "1",
        "-nographic",
        "-kernel",
        str(images / "vmlinuz"),
        "-initrd",
        str(images / "initrd.img"),
        "-append",
        f"root=/dev/vda rw console=ttyS0 systemd.hostname={name}",
        "-drive",
        f"file={overlay},if=virtio,format=qcow2",
        "-netdev",
        f"user,id=net0,hostfwd=tcp:127.0.0.1:{port}-:22",
        "-device",
        "virtio-net-pci,netdev=net0",
    ]
    with open(state / "console.log", "wb") as out:
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    info = {"name": name, "pid": proc.pid, "port": port, "key": str(ssh_key()), "overlay": str(overlay)}
    (state / "info.json").write_text(json.dumps(info))
    started = time.monotonic()
    while time.monotonic() - started < BOOT_TIMEOUT:
        if proc.poll() is not None:
            raise HostVMError(f"qemu for {name} exited ({proc.returncode}); see {state / 'console.log'}")
        try:
            result = ssh(port, "systemctl is-system-running --wait", timeout=60)
        except subprocess.TimeoutExpired:
            continue
        if result.stdout.strip() in ("running", "degraded"):
            info["boot_seconds"] = round(time.monotonic() - started)
            (state / "info.json").write_text(json.dumps(info))
            log(f"hostvm: {name} up on 127.0.0.1:{port} in {info['boot_seconds']}s")
            return info
        time.sleep(3)
    down(name)
    raise HostVMError(f"{name} did not boot within {BOOT_TIMEOUT}s; see {state / 'console.log'}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def down(name: str) -> None:
    state = state_root() / name
    info_file = state / "info.json"
    if info_file.exists():
        info = json.loads(info_file.read_text())
        if _alive(info["pid"]):
            os.killpg(info["pid"], signal.SIGTERM)
            for _attempt in range(50):
                if not _alive(info["pid"]):
                    break
                time.sleep(0.1)
            else:
                os.killpg(info["pid"], signal.SIGKILL)
    shutil.rmtree(state, ignore_errors=True)


def names() -> list:
    return sorted(path.name for path in state_root().iterdir() if path.is_dir())
