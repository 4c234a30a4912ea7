# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Bring the whole testbed (or some components) up and down; keep its state on disk."""

import json
import os
import shutil
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

from . import procs
from .components import registry
from .components.base import Run
from .errors import TestbedError
from .paths import state_dir
from .pki import CA

STATE_FILE = "state.json"


def _state_path():
    return state_dir() / STATE_FILE


def load_state() -> dict | None:
    try:
        return json.loads(_state_path().read_text())
    except FileNotFoundError:
        return None


def _save_state(state: dict) -> None:
    path = _state_path()
    path.write_text(json.dumps(state, indent=2, sort_keys=True))
    path.chmod(0o600)


def _selected(names: Iterable[str] | None) -> list:
    names = list(names or registry.COMPONENTS)
    unknown = [n for n in names if n not in registry.COMPONENTS]
    if unknown:
        raise TestbedError(f"unknown testbed component(s) {unknown}; known: {list(registry.COMPONENTS)}")
    return [registry.component(n) for n in names]


def build(names: Iterable[str] | None = None) -> dict[str, float]:
    """Build or download each component into the cache; return seconds spent per component."""
    timings = {}
    for comp in _selected(names):
        began = time.monotonic()
        comp.build()
        timings[comp.name] = round(time.monotonic() - began, 1)
    return timings


def healthy(state: dict) -> list[str]:
    """Names of components in state that fail their health check."""
    bad = []
    for comp in [registry.component(n) for n in state.get("components", {})]:
        try:
            comp.check(state["components"][comp.name])
        except Exception:
            bad.append(comp.name)
    return bad


def _stop(info: dict) -> None:
    """Stop a component's processes, then delete the scratch directories it keeps outside .testbed."""
    for pid in reversed(info.get("pids", [])):
        procs.stop(pid)
    for path in info.get("scratch_dirs", []):
        shutil.rmtree(path, ignore_errors=True)


def up(names: Iterable[str] | None = None) -> dict:
    """Start the selected components (all by default) that are not already up and healthy.

    Healthy running components are kept; unhealthy ones are restarted; the rest start in parallel.
    """
    comps = _selected(names)
    state = load_state() or {"started": time.time(), "components": {}, "timings": {}}
    for name in healthy(state):
        _stop(state["components"].pop(name))
    todo = [c for c in comps if c.name not in state["components"]]
    if not todo:
        return state
    build([c.name for c in todo])
    root = state_dir()
    run = Run(root, CA(root / "pki"))
    state["ca"] = str(run.ca.cert_path)

    def start(comp):
        began = time.monotonic()
        info = comp.start(run)
        return comp.name, info, round(time.monotonic() - began, 1)

    errors = []
    with ThreadPoolExecutor(max_workers=len(todo)) as pool:
        for fut in [pool.submit(start, c) for c in todo]:
            try:
                name, info, took = fut.result()
                state["components"][name] = info
                state["timings"][name] = took
            except Exception as exc:
                errors.append(str(exc))
    for name, pids in run.pids.items():
        state["components"].setdefault(name, {})["pids"] = pids
    if errors:
        for comp in todo:
            _stop(state["components"].pop(comp.name, {}))
        _save_state(state)
        raise TestbedError("testbed did not come up:\n" + "\n".join(errors))
    _save_state(state)
    for writer in registry.writers():
        writer(state, root)
    return state


def down() -> None:
    """Stop every process the testbed started and delete its data (the cache stays)."""
    state = load_state()
    if state:
        for info in reversed(list(state.get("components", {}).values())):
            _stop(info)
    root = state_dir()
    for sub in ("data", STATE_FILE):
        path = root / sub
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        elif path.exists():
            os.unlink(path)
