"""The shop package, retention and coupons import in any order, with no circle between them.

Two checks: the import graph read from the source (every `import`, at module level or inside a
function) has no cycle between the packages app.shop, app.coupons and app.retention, and no
function body imports one of them from another (the trick that used to hide a circle); and a
fresh interpreter imports the modules in several orders without an ImportError.
"""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("app.shop", "app.coupons", "app.retention")
MODULES = ("app.shop.backends", "app.shop.delivery", "app.coupons.shop", "app.coupons.services",
           "app.retention.services", "app.retention.panel", "app.commerce.hooks")


def _package_of(module: str):
    return next((p for p in PACKAGES if module == p or module.startswith(p + ".")), None)


def _imports(path: Path, module: str):
    """(imported module, inside a function?) for every import statement of the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}

    def in_function(node) -> bool:
        while node in parents:
            node = parents[node]
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                return True
        return False

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, in_function(node)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module, in_function(node)
            for alias in node.names:  # `from app.shop import delivery` imports app.shop.delivery
                yield f"{node.module}.{alias.name}", in_function(node)


def _graph():
    edges, function_level = set(), []
    for package in PACKAGES:
        for path in sorted((ROOT / package.replace(".", "/")).rglob("*.py")):
            rel = path.relative_to(ROOT).with_suffix("")
            module = ".".join(rel.parts).removesuffix(".__init__")
            source = _package_of(module)
            for target, nested in _imports(path, module):
                dest = _package_of(target)
                if dest and dest != source:
                    edges.add((source, dest))
                    if nested:
                        function_level.append(f"{module} imports {target} inside a function")
    return edges, function_level


def test_no_cycle_between_shop_coupons_and_retention():
    edges, _ = _graph()
    # The shop package is the bottom layer: it imports no feature.
    assert not {e for e in edges if e[0] == "app.shop"}, edges
    # Depth-first search for a cycle among the three packages.
    graph = {p: {d for s, d in edges if s == p} for p in PACKAGES}
    state: dict[str, int] = {}

    def visit(node, path):
        state[node] = 1
        for nxt in graph[node]:
            assert state.get(nxt) != 1, f"import cycle: {' -> '.join(path + [nxt])}"
            if nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = 2

    for package in PACKAGES:
        if package not in state:
            visit(package, [package])
    assert ("app.retention", "app.shop") in edges and ("app.coupons", "app.shop") in edges


def test_no_function_level_imports_between_these_packages():
    _, function_level = _graph()
    assert function_level == []


def test_the_old_homes_are_gone():
    assert not (ROOT / "app/retention/backends.py").exists()
    assert not (ROOT / "app/retention/delivery.py").exists()


def _import_in_fresh_interpreter(order):
    code = "import importlib, sys\nfor name in sys.argv[1:]:\n    importlib.import_module(name)\n"
    return subprocess.run([sys.executable, "-c", code, *order], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)


def test_modules_import_in_any_of_several_orders():
    # Forwards, backwards, and each module once as the very first import of a fresh interpreter.
    orders = [MODULES, tuple(reversed(MODULES))] + [MODULES[i:] + MODULES[:i] for i in range(1, len(MODULES))]
    for order in orders:
        done = _import_in_fresh_interpreter(order)
        assert done.returncode == 0, f"order {order}:\n{done.stderr[-2000:]}"
