"""Print the shape of mujo's import graph: module cycles, function-local imports, and where literals are spelled.

Usage: `python benchmarks/import_graph.py [REPO]` (default: this checkout). It reads the source with `ast` only, so
it also measures an older checkout (`git worktree add /tmp/old <commit>` and pass /tmp/old), the figures of issue 10.
"""

from __future__ import annotations

import argparse
import ast
from collections import defaultdict
from pathlib import Path

LITERALS = ("fimad.json", "null_class", "model.safetensors", "config.json")


def modules(repo: Path) -> dict[str, Path]:
    out = {}
    for path in sorted((repo / "mujo").rglob("*.py")):
        parts = list(path.relative_to(repo).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _targets(node: ast.Import | ast.ImportFrom, package: str, known: dict[str, Path]) -> list[str]:
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    base = node.module or ""
    if node.level:
        parts = package.split(".")
        parts = parts[: len(parts) - node.level + 1]
        base = ".".join(parts) + ("." + base if base else "")
    return [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]


def _owner(name: str, known: dict[str, Path]) -> str | None:
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def graph(known: dict[str, Path], typing: bool = False) -> tuple[dict[str, set[str]], list[tuple[Path, int, str]]]:
    """Module -> modules it imports (top-level and function-local; TYPE_CHECKING blocks only if `typing`), and the
    function-local imports."""
    edges: dict[str, set[str]] = defaultdict(set)
    local = []
    for name, path in known.items():
        text = path.read_text(encoding="utf-8")
        tree = ast.parse(text)
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        typing_only = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
                       and "TYPE_CHECKING" in ast.unparse(node.test) for n in ast.walk(node)}
        in_function = {id(n) for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
                       for n in ast.walk(node)}
        for node in ast.walk(tree):
            if not isinstance(node, (ast.Import, ast.ImportFrom)) or (id(node) in typing_only and not typing):
                continue
            if id(node) in in_function:
                local.append((path, node.lineno, text.splitlines()[node.lineno - 1].strip()))
            for target in _targets(node, package, known):
                owner = _owner(target, known) if target.startswith("mujo") else None
                if owner and owner != name:
                    edges[name].add(owner)
    return edges, local


def cycles(edges: dict[str, set[str]], nodes: list[str]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative: no recursion limit to raise).

    `edges` maps a module to the modules it imports; `nodes` are visited in this order. tests/test_architecture.py
    loads this function by path, so the benchmark and the suite find cycles the same way.
    """
    succ = {v: sorted(edges.get(v, ())) for v in nodes}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    for root in nodes:
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = len(index)
                stack.append(node)
                on_stack.add(node)
            nexts = succ.setdefault(node, sorted(edges.get(node, ())))
            if i < len(nexts):
                work.append((node, i + 1))
                nxt = nexts[i]
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


def spelled_in(known: dict[str, Path], literal: str) -> list[str]:
    """Modules with `literal` inside a string constant that is not a docstring."""
    holders = []
    for name, path in known.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docs = {id(n.body[0].value) for n in ast.walk(tree)
                if isinstance(n, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and n.body
                and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
        if any(isinstance(n, ast.Constant) and isinstance(n.value, str) and literal in n.value and id(n) not in docs
               for n in ast.walk(tree)):
            holders.append(name)
    return holders


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("repo", nargs="?", default=str(Path(__file__).resolve().parents[1]))
    p.add_argument("--list", action="store_true", help="list every function-local import")
    p.add_argument("--typing", action="store_true", help="count imports under `if TYPE_CHECKING:` as edges too")
    args = p.parse_args()
    repo = Path(args.repo)
    known = modules(repo)
    edges, local = graph(known, args.typing)
    found = cycles(edges, sorted(known))
    sizes = sorted(((len(path.read_text(encoding="utf-8").splitlines()), name) for name, path in known.items()))
    print(f"{repo}: {len(known)} modules, largest {sizes[-1][1]} ({sizes[-1][0]} lines), "
          f"{sum(n > 400 for n, _ in sizes)} over 400 lines")
    what = "with" if args.typing else "without"
    print(f"import cycles {what} TYPE_CHECKING imports (groups of modules importing each other in a circle): "
          f"{len(found)}")
    for group in found:
        print("  " + " <-> ".join(group))
    print(f"function-local imports: {len(local)}")
    for path, line, text in local if args.list else ():
        print(f"  {path.relative_to(repo)}:{line}: {text}")
    for literal in LITERALS:
        holders = spelled_in(known, literal)
        print(f'"{literal}" spelled in {len(holders)} module(s): {", ".join(holders)}')


if __name__ == "__main__":
    main()
