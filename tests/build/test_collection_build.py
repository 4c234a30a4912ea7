# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Build the collection tarball, install it into an empty path and use it as a Galaxy user would.

Runs the real ansible-galaxy / ansible-doc / ansible-playbook from this virtualenv, outside the
repository (no repo ansible.cfg, no PYTHONPATH), so only the installed copy can satisfy
`cloudforge.platform.*`. Dependencies come from the `ansible` package, not Galaxy (--no-deps).
"""

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
GALAXY = yaml.safe_load((ROOT / "galaxy.yml").read_text(encoding="utf-8"))
TARBALL_NAME = f"{GALAXY['namespace']}-{GALAXY['name']}-{GALAXY['version']}.tar.gz"
MODULES = sorted(path.stem for path in (ROOT / "plugins" / "modules").glob("*.py") if path.stem != "__init__")
LOOKUPS = sorted(path.stem for path in (ROOT / "plugins" / "lookup").glob("*.py") if path.stem != "__init__")
FILTERS = sorted(path.stem for path in (ROOT / "plugins" / "filter").glob("*.yml"))
PLAYBOOKS = sorted(path.stem for path in (ROOT / "playbooks").glob("*.yml"))
# Old module names (meta/runtime.yml plugin_routing) -> the module they redirect to.
REDIRECTS = {
    old: entry["redirect"]
    for old, entry in yaml.safe_load((ROOT / "meta" / "runtime.yml").read_text(encoding="utf-8"))["plugin_routing"][
        "modules"
    ].items()
}


def _env(collections_path, **extra):
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("ANSIBLE_") and key not in {"PYTHONPATH", "CLOUDFORGE_VERSIONS_FILE"}
    }
    env.update(
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        ANSIBLE_COLLECTIONS_PATH=str(collections_path),
        ANSIBLE_NOCOLOR="1",
        **extra,
    )
    return env


def _run(args, cwd, env, timeout=300):
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    assert result.returncode == 0, (
        f"{' '.join(map(str, args))} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
    )
    return result


@pytest.fixture(scope="module")
def outside(tmp_path_factory):
    """A working directory that is not the repository (so its ansible.cfg is not read)."""
    return tmp_path_factory.mktemp("outside")


@pytest.fixture(scope="module")
def tarball(tmp_path_factory, outside):
    out = tmp_path_factory.mktemp("dist")
    _run(
        [BIN / "ansible-galaxy", "collection", "build", str(ROOT), "--output-path", str(out), "--force"],
        cwd=outside,
        env=_env(out / "unused"),
    )
    path = out / TARBALL_NAME
    assert path.is_file()
    return path


@pytest.fixture(scope="module")
def installed(tmp_path_factory, tarball, outside):
    """Collections path holding only the freshly installed tarball."""
    collections = tmp_path_factory.mktemp("collections")
    _run(
        [
            BIN / "ansible-galaxy",
            "collection",
            "install",
            str(tarball),
            "-p",
            str(collections),
            "--no-deps",
            "--offline",
        ],
        cwd=outside,
        env=_env(collections),
    )
    return collections


def test_tarball_ships_the_collection_and_none_of_the_local_state(tarball):
    with tarfile.open(tarball) as archive:
        names = set(archive.getnames())
    for required in (
        "MANIFEST.json",
        "FILES.json",
        "versions.yml",
        "LICENSE",
        "CHANGELOG.rst",
        "meta/runtime.yml",
        "playbooks/site.yml",
    ):
        assert required in names
    assert "roles/preflight/meta/argument_specs.yml" in names
    for module in MODULES:
        assert f"plugins/modules/{module}.py" in names
    leaked = sorted(n for n in names if n.split("/")[0] in {".venv", ".build", ".testbed", ".cache", ".git"})
    leaked += sorted(n for n in names if n == ".pre-commit-config.yaml")  # repository tooling, not the collection
    leaked += sorted(n for n in names if n.startswith(("tests/testbed", "tests/output")) or n.endswith(".tar.gz"))
    assert leaked == []


def test_installed_collection_is_listed_with_its_version(installed, outside):
    result = _run(
        [BIN / "ansible-galaxy", "collection", "list", "-p", str(installed), "--format", "json"],
        outside,
        _env(installed),
    )
    listing = json.loads(result.stdout)
    versions = {name: info["version"] for path in listing.values() for name, info in path.items()}
    assert versions.get("cloudforge.platform") == GALAXY["version"]


def _docs(plugin_type, names, installed, outside):
    result = _run(
        [BIN / "ansible-doc", "--json", "-t", plugin_type, *[f"cloudforge.platform.{name}" for name in names]],
        outside,
        _env(installed),
    )
    assert "[WARNING]" not in result.stderr, result.stderr
    return json.loads(result.stdout)


def test_every_module_has_docs_from_the_installed_copy(installed, outside):
    assert MODULES, "no modules found in plugins/modules"
    docs = _docs("module", MODULES, installed, outside)
    assert sorted(docs) == [f"cloudforge.platform.{name}" for name in MODULES]
    for name, entry in docs.items():
        assert entry["doc"]["short_description"], name
        assert entry["examples"], f"{name} has no EXAMPLES"
        assert entry["return"], f"{name} has no RETURN"
        assert entry["doc"]["filename"].startswith(str(installed)), f"{name} was not loaded from the installed copy"


def test_old_module_names_show_the_new_modules_docs(installed, outside):
    docs = _docs("module", sorted(REDIRECTS), installed, outside)
    for old, new in REDIRECTS.items():
        doc = docs[f"cloudforge.platform.{old}"]["doc"]
        assert f"cloudforge.platform.{doc['module']}" == new, old
        assert doc["filename"].startswith(str(installed)), old


# Input each renamed module refuses with its own message before it contacts any server.
OLD_NAME_RUNS = {
    "tenant_kubernetes": (
        {"tenants": [{"name": "acme", "names": {}}]},
        "platform_charts: required with state=present",
    ),
    "tenant_minio": (
        {
            "tenants": [{"name": "acme"}],
            "state": "absent",
            "endpoint_url": "http://s3.invalid",
            "access_key": "unused",
            "secret_key": "unused-secret",
        },
        "tenants: pass normalised specs",
    ),
    "tenant_nats": (
        {"tenants": [{"name": "acme"}], "accounts_file": "/nonexistent/accounts.conf", "state": "absent"},
        "tenants: pass normalised specs",
    ),
}


def test_old_module_names_run_the_new_modules_from_the_installed_copy(installed, outside):
    """Each old name runs its new module (the module's own validation message comes back), and module_defaults of
    the new module's action group reach it (an invalid default is refused by the module's argument spec)."""
    assert sorted(OLD_NAME_RUNS) == sorted(REDIRECTS)
    tasks = []
    for old, (args, message) in OLD_NAME_RUNS.items():
        tasks += [
            {"name": old, f"cloudforge.platform.{old}": args, "register": "out", "ignore_errors": True},
            {
                "name": f"{old} ran {REDIRECTS[old]}",
                "ansible.builtin.assert": {"that": ["out is failed", f"out.msg is search({message!r})"]},
            },
        ]
    tasks += [
        {
            "name": "module_defaults of group/cloudforge.platform.kubernetes",
            "cloudforge.platform.tenant_kubernetes": {"tenants": []},
            "module_defaults": {"group/cloudforge.platform.kubernetes": {"state": "bogus"}},
            "register": "out",
            "ignore_errors": True,
        },
        {
            "name": "The group's defaults reached the old name",
            "ansible.builtin.assert": {"that": ["out.msg is search('value of state must be one of: present, absent')"]},
        },
    ]
    playbook = outside / "old_module_names.yml"
    playbook.write_text(yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}]))
    result = _run(
        [BIN / "ansible-playbook", "-i", "localhost,", "-c", "local", str(playbook)],
        outside,
        _env(installed, ANSIBLE_PYTHON_INTERPRETER=sys.executable),
    )
    assert "ok=" in result.stdout and "failed=0" in result.stdout


def test_every_lookup_has_docs_from_the_installed_copy(installed, outside):
    docs = _docs("lookup", LOOKUPS, installed, outside)
    assert sorted(docs) == [f"cloudforge.platform.{name}" for name in LOOKUPS]


@pytest.mark.skipif(not FILTERS, reason="no filter plugins yet")
def test_every_filter_has_docs_from_the_installed_copy(installed, outside):
    docs = _docs("filter", FILTERS, installed, outside)
    assert sorted(docs) == [f"cloudforge.platform.{name}" for name in FILTERS]


@pytest.mark.parametrize("playbook", PLAYBOOKS)
def test_collection_playbooks_pass_syntax_check_from_the_installed_copy(playbook, installed, outside):
    _run(
        [BIN / "ansible-playbook", f"cloudforge.platform.{playbook}", "--syntax-check", "-i", "localhost,"],
        outside,
        _env(installed),
    )


def test_installed_lookup_and_module_read_the_installed_versions_file(installed, outside):
    playbook = outside / "read_versions.yml"
    playbook.write_text(
        yaml.safe_dump(
            [
                {
                    "name": "Read pinned versions through the installed collection",
                    "hosts": "localhost",
                    "gather_facts": False,
                    # meta/runtime.yml action groups must resolve from the installed copy.
                    "module_defaults": {"group/cloudforge.platform.platform": {"layers": ["hosts"]}},
                    "tasks": [
                        {
                            "name": "Versions",
                            "cloudforge.platform.versions_info": {
                                "versions": "{{ lookup('cloudforge.platform.versions', '*') }}",
                            },
                            "register": "pinned",
                        },
                        {
                            "name": "Check",
                            "ansible.builtin.assert": {
                                "that": [
                                    "pinned.k3s.amd64.binary_url is search('k3s-io/k3s/releases')",
                                    "pinned.charts | map(attribute='layer') | unique == ['hosts']",
                                ],
                            },
                        },
                    ],
                }
            ]
        ),
        encoding="utf-8",
    )
    _run(
        [BIN / "ansible-playbook", "-i", "localhost,", "-c", "local", str(playbook)],
        outside,
        _env(installed, ANSIBLE_PYTHON_INTERPRETER=sys.executable),
    )


def test_site_yml_passes_syntax_check_from_the_clone():
    link = ROOT / ".build" / "collections" / "ansible_collections" / "cloudforge" / "platform"
    if not link.exists():
        pytest.fail("collection link missing: run `make setup`")
    env = _env(ROOT / ".build" / "collections")
    del env["ANSIBLE_COLLECTIONS_PATH"]  # ./ansible.cfg, found from the working directory, must be enough
    _run([BIN / "ansible-playbook", "site.yml", "--syntax-check"], ROOT, env)
