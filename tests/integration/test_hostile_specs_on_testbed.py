# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Template and shell syntax in a tenant's free text is never evaluated and never reaches a shell.

A real ``ansible-playbook playbooks/tenant.yml --check --diff`` (Kubernetes backend, the test bed's apiserver) over
spec files whose display_name holds a Jinja ``lookup('pipe', 'touch <marker>')``, a ``{% %}`` block and shell
substitutions: the marker files are never created, and the value arrives verbatim in the namespace annotation
the module would write.  Then the alias bomb and the oversized file fail the same playbook before any backend.
"""

import shutil
import tempfile
import uuid
from pathlib import Path

from tenant_support import PLAYBOOKS, inventory_path, run_playbook, write_specs

RUN = uuid.uuid4().hex[:5]


def _texts(markers):
    return {
        f"jinja-{RUN}": "{{ lookup('pipe', 'touch " + str(markers[0]) + "') }} {% if true %}x{% endif %}",
        f"shell-{RUN}": f"$(touch {markers[1]}) `touch {markers[2]}`; touch {markers[3]}",
        f"uni-{RUN}": "Cafe\u0301 \u0410CME",
    }


def test_free_text_is_never_evaluated_and_arrives_verbatim(kube, tmp_path):
    # A short directory: display_name holds at most 100 characters.
    short = Path(tempfile.mkdtemp(prefix="cf-"))
    markers = [short / f"m{i}" for i in range(4)]
    texts = _texts(markers)
    specs = [{"name": name, "display_name": text, "owners": [f"{name}-admins"]} for name, text in texts.items()]
    directory = write_specs(tmp_path / "tenants", specs)
    run = run_playbook(
        PLAYBOOKS / "tenant.yml",
        inventory_path(kube),
        {"cloudforge_tenants_dir": str(directory), "cloudforge_tenant_backends": ["kubernetes"]},
        check=True,
        diff=True,
    )
    assert run.rc == 0, run.output[-3000:]
    assert [m for m in markers if m.exists()] == []
    shutil.rmtree(short)
    after = run.task("Kubernetes - namespace")["diff"]["after"]
    for name, text in texts.items():
        stored = after[name][f"Namespace/tenant-{name}"]["metadata"]["annotations"]["cloudforge.io/display-name"]
        assert stored == (text if not name.startswith("uni-") else "Caf\u00e9 \u0410CME")


def test_a_bomb_or_an_oversized_file_fails_the_playbook_before_any_backend(kube, tmp_path):
    directory = tmp_path / "tenants"
    directory.mkdir()
    lines = ["name: bomb", "owners: [bomb-admins]", 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"{c}: &{c} [{','.join(['*' + p] * 9)}]" for p, c in zip("abcdefgh", "bcdefghi", strict=True)]
    (directory / "bomb.yml").write_text("\n".join(lines) + "\n")
    run = run_playbook(
        PLAYBOOKS / "tenant.yml",
        inventory_path(kube),
        {"cloudforge_tenants_dir": str(directory), "cloudforge_tenant_backends": ["kubernetes"]},
        check=True,
    )
    assert run.rc != 0
    assert "uses more than 50 YAML aliases" in run.failure()
    assert not any(t["task"]["name"].startswith("Kubernetes") for p in run.data["plays"] for t in p["tasks"])

    (directory / "bomb.yml").write_text("name: bomb\nowners: [bomb-admins]\n" + "#\n" * 140000)
    run = run_playbook(
        PLAYBOOKS / "tenant.yml",
        inventory_path(kube),
        {"cloudforge_tenants_dir": str(directory), "cloudforge_tenant_backends": ["kubernetes"]},
        check=True,
    )
    assert run.rc != 0 and "over the limit of 256 KiB" in run.failure()
