# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""plugins/module_utils is layered, and imports only go down: common -> clients -> catalog -> domains.

A package may import from its own package or from a lower layer, never from a higher one.  Among the domains the
order is openbao, platform, hosts, airgap (each standing alone), then tenant (which may use openbao's policy
language), then model (a model belongs to a tenant; tenant code never knows models are deployed).  Every import,
also one inside a function, counts; and no set of modules may import each other in a cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MODULE_UTILS = ROOT / "plugins" / "module_utils"
PREFIX = "ansible_collections.cloudforge.platform.plugins.module_utils"

# Rank of each package: an import must go to a package of a lower rank (or stay inside its own package).
LAYERS = {
    "common": 0,
    "clients": 1,
    "catalog": 2,
    "openbao": 3,
    "platform": 3,
    "hosts": 3,
    "airgap": 3,
    "tenant": 4,
    "model": 5,
}


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, dotted module) of every module_utils module that ``path`` imports."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == PREFIX:
                found += [(node.lineno, alias.name) for alias in node.names]
            elif node.module.startswith(PREFIX + "."):
                rest = node.module[len(PREFIX) + 1 :]
                # `from ...module_utils.tenant import spec` names a module; `from ...tenant.spec import X` too.
                found += [(node.lineno, f"{rest}.{alias.name}" if "." not in rest else rest) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level:
            found.append((node.lineno, "." * node.level + (node.module or "")))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name[len(PREFIX) + 1 :]) for a in node.names if a.name.startswith(PREFIX + ".")]
    return found


def graph(root: Path = MODULE_UTILS) -> dict[str, list[tuple[int, str]]]:
    """``{"tenant.spec": [(line, "catalog.gpu"), ...]}`` for every module below ``root``."""
    out = {}
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).with_suffix("")
        if rel.name == "__init__":
            continue
        out[".".join(rel.parts)] = _imports(path)
    return out


def problems(modules: dict[str, list[tuple[int, str]]]) -> list[str]:
    """Every import that goes the wrong way, and every cycle."""
    found = []
    for module, imports in modules.items():
        own = module.split(".")[0]
        for line, target in imports:
            if target.startswith("."):
                found.append(f"{module}:{line}: relative import {target!r}; write the absolute {PREFIX}.<package> path")
                continue
            package = target.split(".")[0]
            if package not in LAYERS:
                found.append(f"{module}:{line}: imports {target!r}, which is in no layer of LAYERS")
            elif package != own and LAYERS[package] >= LAYERS.get(own, -1):
                found.append(
                    f"{module}:{line}: {own} (layer {LAYERS.get(own)}) imports {target} "
                    f"({package}, layer {LAYERS[package]}): imports go down only (common -> clients -> catalog -> "
                    "domains; model may use tenant, never the reverse). Move the shared piece down a layer"
                )
    edges = {m: sorted({target for _line, target in imps if target in modules}) for m, imps in modules.items()}
    state: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in edges[node]:
            if state.get(nxt) == 1:
                found.append("import cycle: " + " -> ".join([*stack[stack.index(nxt) :], nxt]))
            elif nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    return found


def test_module_utils_holds_only_subpackages():
    stray = sorted(p.name for p in MODULE_UTILS.iterdir() if p.is_file() and p.name != "__init__.py")
    assert not stray, f"plugins/module_utils/ should hold only subpackages (LAYERS), found files: {stray}"
    packages = sorted(p.name for p in MODULE_UTILS.iterdir() if p.is_dir() and p.name != "__pycache__")
    assert packages == sorted(LAYERS), f"every subpackage needs a layer in LAYERS and vice versa: {packages}"
    missing = [p for p in packages if not (MODULE_UTILS / p / "__init__.py").is_file()]
    assert not missing, f"subpackages without __init__.py: {missing}"


def test_imports_go_down_the_layers_and_never_in_a_cycle():
    modules = graph()
    assert len(modules) > 30, "the walk found too few modules to mean anything"
    assert problems(modules) == []


def _plant(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        pytest.param(
            {"tenant/spec.py": f"from {PREFIX}.model import render\n", "model/render.py": ""},
            "tenant (layer 4) imports model.render",
            id="tenant-imports-model",
        ),
        pytest.param(
            {"clients/kube.py": f"def f():\n    from {PREFIX}.tenant.render import KINDS\n", "tenant/render.py": ""},
            "clients (layer 1) imports tenant.render",
            id="client-imports-domain-inside-a-function",
        ),
        pytest.param(
            {"common/a.py": f"from {PREFIX} import catalog\n"},
            "common (layer 0) imports catalog",
            id="old-flat-form",
        ),
        pytest.param(
            {
                "tenant/a.py": f"from {PREFIX}.tenant import b\n",
                "tenant/b.py": f"from {PREFIX}.tenant.c import X\n",
                "tenant/c.py": f"from {PREFIX}.tenant import a\n",
            },
            "import cycle: tenant.a -> tenant.b -> tenant.c -> tenant.a",
            id="cycle-inside-a-package",
        ),
        pytest.param({"tenant/a.py": "from . import b\n", "tenant/b.py": ""}, "relative import", id="relative"),
    ],
)
def test_a_planted_wrong_import_is_caught(tmp_path, files, expected):
    found = problems(graph(_plant(tmp_path, files)))
    assert any(expected in p for p in found), found


def test_a_downward_import_is_allowed(tmp_path):
    files = {
        "model/render.py": f"from {PREFIX}.tenant import spec\nfrom {PREFIX}.common.plan import Plan\n",
        "tenant/spec.py": f"from {PREFIX}.catalog import gpu\n",
        "catalog/gpu.py": "",
        "common/plan.py": "",
    }
    assert problems(graph(_plant(tmp_path, files))) == []
