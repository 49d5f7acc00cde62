"""The layering of docs/ARCHITECTURE.md, checked over the import graph of memo_core and dashboard.

Every import counts, function-local ones too. The checker is run on a small made-up package first, so a
broken checker cannot pass silently.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

import pytest

from tests._helpers import REPO

#: Top to bottom; a module belongs to the layer of its longest matching prefix.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("dashboard", ("dashboard",)),
    ("cli", ("memo_core.cli", "memo_core.__main__")),
    ("experiments", ("memo_core.experiments",)),
    ("explain", ("memo_core.explain",)),
    ("training", ("memo_core.training", "memo_core.pretrained")),
    ("models", ("memo_core.models",)),
    ("data", ("memo_core.data",)),
    ("features", ("memo_core.features",)),
    ("ground floor", ("memo_core.audio", "memo_core.errors", "memo_core.fileio", "memo_core.metrics",
                      "memo_core.postprocess", "memo_core.papers", "memo_core")),
)
PACKAGES = ("memo_core", "dashboard")
#: Third-party modules a function may import locally (heavy, and most callers never need them).
LAZY_OK = {"librosa", "opensmile", "sklearn", "pretty_midi", "midirenderer", "soxr", "scipy", "soundfile", "torch",
           "fcntl", "importlib", "streamlit", "plotly", "tqdm", "multiprocessing", "concurrent",
           "distributed", "duckdb"}


def modules(root: Path, packages: Iterable[str] = PACKAGES) -> dict[str, Path]:
    found = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def _target(name: str, known: dict[str, Path]) -> str | None:
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def imports(root: Path, packages: Iterable[str] = PACKAGES) -> list[tuple[str, str, int, bool]]:
    """``(importer, imported module, line, local)`` for every import between the packages' modules."""
    known = modules(root, packages)
    out = []
    for name, path in known.items():
        tree = ast.parse(path.read_text(), str(path))
        top = {id(node) for node in tree.body}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = name.split(".")
                    base = base[: len(base) - node.level + (1 if path.name == "__init__.py" else 0)]
                    module = ".".join(base + ([node.module] if node.module else []))
                else:
                    module = node.module or ""
                targets = [f"{module}.{a.name}" if f"{module}.{a.name}" in known else module for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                continue
            for t in targets:
                if t.split(".")[0] in packages and (found := _target(t, known)) and found != name:
                    out.append((name, found, node.lineno, id(node) not in top))
    return out


def layer(module: str) -> int:
    best = (len(LAYERS), -1)
    for i, (_, prefixes) in enumerate(LAYERS):
        for p in prefixes:
            if (module == p or module.startswith(p + ".")) and len(p) > best[1]:
                best = (i, len(p))
    return best[0]


def upward(edges) -> list[str]:
    return [f"{a} ({LAYERS[layer(a)][0]}) imports {b} ({LAYERS[layer(b)][0]}) at line {line}"
            for a, b, line, _ in edges if layer(b) < layer(a)]


def cycles(edges) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    graph: dict[str, set[str]] = {}
    for a, b, _, _ in edges:
        graph.setdefault(a, set()).add(b)
    index, low, stack, on, found, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in list(graph):
        if v not in index:
            visit(v)
    return found


@pytest.fixture(scope="module")
def edges():
    return imports(REPO)


# --------------------------------------------------------------------------- the checker itself


def test_the_checker_finds_an_upward_import_and_a_cycle(tmp_path):
    pkg = tmp_path / "memo_core"
    (pkg / "models").mkdir(parents=True)
    (pkg / "experiments").mkdir()
    for init in (pkg, pkg / "models", pkg / "experiments"):
        (init / "__init__.py").write_text("")
    (pkg / "experiments" / "run.py").write_text("from memo_core.models import mca\n")
    (pkg / "models" / "mca.py").write_text("def f():\n    from memo_core.experiments.run import x\n")
    (pkg / "metrics.py").write_text("from . import errors\n")
    (pkg / "errors.py").write_text("from memo_core import metrics\n")
    found = imports(tmp_path, ("memo_core",))
    assert upward(found) == ["memo_core.models.mca (models) imports memo_core.experiments.run (experiments) at line 2"]
    assert sorted(map(tuple, cycles(found))) == [("memo_core.errors", "memo_core.metrics"),
                                                  ("memo_core.experiments.run", "memo_core.models.mca")]


# --------------------------------------------------------------------------- the repository


def test_no_import_runs_upward(edges):
    assert upward(edges) == []


def test_no_import_cycles(edges):
    assert cycles(edges) == []


def test_every_module_has_a_layer():
    assert [m for m in modules(REPO) if layer(m) == len(LAYERS)] == []


def test_nothing_below_the_cli_imports_it(edges):
    assert [(a, b) for a, b, _, _ in edges if b.startswith("memo_core.cli") and not a.startswith(
        ("memo_core.cli", "memo_core.__main__"))] == []


def test_dashboard_modules_reach_memo_core_through_resources(edges):
    """Pages, plots and widgets import memo_core only through dashboard/resources.py (its docstring's promise)."""
    assert [(a, b) for a, b, _, _ in edges
            if a.startswith("dashboard") and a != "dashboard.resources" and b.startswith("memo_core")] == []


def test_memo_core_never_imports_streamlit():
    offenders = []
    for name, path in modules(REPO, ("memo_core",)).items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                mods = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                offenders += [f"{name}:{node.lineno}" for m in mods if m.split(".")[0] == "streamlit"]
    assert offenders == []


def test_function_local_imports_are_heavy_dependencies_with_a_reason():
    """Inside memo_core a function imports only a heavy third-party module, and says why on that line or the
    line above; memo_core's own modules are imported at the top (the CLI's dispatch uses importlib)."""
    offenders = []
    for name, path in modules(REPO, ("memo_core",)).items():
        text = path.read_text()
        lines = text.splitlines()
        tree = ast.parse(text)
        top = {id(node) for node in tree.body}
        guarded = {id(n) for node in tree.body if isinstance(node, ast.If) for n in ast.walk(node)}
        for node in ast.walk(tree):
            if not isinstance(node, (ast.Import, ast.ImportFrom)) or id(node) in top or id(node) in guarded:
                continue
            mods = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or "."]
            root = mods[0].split(".")[0]
            reason = "#" in lines[node.lineno - 1] or lines[node.lineno - 2].strip().startswith("#")
            if root not in LAZY_OK or not reason:
                offenders.append(f"{name}:{node.lineno} {mods[0]}" + ("" if reason else " (no reason given)"))
    assert offenders == []
