"""The house rules, read from the source (docs/architecture.md): imports run one way, no two
modules import each other (directly or round a circle), no module takes another module's
private name, and the engine never loads a view package."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("cpnas", "cpviz")


def _modules() -> dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        for f in sorted((ROOT / pkg).rglob("*.py")):
            parts = f.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            out[name] = f
    return out


MODULES = _modules()


def _imports(name: str) -> list[tuple[str, str | None, int]]:
    """(module imported, the name taken from it or None, line) for every import in ``name``,
    at any depth (imports inside functions count: they are still dependencies)."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(a.name, None, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for a in node.names:
                sub = f"{target}.{a.name}"
                out.append((sub, None, node.lineno) if sub in MODULES else (target, a.name, node.lineno))
    return out


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for m in MODULES:
        for target, _, _ in _imports(m):
            # "import a.b.c" depends on a.b.c; a package import depends on its __init__
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target and target != m:
                graph[m].add(target)
    return graph


def test_no_import_cycle_between_modules():
    graph = _graph()
    # a module's own package __init__ re-exporting it is the one allowed back edge
    for m in graph:
        graph[m] = {t for t in graph[m] if not m.startswith(t + ".")}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    cycles: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
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
                cycles.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    assert not cycles, f"import cycles: {cycles}"


def test_imports_run_one_way_and_no_private_name_is_taken():
    private, upward = [], []
    for m in MODULES:
        for target, name, line in _imports(m):
            if m.startswith("cpnas") and target.split(".")[0] == "cpviz":
                upward.append(f"{m}:{line} imports {target}")
            if (name and name.startswith("_") and not name.startswith("__")
                    and target.split(".")[0] in PACKAGES and target != m):
                private.append(f"{m}:{line} takes {target}.{name}")
    assert not upward, upward
    assert not private, private


def test_importing_every_cpnas_module_loads_no_view_package():
    engine = sorted(m for m in MODULES if m.split(".")[0] == "cpnas" and not m.endswith("__main__"))
    code = ("import importlib, sys\n"
            f"for m in {engine!r}:\n"
            "    importlib.import_module(m)\n"
            "views = sorted(k for k in sys.modules if k.split('.')[0] in "
            "('cpviz', 'plotly', 'graphviz', 'ipywidgets', 'pygraphviz'))\n"
            "print(','.join(views))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"cpnas loaded view packages: {out.stdout.strip()}"


# Readers of user input a view must not call itself: it goes through cpnas.resolve.
INPUT_READERS = {"read_events", "read_genotype_file", "existing_path", "read_run_config"}


def test_views_read_their_input_only_through_the_one_resolver():
    taken = [(name, imported, line) for name in MODULES if name.startswith("cpviz")
             for _module, imported, line in _imports(name) if imported in INPUT_READERS]
    assert taken == [], f"cpviz reads input itself instead of through cpnas.resolve: {taken}"
