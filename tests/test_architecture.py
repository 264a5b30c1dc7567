"""ARCHITECTURE.md's module map names every module of the package, and only modules that exist; the package has
no import cycle (type-only imports count) and no module over the size limit."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "forecast"
#: The engineering standard's limit on a module's length (developers' guide).
MAX_MODULE_LINES = 600
_MODULE_PATH = re.compile(r"`(forecast/[\w/]+\.py)`")


def _package_modules() -> set[str]:
    return {str(p.relative_to(REPO)) for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts}


def test_module_map_lists_every_module_and_nothing_else() -> None:
    listed = set(_MODULE_PATH.findall((REPO / "ARCHITECTURE.md").read_text(encoding="utf-8")))
    modules = _package_modules()
    assert not modules - listed, f"missing from ARCHITECTURE.md's module map: {sorted(modules - listed)}"
    assert not listed - modules, f"ARCHITECTURE.md names modules that do not exist: {sorted(listed - modules)}"


def test_no_module_is_over_the_size_limit() -> None:
    sizes = {m: len((REPO / m).read_text(encoding="utf-8").splitlines()) for m in _package_modules()}
    assert not {m: n for m, n in sizes.items() if n > MAX_MODULE_LINES}


def test_no_import_cycle() -> None:
    """Tarjan over every import in the package, inside functions and TYPE_CHECKING blocks too."""
    import ast

    modules = {".".join(Path(m).with_suffix("").parts).removesuffix(".__init__"): REPO / m for m in _package_modules()}
    edges: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
                root = ".".join([*base, node.module] if node.module else base) if node.level else node.module or ""
                targets = [root, *(f"{root}.{alias.name}" for alias in node.names)]
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                parent_init = modules.get(target, Path()).name == "__init__.py" and name.startswith(target + ".")
                if target and target != name and not parent_init:
                    edges[name].add(target)
    sys.setrecursionlimit(10_000)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in modules:
        if module not in index:
            visit(module)
    assert not cycles, f"import cycles: {cycles}"


def test_no_private_kaleido_or_plotly_names() -> None:
    found = subprocess.run(
        ["grep", "-rnE", r"kaleido\.[A-Za-z_.]*\b_[a-z]|PageGenerator|templates\._default\b", str(PACKAGE)],
        capture_output=True,
        text=True,
    )
    assert found.stdout == "", found.stdout
