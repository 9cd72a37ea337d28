"""The tree shows the design: the import graph keeps its never-rules and has no circle (tests every import in the
package, at module level or inside a function)."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "r1data"
# (importer's area, imported area): never. An area is a top-level module or package of r1data.
NEVER = [
    ("steps", "cli"),  # steps run from the library, the pipeline and the CLI alike
    ("ops", "judge"),  # ops are pure transforms: no pools, no judge
    ("ops", "engines"),
    ("ops", "steps"),
    ("engines", "train"),
    ("judge", "steps"),
    ("judge", "cli"),
    ("engines", "cli"),
    ("train", "cli"),
]
SPINE = ("io", "manifest", "publish", "schema", "config", "layouts", "errors", "progress", "lifetime", "models",
         "prompts", "pipeline", "report")  # fmt: skip


def modules() -> dict[str, Path]:
    out = {}
    for f in ROOT.rglob("*.py"):
        name = ".".join(f.relative_to(ROOT.parent).with_suffix("").parts)
        out[name.removesuffix(".__init__")] = f
    return out


def imports() -> dict[str, set[str]]:
    """Module -> the r1data modules it imports (`from r1data.x import y` counts as r1data.x.y where that is a
    module, else as r1data.x)."""
    mods = modules()
    edges: dict[str, set[str]] = defaultdict(set)
    for name, path in mods.items():
        for node in ast.walk(ast.parse(path.read_text())):
            targets = []
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("r1data"):
                targets = [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in mods else node.module
                           for a in node.names]  # fmt: skip
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names if a.name.startswith("r1data.")]
            edges[name] |= {t for t in targets if t in mods and t not in (name, "r1data")}
    return edges


def area(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def broken_rules(edges: dict[str, set[str]]) -> list[str]:
    return [f"{m} -> {t}" for m, targets in edges.items() for t in targets
            if (area(m), area(t)) in NEVER or (area(m) in SPINE and area(t) == "cli")]  # fmt: skip


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    found: list[list[str]] = []
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            part = []
            while True:
                w = stack.pop()
                part.append(w)
                if w == v:
                    break
            if len(part) > 1:
                found.append(sorted(part))

    for v in sorted(set(edges) | {t for ts in edges.values() for t in ts}):
        if v not in index:
            visit(v)
    return found


def test_no_never_rule_is_broken():
    assert broken_rules(imports()) == []


def test_no_import_circle():
    assert circles(imports()) == []


def test_the_checks_find_a_broken_rule_and_a_circle():
    graph = {"r1data.steps.x": {"r1data.cli.common"}, "r1data.a": {"r1data.b"}, "r1data.b": {"r1data.c"},
             "r1data.c": {"r1data.a"}, "r1data.io": {"r1data.cli"}}  # fmt: skip
    assert broken_rules(graph) == ["r1data.steps.x -> r1data.cli.common", "r1data.io -> r1data.cli"]
    assert circles(graph) == [["r1data.a", "r1data.b", "r1data.c"]]
    assert imports()["r1data.steps.dedup"] >= {"r1data.ops.dedup", "r1data.judge"}  # the graph is really read
