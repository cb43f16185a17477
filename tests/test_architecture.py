"""The shape of the code base: no import cycles, few and explained function-local imports, one owner per concept.

The layer order itself is import-linter's contract in pyproject.toml (`lint-imports`, run by .ci/run); these tests
check what a layers contract cannot: cycles inside a room, the function-local imports, and single owners.
"""

from __future__ import annotations

import ast
import importlib.util
import re
from pathlib import Path
from types import ModuleType

import grimp

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "mujo"
MAX_LOCAL_IMPORTS = 40  # issue 10: function-local imports only where they keep torch, umap or streamlit off a path
REASON = re.compile(r"noqa: PLC0415\s+\((?=.*\b(torch|umap|streamlit|streamlit_authenticator|dask)\b).+\)")


def _sources() -> dict[Path, str]:
    return {p: p.read_text(encoding="utf-8") for p in sorted(PACKAGE.rglob("*.py"))}


def _load_import_graph() -> ModuleType:
    """benchmarks/import_graph.py, loaded by path (benchmarks/ is not a package): its Tarjan `cycles` is the one."""
    spec = importlib.util.spec_from_file_location("_import_graph", REPO / "benchmarks" / "import_graph.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_import_graph = _load_import_graph()


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected components of more than one module, found by the benchmark's `cycles`."""
    nodes = sorted(graph.modules)
    return _import_graph.cycles({m: graph.find_modules_directly_imported_by(m) for m in nodes}, nodes)


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
