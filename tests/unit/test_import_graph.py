"""edgebuild's modules import one another without circles, counting every `import` statement, those inside
functions too: a lazy import ties two modules as firmly as one at the top of the file. Importing a module
runs its packages' `__init__` first, so those count as imported too (but a module's own packages, which are
initialized before it runs, do not)."""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "edgebuild"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in PACKAGE.rglob("*.py")}


def with_packages(name: str, known: dict) -> set[str]:
    """`name` and every package above it that is edgebuild's: what importing `name` runs."""
    parts = name.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts) + 1)} & set(known)


def imports(name: str, path: Path, known: dict) -> set[str]:
    """Every edgebuild module the file at `path` imports, anywhere in it."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found |= with_packages(alias.name, known)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found |= with_packages(target, known)
            for alias in node.names:  # `from . import steps`: a module, not a name
                found |= with_packages(f"{target}.{alias.name}", known) & {f"{target}.{alias.name}"}
    # (a module's own packages are initialized before it runs: importing them from inside ties nothing new)
    return {other for other in found if other != name and not name.startswith(other + ".")}


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node: str, counter=[0]):  # noqa: B006 - one counter for the walk
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    import sys

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def import_graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports(name, path, known) for name, path in known.items()}


def test_the_analysis_finds_a_circle_and_the_packages_a_module_runs():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    graph = import_graph()
    assert "edgebuild.recipe" in graph["edgebuild.steps.convert"]  # `from ..recipe.schema import` runs recipe/__init__
    assert "edgebuild.recipe.schema" in graph["edgebuild.steps.convert"]


def test_no_module_imports_itself_back():
    found = circles(import_graph())
    assert found == [], "\n".join(" <-> ".join(c) for c in found)
