# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""The Modelfile a GGUF model gets with its artifact (the Ollama runtime runs ``ollama create -f /mnt/models/Modelfile``)."""

import hashlib
import re
from pathlib import Path

import pytest

from ansible_collections.cloudforge.platform.plugins.module_utils.model import artifact

ROOT = Path(__file__).resolve().parents[4]


def _files(*names):
    return {n: {"sha256": "0" * 64, "size": 1, "md5": "0" * 32, "path": "/nowhere/" + n} for n in names}


def test_modelfile_is_from_the_gguf_file_with_the_context_length():
    text = artifact.modelfile_text(_files("tiny.gguf", "README.md"), 8192)
    assert text == "FROM ./tiny.gguf\nPARAMETER num_ctx 8192\n"


def test_modelfile_without_context_length_is_only_from():
    assert artifact.modelfile_text(_files("weights/m.Q4_K_M.gguf"), None) == "FROM ./weights/m.Q4_K_M.gguf\n"


@pytest.mark.parametrize("names", [(), ("a.gguf", "b.gguf")])
def test_no_or_several_gguf_files_fail_naming_the_fix(names):
    with pytest.raises(artifact.ArtifactError, match=r"exactly one \.gguf file.*ship a Modelfile"):
        artifact.modelfile_text(_files(*names, "config.json"))


def test_generated_modelfile_joins_the_files_with_its_hash(tmp_path):
    files = artifact.add_modelfile(_files("tiny.gguf"), str(tmp_path), "gguf", 4096)
    entry = files[artifact.MODELFILE]
    body = Path(entry["path"]).read_bytes()
    assert body == b"FROM ./tiny.gguf\nPARAMETER num_ctx 4096\n"
    assert entry["sha256"] == hashlib.sha256(body).hexdigest() and entry["size"] == len(body)
    manifest = artifact.manifest_for("acme", "tiny", "1", files)
    assert manifest["files"]["Modelfile"]["sha256"] == entry["sha256"]


def test_a_shipped_modelfile_is_kept_and_safetensors_get_none(tmp_path):
    shipped = _files("tiny.gguf", "Modelfile")
    assert artifact.add_modelfile(shipped, str(tmp_path), "gguf", 4096) is shipped
    plain = _files("model.safetensors")
    assert artifact.add_modelfile(plain, str(tmp_path), "safetensors", 4096) is plain
    assert artifact.add_modelfile(plain, str(tmp_path), None) is plain
    assert list(tmp_path.iterdir()) == []


def test_the_ollama_runtime_reads_the_modelfile_at_the_artifact_root():
    runtimes = (ROOT / "roles/kserve/templates/runtimes.yml.j2").read_text()
    assert re.search(r"ollama create .* -f /mnt/models/" + artifact.MODELFILE + r"\b", runtimes)
