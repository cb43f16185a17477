"""The shape of the code base: no import cycles, few and explained function-local imports, one owner per concept.

The layer order itself is import-linter's contract in pyproject.toml (`lint-imports`, run by .ci/run); these tests
check what a layers contract cannot: cycles inside a room, the function-local imports, and single owners.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import grimp

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "mujo"
MAX_LOCAL_IMPORTS = 40  # issue 10: function-local imports only where they keep torch, umap or streamlit off a path
REASON = re.compile(r"noqa: PLC0415\s+\((?=.*\b(torch|umap|streamlit)\b).+\)")


def _sources() -> dict[Path, str]:
    return {p: p.read_text(encoding="utf-8") for p in sorted(PACKAGE.rglob("*.py"))}


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    edges = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in sorted(graph.modules)}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    for root in edges:
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = len(index)
                stack.append(node)
                on_stack.add(node)
            if i < len(edges[node]):
                work.append((node, i + 1))
                nxt = edges[node][i]
                if nxt not in index:
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    m = stack.pop()
                    on_stack.discard(m)
                    comp.append(m)
                    if m == node:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out


def test_no_import_cycles() -> None:
    graph = grimp.build_graph("mujo", cache_dir=None)  # TYPE_CHECKING imports count too; no stale cache
    assert _cycles(graph) == []


def test_cycle_finder_finds_a_cycle() -> None:
    graph = grimp.ImportGraph()
    for a, b in (("p.a", "p.b"), ("p.b", "p.c"), ("p.c", "p.a"), ("p.c", "p.d")):
        graph.add_import(importer=a, imported=b)
    assert _cycles(graph) == [["p.a", "p.b", "p.c"]]


def _local_imports() -> list[tuple[Path, int, str]]:
    found = []
    for path, text in _sources().items():
        lines = text.splitlines()
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for sub in ast.walk(node):
                    if isinstance(sub, (ast.Import, ast.ImportFrom)):
                        found.append((path.relative_to(REPO), sub.lineno, lines[sub.lineno - 1]))
    return found


def test_function_local_imports_are_few_and_say_why() -> None:
    local = _local_imports()
    assert len(local) <= MAX_LOCAL_IMPORTS, "\n".join(f"{p}:{n}: {line.strip()}" for p, n, line in local)
    unexplained = [f"{p}:{n}: {line.strip()}" for p, n, line in local if not REASON.search(line)]
    assert unexplained == [], "each function-local import says which of torch/umap/streamlit it keeps off a path"


def test_concepts_have_one_owner() -> None:
    sources = _sources()
    for literal, owner in (('"fimad.json"', "fimad/layout.py"), ('"null_class"', "fimad/layout.py"),
                           ('"model.safetensors"', "checkpoint.py"), ("EXIT_INTERRUPTED = ", "commands/common.py")):
        holders = sorted(str(p.relative_to(PACKAGE)) for p, text in sources.items() if literal in text)
        assert holders == [owner], (literal, holders)


def test_modules_stay_small() -> None:
    big = {str(p.relative_to(REPO)): n for p, text in _sources().items() if (n := len(text.splitlines())) > 400}
    assert big == {}
