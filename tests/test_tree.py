"""The tree shows the design: the import graph keeps its never-rules and has no circle (tests every import in the
package, at module level or inside a function)."""

from __future__ import annotations

import ast
import subprocess
import sys
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
SPINE = (
    "io",
    "manifest",
    "publish",
    "schema",
    "config",
    "layouts",
    "errors",
    "progress",
    "lifetime",
    "models",
    "prompts",
    "pipeline",
    "report",
    "spill",
)


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
                targets = [
                    f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in mods else node.module for a in node.names
                ]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names if a.name.startswith("r1data.")]
            edges[name] |= {t for t in targets if t in mods and t not in (name, "r1data")}
    return edges


def area(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def broken_rules(edges: dict[str, set[str]]) -> list[str]:
    return [
        f"{m} -> {t}"
        for m, targets in edges.items()
        for t in targets
        if (area(m), area(t)) in NEVER or (area(m) in SPINE and area(t) == "cli")
    ]


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


FILE_MODULES = {"pathlib", "shutil", "tempfile", "io", "glob", "mmap"}
FILE_CALLS = {"open", "fromfile", "tofile", "memmap", "load", "save", "unlink", "mkdir"}


def file_access(path: Path) -> list[str]:
    """What in a module touches files: an import of a file module, or a call that reads, writes or maps one."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [node.module] if isinstance(node, ast.ImportFrom) and node.module else []
            names += [a.name for a in node.names] if isinstance(node, ast.Import) else []
            found += [f"imports {n}" for n in names if n.split(".")[0] in FILE_MODULES]
        elif isinstance(node, ast.Call):
            f = node.func
            name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
            if name in FILE_CALLS:
                found.append(f"calls {name} (line {node.lineno})")
    return found


def test_ops_hold_no_paths():
    """ops are transforms of values: where working files live (dedup's out-of-core runs) is r1data.spill's."""
    touching = {name: file_access(path) for name, path in modules().items() if area(name) == "ops"}
    assert {name: found for name, found in touching.items() if found} == {}
    assert file_access(modules()["r1data.spill"])  # the check sees file access where there is some


def test_the_checks_find_a_broken_rule_and_a_circle():
    graph = {
        "r1data.steps.x": {"r1data.cli.common"},
        "r1data.a": {"r1data.b"},
        "r1data.b": {"r1data.c"},
        "r1data.c": {"r1data.a"},
        "r1data.io": {"r1data.cli"},
    }
    assert broken_rules(graph) == ["r1data.steps.x -> r1data.cli.common", "r1data.io -> r1data.cli"]
    assert circles(graph) == [["r1data.a", "r1data.b", "r1data.c"]]
    assert imports()["r1data.steps.dedup"] >= {"r1data.ops.dedup", "r1data.judge"}  # the graph is really read


def test_the_formatter_owns_the_layout():
    """`ruff format` lays out every file (no skip or off markers): the layout is never argued by hand. A block that must
    keep its own layout says why here, in this one place (none does today)."""
    top = ROOT.parent
    skipped = [
        f"{path.relative_to(top)}:{n}"
        for folder in ("r1data", "tests", "benchmarks", "scripts")
        for path in sorted((top / folder).rglob("*.py"))
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if "fmt: " + "skip" in line or "fmt: " + "off" in line
    ]
    assert skipped == []
    checked = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--check", "r1data", "tests", "benchmarks", "scripts"],
        cwd=top,
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
