# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""docs/variables.md is generated from the roles' argument specs and must not go stale."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _generator():
    spec = importlib.util.spec_from_file_location("gen_variables_doc", ROOT / "hack" / "gen_variables_doc.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_variables_doc_is_up_to_date():
    generator = _generator()
    current = (ROOT / "docs" / "variables.md").read_text(encoding="utf-8")
    assert current == generator.render(), "docs/variables.md is stale: run `make docs` and commit the result"


def test_every_role_with_an_argument_spec_is_documented():
    text = (ROOT / "docs" / "variables.md").read_text(encoding="utf-8")
    for spec in sorted(ROOT.glob("roles/*/meta/argument_specs.yml")):
        assert f"## Role `cloudforge.platform.{spec.parents[1].name}`" in text


def test_every_role_has_an_argument_spec():
    missing = [
        role.name
        for role in sorted((ROOT / "roles").iterdir())
        if role.is_dir() and not (role / "meta" / "argument_specs.yml").is_file()
    ]
    assert missing == [], f"roles without meta/argument_specs.yml: {missing}"


def test_rows_show_type_default_choices_and_suboptions():
    generator = _generator()
    rows = generator.option_rows(
        {
            "demo_layers": {
                "type": "list",
                "elements": "str",
                "choices": ["hosts", "platform"],
                "default": ["hosts"],
                "description": ["Which C(layers) | pipes are escaped."],
            },
            "demo_proxy": {"type": "dict", "required": True, "options": {"https_proxy": {"type": "str"}}},
        }
    )
    assert rows == [
        "| `demo_layers` | list of str | no | `[hosts]` | Which `layers` \\| pipes are escaped. Choices: `hosts`, `platform`. |",
        "| `demo_proxy` | dict | yes |  |  |",
        "| `demo_proxy.https_proxy` | str | no |  |  |",
    ]


def test_check_mode_reports_a_stale_file(tmp_path, monkeypatch, capsys):
    generator = _generator()
    stale = tmp_path / "variables.md"
    stale.write_text("# outdated\n", encoding="utf-8")
    monkeypatch.setattr(generator, "OUTPUT", stale)
    assert generator.main(["--check"]) == 1
    assert "stale" in capsys.readouterr().err
