# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""PostgreSQL 15 from Debian with pgvector, as a private cluster (initdb) of the testbed's own.

Debian's own cluster service (if the package created one) is left alone: ours listens on a free
port on 127.0.0.1 with its unix socket inside its data dir. When the testbed runs as root it runs
as the `postgres` OS user (postgres refuses to run as root), with its data dir in a private
directory under /tmp that this user can reach (removed on `down`); otherwise in the run's data dir.

Debian bookworm ships no postgresql-15-pgvector, so build() compiles pgvector from Debian's own
source tarball (pinned sha256) against postgresql-server-dev-15 and installs it into PostgreSQL's
extension directories, as the package would.
"""

import hashlib
import os
import secrets
import shutil
import tarfile
import tempfile
from pathlib import Path

import psycopg
import requests

from .. import procs
from ..errors import MissingComponent, TestbedError
from ..paths import cache_dir
from .base import Component, Run
from .common import pins


def _is_root() -> bool:
    return os.geteuid() == 0


class Postgres(Component):
    name = "postgres"
    summary = "PostgreSQL with pgvector"

    def __init__(self):
        self.pin = pins("postgres")
        self.bindir = Path(f"/usr/lib/postgresql/{self.pin['major']}/bin")
        self.vector = self.pin["pgvector"]

    # --- build -------------------------------------------------------------------------------

    def _apt_install(self) -> None:
        packages = self.pin["packages"]
        command = f"apt-get update && apt-get install -y --no-install-recommends {' '.join(packages)}"
        if not _is_root():
            raise MissingComponent(f"postgres: PostgreSQL {self.pin['major']} is not installed; as root run: {command}")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        install = ["apt-get", "install", "-y", "--no-install-recommends", *packages]
        try:
            procs.run(install, "apt-get install postgresql", env=env)
        except TestbedError:  # stale or missing package lists: refresh once, then retry
            procs.run(["apt-get", "update"], "apt-get update", env=env)
            procs.run(install, "apt-get install postgresql", env=env)

    def _pg_config(self, flag: str) -> Path:
        return Path(procs.run([self.bindir / "pg_config", flag], "pg_config").stdout.strip())

    def _vector_installed(self) -> bool:
        control = self._pg_config("--sharedir") / "extension" / "vector.control"
        library = self._pg_config("--pkglibdir") / "vector.so"
        return library.is_file() and control.is_file() and f"'{self.vector['version']}'" in control.read_text()

    def _build_pgvector(self) -> None:
        version = self.vector["version"]
        if not _is_root():
            raise MissingComponent(
                f"postgres: pgvector {version} is not installed for PostgreSQL {self.pin['major']} and installing "
                "it needs root; run `python -m testbed build postgres` as root"
            )
        work = cache_dir() / "pgvector"
        work.mkdir(parents=True, exist_ok=True)
        archive = work / Path(self.vector["url"]).name
        if not archive.exists():
            try:
                with requests.get(self.vector["url"], timeout=60) as resp:
                    resp.raise_for_status()
                    archive.with_suffix(".part").write_bytes(resp.content)
            except requests.RequestException as exc:
                raise MissingComponent(f"postgres: cannot download {self.vector['url']} ({exc})") from exc
            archive.with_suffix(".part").rename(archive)
        digest = hashlib.sha256(archive.read_bytes()).hexdigest()
        if digest != self.vector["sha256"]:
            archive.unlink()
            raise TestbedError(
                f"postgres: {archive.name} has sha256 {digest}, pins.yml expects {self.vector['sha256']}"
            )
        source = work / f"pgvector-{version}"
        shutil.rmtree(source, ignore_errors=True)
        with tarfile.open(archive) as tar:
            tar.extractall(work, filter="data")
        # Portable flags (no -march=native) and no LLVM bitcode, like a distribution build.
        make = ["make", "-C", source, f"PG_CONFIG={self.bindir / 'pg_config'}", "OPTFLAGS=", "with_llvm=no"]
        procs.run(make, "build pgvector")
        procs.run([*make, "install"], "install pgvector")

    def build(self) -> None:
        if not (self.bindir / "postgres").is_file() or not (self.bindir / "pg_config").is_file():
            self._apt_install()
        if not self._vector_installed():
            if not (self._pg_config("--includedir-server") / "postgres.h").is_file():
                self._apt_install()  # postgresql-server-dev-15, to compile pgvector
            self._build_pgvector()

    # --- run ---------------------------------------------------------------------------------

    def start(self, run: Run) -> dict:
        os_user = "postgres" if _is_root() else None
        scratch = []
        if os_user:
            # The `postgres` user may not be able to traverse the checkout (a clone in a 0700
            # directory, say): the cluster lives in a private directory of its own under /tmp.
            data = Path(tempfile.mkdtemp(prefix="cloudforge-testbed-postgres-"))
            scratch.append(str(data))
        else:
            data = run.data(self.name)
        pgdata, sockets = data / "pgdata", data / "run"
        sockets.mkdir()
        user, password = "cloudforge", secrets.token_urlsafe(18)
        pwfile = data / "pwfile"
        pwfile.touch(mode=0o600)
        pwfile.write_text(password + "\n")
        if os_user:
            for path in (data, pwfile, sockets):
                shutil.chown(path, os_user)
        as_user = ["runuser", "-u", os_user, "--"] if os_user else []
        procs.run(
            [*as_user, self.bindir / "initdb", "-D", pgdata, "-U", user, f"--pwfile={pwfile}",
             "--auth=scram-sha-256", "--encoding=UTF8", "--no-locale", "--no-sync"],
            "initdb",
            cwd=data,
        )  # fmt: skip
        pwfile.unlink()
        port = procs.free_port()
        argv = [
            self.bindir / "postgres", "-D", pgdata, "-c", "listen_addresses=127.0.0.1", "-c", f"port={port}",
            "-c", f"unix_socket_directories={sockets}", "-c", "fsync=off", "-c", "full_page_writes=off",
        ]  # fmt: skip
        pid = run.spawn(self.name, "server", argv, cwd=data, user=os_user)
        info = {
            "host": "127.0.0.1",
            "port": port,
            "user": user,
            "password": password,
            "database": "postgres",
            "scratch_dirs": scratch,
        }
        procs.wait_for(
            "postgres accepting connections", lambda: self._ping(info), 60, pid, run.log(self.name, "server")
        )
        self._check_vector(info)
        info.update(
            version=self._server_version(info),
            pgvector=self.vector["version"],
            inventory={
                "cloudforge_postgres_host": "127.0.0.1",
                "cloudforge_postgres_port": port,
                "cloudforge_postgres_user": user,
                "cloudforge_postgres_password": password,
            },
        )
        return info

    @staticmethod
    def _connect(info: dict) -> psycopg.Connection:
        return psycopg.connect(
            host=info["host"], port=info["port"], user=info["user"], password=info["password"],
            dbname=info["database"], connect_timeout=3,
        )  # fmt: skip

    def _ping(self, info: dict) -> bool:
        with self._connect(info) as conn:
            return conn.execute("SELECT 1").fetchone() == (1,)

    def _server_version(self, info: dict) -> str:
        with self._connect(info) as conn:
            return conn.execute("SHOW server_version").fetchone()[0]

    def _check_vector(self, info: dict) -> None:
        """CREATE EXTENSION vector must work; done in a transaction that is rolled back."""
        with self._connect(info) as conn:
            conn.execute("CREATE EXTENSION vector")
            conn.execute("SELECT '[1,2]'::vector <-> '[1,3]'::vector").fetchone()
            conn.rollback()

    def check(self, info: dict) -> None:
        super().check(info)
        try:
            self._ping(info)
        except psycopg.Error as exc:
            raise TestbedError(f"postgres at {info['host']}:{info['port']} does not answer: {exc}") from exc
