# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Keycloak from Maven Central (keycloak-quarkus-dist zip), run with `kc.sh start-dev` on loopback.

The zip is checked against Maven Central's .sha1 and the sha256 in pins.yml, then unpacked into the
cache. The database is in memory (dev-mem), so every start is a fresh server. The first start
after unpacking also re-augments the Quarkus build for the dev profile (slower; persisted in the cache).
"""

import hashlib
import os
import re
import secrets
import shutil
import zipfile
from pathlib import Path

import requests

from .. import procs
from ..errors import MissingComponent, TestbedError
from ..paths import cache_dir
from .base import Component, Run
from .common import http_ok, pins


def _java_major(home: Path) -> int | None:
    """The major version of the JDK/JRE at home, from its `release` file."""
    try:
        text = (home / "release").read_text()
    except OSError:
        return None
    match = re.search(r'^JAVA_VERSION="(\d+)', text, re.MULTILINE)
    return int(match.group(1)) if match and (home / "bin" / "java").is_file() else None


def find_java(supported) -> Path:
    """A JAVA_HOME whose major version Keycloak supports: $CLOUDFORGE_KEYCLOAK_JAVA_HOME, $JAVA_HOME, /usr/lib/jvm/*."""
    for var in ("CLOUDFORGE_KEYCLOAK_JAVA_HOME", "JAVA_HOME"):
        if os.environ.get(var) and _java_major(Path(os.environ[var])) in supported:
            return Path(os.environ[var])
    found = {}
    for home in sorted(Path("/usr/lib/jvm").glob("*")):
        major = _java_major(home)
        if major in supported and not home.is_symlink():
            found.setdefault(major, home)
    for major in supported:  # preferred order from pins.yml
        if major in found:
            return found[major]
    raise MissingComponent(
        f"keycloak: no JDK with a major version in {list(supported)} found in $JAVA_HOME or /usr/lib/jvm; "
        "install one, e.g. `apt-get install -y openjdk-17-jre-headless`, or set CLOUDFORGE_KEYCLOAK_JAVA_HOME"
    )


def _fetch(url: str, dest: Path) -> None:
    part = dest.with_suffix(".part")
    with requests.get(url, stream=True, timeout=60) as resp:
        resp.raise_for_status()
        with open(part, "wb") as out:
            for chunk in resp.iter_content(1 << 20):
                out.write(chunk)
    part.rename(dest)


def _verify(path: Path, sha1: str, sha256: str) -> None:
    h1, h256 = hashlib.sha1(), hashlib.sha256()  # noqa: S324 - sha1 is what Maven Central publishes
    with open(path, "rb") as src:
        for chunk in iter(lambda: src.read(1 << 20), b""):
            h1.update(chunk)
            h256.update(chunk)
    if h1.hexdigest() != sha1 or h256.hexdigest() != sha256:
        path.unlink()
        raise TestbedError(
            f"keycloak: {path.name} has sha1 {h1.hexdigest()} / sha256 {h256.hexdigest()}, "
            f"expected sha1 {sha1} (Maven Central) / sha256 {sha256} (pins.yml); deleted it"
        )


class Keycloak(Component):
    name = "keycloak"
    summary = "Keycloak (start-dev, in-memory database)"

    def __init__(self):
        self.pin = pins("keycloak")
        self.home = cache_dir() / "keycloak" / f"keycloak-{self.pin['version']}"

    def build(self) -> None:
        find_java(self.pin["java"])
        if (self.home / ".unpacked").exists():
            return
        url = self.pin["url"].format(version=self.pin["version"])
        archive = self.home.parent / Path(url).name
        archive.parent.mkdir(parents=True, exist_ok=True)
        try:
            sha1_response = requests.get(f"{url}.sha1", timeout=30)
            sha1_response.raise_for_status()
            if not archive.exists():
                _fetch(url, archive)
        except requests.RequestException as exc:
            raise MissingComponent(f"keycloak: cannot download {url} ({exc}); it must be reachable once") from exc
        _verify(archive, sha1_response.text.split()[0], self.pin["sha256"])
        shutil.rmtree(self.home, ignore_errors=True)
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(self.home.parent)
        for script in (self.home / "bin").glob("*.sh"):
            script.chmod(0o755)
        archive.unlink()
        (self.home / ".unpacked").touch()

    def start(self, run: Run) -> dict:
        self.build()
        java_home = find_java(self.pin["java"])
        data = run.data(self.name)
        port, management = procs.free_port(), procs.free_port()
        user, password = "testbed-admin", secrets.token_urlsafe(18)
        env = {
            "JAVA_HOME": str(java_home),
            "KC_BOOTSTRAP_ADMIN_USERNAME": user,
            "KC_BOOTSTRAP_ADMIN_PASSWORD": password,
            # C1 only: on a small shared CPU the C2 compiler threads slow the start far more than they help a test.
            # The transaction log goes to the run's data dir, not into the shared install in the cache.
            "JAVA_OPTS_APPEND": "-XX:TieredStopAtLevel=1 "
            f"-Dquarkus.transaction-manager.object-store.directory={data / 'transaction-logs'}",
        }
        argv = [
            self.home / "bin" / "kc.sh", "start-dev", "--db=dev-mem", "--http-host=127.0.0.1",
            f"--http-port={port}", f"--http-management-port={management}", "--health-enabled=true",
        ]  # fmt: skip
        pid = run.spawn(self.name, "server", argv, env=env, cwd=data)
        ready = f"http://127.0.0.1:{management}/health/ready"
        procs.wait_for("keycloak /health/ready", lambda: http_ok(ready), 300, pid, run.log(self.name, "server"))
        url = f"http://127.0.0.1:{port}"
        return {
            "url": url,
            "health_url": ready,
            "admin_user": user,
            "admin_password": password,
            "version": self.pin["version"],
            "java_home": str(java_home),
            "inventory": {
                "cloudforge_keycloak_url": url,
                "cloudforge_keycloak_admin_user": user,
                "cloudforge_keycloak_admin_password": password,
            },
        }

    def check(self, info: dict) -> None:
        super().check(info)
        if not http_ok(info["health_url"]):
            raise TestbedError(f"keycloak at {info['url']} is not ready")
