# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""The AWX execution environment's build context: `make ee-context` (ansible-galaxy collection build +
`ansible-builder create`) gives a context whose Containerfile installs the collection, its Python and system
requirements (as ansible-builder's own introspection computes them from the installed collection), and helm and
kubectl at the versions.yml pins, checked by sha256. No container engine runs here: the image is not built.
"""

import hashlib
import http.server
import io
import os
import re
import subprocess
import sys
import tarfile
import threading
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CONTEXT = ROOT / ".build" / "ee" / "context"
VERSIONS = yaml.safe_load((ROOT / "versions.yml").read_text())
EE = yaml.safe_load((ROOT / "execution-environment.yml").read_text())


def _pins(path):
    return dict(
        line.split("==", 1)
        for line in (ROOT / path).read_text().splitlines()
        if "==" in line and not line.startswith("#")
    )


@pytest.fixture(scope="module")
def context():
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}")
    proc = subprocess.run(
        ["bash", str(ROOT / "hack" / "ee_context.sh")],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return CONTEXT


def test_the_context_builds_with_the_collection_and_the_pinned_tool_installer(context):
    containerfile = (context / "Containerfile").read_text()
    build = context / "_build"
    # the collection, installed from the tarball built from this tree
    with tarfile.open(build / "cloudforge" / "cloudforge-platform.tar.gz") as archive:
        manifest = yaml.safe_load(archive.extractfile("MANIFEST.json"))
        assert "meta/execution-environment.yml" in archive.getnames() and "bindep.txt" in archive.getnames()
    assert manifest["collection_info"]["name"] == "platform"
    requirements = yaml.safe_load((build / "requirements.yml").read_text())
    assert requirements["collections"] == [{"name": "cloudforge/cloudforge-platform.tar.gz", "type": "file"}]
    assert "ansible-galaxy collection install $ANSIBLE_GALAXY_CLI_COLLECTION_OPTS -r requirements.yml" in containerfile
    # ansible-core and ansible-runner at the project's pins, on the pinned base image
    core, runner = _pins("requirements.txt")["ansible-core"], _pins("requirements-dev.txt")["ansible-runner"]
    assert f'ARG ANSIBLE_INSTALL_REFS="ansible-core=={core} ansible-runner=={runner}"' in containerfile
    base = VERSIONS["tools"]["ee_base_image"]
    assert f'ARG EE_BASE_IMAGE="{base["repository"]}:{base["tag"]}"' in containerfile
    # helm and kubectl: installed by the script from versions.yml, both copied into the context
    assert (build / "cloudforge" / "versions.yml").read_bytes() == (ROOT / "versions.yml").read_bytes()
    assert (build / "cloudforge" / "install_tools.py").read_bytes() == (ROOT / "hack/ee/install_tools.py").read_bytes()
    run = next(line for line in containerfile.splitlines() if "install_tools.py /tmp/cloudforge/versions.yml" in line)
    assert run.startswith("RUN ") and "/usr/local/bin" in run and "helm version" in run and "kubectl version" in run


def test_the_builder_introspection_finds_the_collections_requirements(context, tmp_path):
    """What the image's builder stage runs: install the collection, then ansible-builder's introspect.py over it."""
    collections = tmp_path / "collections"
    subprocess.run(
        [
            str(Path(sys.executable).parent / "ansible-galaxy"),
            "collection",
            "install",
            "--no-deps",
            "-p",
            str(collections),
            str(context / "_build" / "cloudforge" / "cloudforge-platform.tar.gz"),
        ],
        check=True,
        capture_output=True,
        cwd=tmp_path,
        env={k: v for k, v in os.environ.items() if k not in ("ANSIBLE_CONFIG", "PYTHONPATH")},
    )
    pip_out, bindep_out = tmp_path / "requirements.txt", tmp_path / "bindep.txt"
    subprocess.run(
        [
            sys.executable,
            str(context / "_build" / "scripts" / "introspect.py"),
            "introspect",
            str(collections),
            "--write-pip",
            str(pip_out),
            "--write-bindep",
            str(bindep_out),
        ],
        check=True,
        capture_output=True,
    )
    pip_lines = pip_out.read_text().splitlines()
    from_collection = {line.split("==")[0] for line in pip_lines if "# from collection cloudforge.platform" in line}
    for name, version in _pins("requirements.txt").items():
        if name in ("ansible", "ansible-core", "PyYAML"):
            continue  # left out of a collection's requirements by ansible-builder (the `ansible` line is the user's)
        assert name in from_collection, f"{name} is missing from the EE's Python requirements: {pip_lines}"
        assert f"{name}=={version}" in pip_out.read_text()
    # the `ansible` package (the collections cloudforge.platform depends on) comes from the EE's own python file
    user = (context / "_build" / "requirements.txt").read_text().splitlines()
    assert f"ansible=={_pins('requirements.txt')['ansible']}" in user, user
    assert "openssh-clients [platform:rpm]" in bindep_out.read_text()


def test_tool_pins_follow_the_cluster():
    kubernetes = VERSIONS["k3s"]["version"].split("+")[0]
    assert VERSIONS["tools"]["kubectl"]["version"] == kubernetes, "kubectl must match the pinned k3s's Kubernetes"
    assert (
        EE["dependencies"]["ansible_core"]["package_pip"]
        == f"ansible-core=={_pins('requirements.txt')['ansible-core']}"
    )


# -- hack/ee/install_tools.py against a local server (the real download hosts are not reachable here) ---------
def _serve(files):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = files.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _helm_tarball(content):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        info = tarfile.TarInfo("linux-amd64/helm")
        info.size = len(content)
        archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


@pytest.fixture
def tool_server():
    helm = _helm_tarball(b"#!/bin/sh\necho helm\n")
    kubectl = b"#!/bin/sh\necho kubectl\n"
    files = {
        "/helm-v9.9.9-linux-amd64.tar.gz": helm,
        "/helm-v9.9.9-linux-amd64.tar.gz.sha256sum": hashlib.sha256(helm).hexdigest().encode() + b"  helm.tgz\n",
        "/v9.9.9/kubectl-amd64": kubectl,
        "/v9.9.9/kubectl-amd64.sha256": hashlib.sha256(kubectl).hexdigest().encode(),
    }
    server = _serve(files)
    yield (
        f"http://127.0.0.1:{server.server_address[1]}",
        hashlib.sha256(helm).hexdigest(),
        hashlib.sha256(kubectl).hexdigest(),
    )
    server.shutdown()


def _install(tmp_path, base, helm_sha, kubectl_sha, allow=False):
    versions = {
        "tools": {
            "helm": {
                "version": "v9.9.9",
                "url": base + "/helm-{version}-linux-{arch}.tar.gz",
                "sha256": {"amd64": helm_sha},
            },
            "kubectl": {
                "version": "v9.9.9",
                "url": base + "/{version}/kubectl-{arch}",
                "sha256": {"amd64": kubectl_sha},
            },
        }
    }
    path = tmp_path / "versions.yml"
    path.write_text(yaml.safe_dump(versions))
    dest = tmp_path / "bin"
    env = dict(os.environ, CLOUDFORGE_ALLOW_UNPINNED_TOOLS="true" if allow else "false")
    proc = subprocess.run(
        [sys.executable, str(ROOT / "hack/ee/install_tools.py"), str(path), str(dest), "--arch", "amd64"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    return proc, dest


def test_install_tools_installs_pinned_binaries(tmp_path, tool_server):
    base, helm_sha, kubectl_sha = tool_server
    proc, dest = _install(tmp_path, base, helm_sha, kubectl_sha)
    assert proc.returncode == 0, proc.stderr
    assert subprocess.run([str(dest / "helm")], capture_output=True, text=True, check=True).stdout == "helm\n"
    assert subprocess.run([str(dest / "kubectl")], capture_output=True, text=True, check=True).stdout == "kubectl\n"


def test_install_tools_refuses_a_checksum_mismatch(tmp_path, tool_server):
    base, helm_sha = tool_server[:2]
    proc, dest = _install(tmp_path, base, helm_sha, "0" * 64)
    assert proc.returncode == 1 and re.search(r"kubectl: .* has sha256 [0-9a-f]{64}, expected 0{64}", proc.stderr)
    assert not (dest / "kubectl").exists()


def test_install_tools_refuses_an_unpinned_tool_unless_allowed(tmp_path, tool_server):
    base = tool_server[0]
    proc, dest = _install(tmp_path, base, None, None)
    assert proc.returncode == 1 and "has no sha256 in versions.yml" in proc.stderr and "Fix:" in proc.stderr
    assert not (dest / "helm").exists()
    proc, dest = _install(tmp_path, base, None, None, allow=True)
    assert proc.returncode == 0, proc.stderr
    assert "WARNING helm is not pinned" in proc.stdout and (dest / "helm").exists()
