"""The layering of docs/architecture.md, enforced on the source: every module's imports (also
those inside functions and under `if TYPE_CHECKING:`) go down the layer table, never up; no
import cycle among modules; no class with more than MAX_PUBLIC_METHODS public methods.

The source is parsed with `ast` (nothing is imported), so a violation anywhere in a module, even
in a function no test calls, fails here.

Imports under `if TYPE_CHECKING:` are counted like any other: a type-only import still ties two
modules together for a reader (and for mypy), and none is needed to break a circle — where a part
needs a type from above, it declares a `typing.Protocol` of what it uses (server/ports.py,
moderation/ports.py).
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "callister"

# The layer table of docs/architecture.md ("a layer imports only what its row names"). A layer is
# a top-level package of callister; the modules of one layer may import each other (without
# cycles). `callister` itself (the version) may be imported by every layer.
LOW = frozenset({"content", "protocol", "store"})
LAYERS: dict[str, frozenset[str]] = {
    "content": frozenset(),
    "protocol": frozenset(),
    "store": frozenset(),
    "universe": frozenset({"content"}),
    "sim": frozenset({"content", "protocol"}),
    "agents": frozenset({"content", "protocol"}),
    "missions": frozenset({"content", "protocol", "sim", "universe"}),
    "economy": frozenset({"content", "protocol", "store"}),
    "worlds": LOW | {"universe", "sim", "economy"},
    "moderation": LOW | {"sim", "agents", "economy"},
}
LAYERS["server"] = frozenset(LAYERS)  # every layer above
LAYERS["cluster"] = LAYERS["server"] | {"server"}
LAYERS["bots"] = LAYERS["cluster"] | {"cluster"}  # clients and measurements: any layer below cli
LAYERS["bench"] = LAYERS["bots"] | {"bots"}
LAYERS["cli"] = frozenset(LAYERS) | {"cli"}
LAYERS["__main__"] = frozenset({"cli"})

MAX_PUBLIC_METHODS = 30


@dataclass(frozen=True)
class Import:
    source: str  # the importing module
    target: str  # the imported module (a name imported from a module counts as the module)
    line: int


def module_name(path: Path, root: Path = SRC) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules(root: Path = SRC) -> dict[str, Path]:
    return {module_name(p, root): p for p in sorted((root / PACKAGE).rglob("*.py"))}


@functools.cache
def _parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), str(path))


def imports(name: str, path: Path, known: set[str] | dict[str, Path]) -> Iterator[Import]:
    """Every import of a callister module in `path`, wherever it stands (module level, in a
    function, under TYPE_CHECKING). `from pkg import sub` imports the module `pkg.sub`;
    `from pkg import Name` imports `pkg`."""
    tree = _parse(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - (node.level - 1)]
                base = ".".join([*parts, base] if base else parts)
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                for alias in node.names
            ]
        for target in targets:
            if target != PACKAGE and not target.startswith(PACKAGE + "."):
                continue
            while target not in known and "." in target:
                target = target.rpartition(".")[0]
            if target != name:
                yield Import(name, target, node.lineno)


def import_graph(root: Path = SRC) -> tuple[dict[str, set[str]], list[Import]]:
    found = modules(root)
    graph: dict[str, set[str]] = {m: set() for m in found}
    every: list[Import] = []
    for name, path in found.items():
        for imp in imports(name, path, found):
            graph[name].add(imp.target)
            every.append(imp)
    return graph, every


def layer_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else PACKAGE


def layer_violations(every: list[Import]) -> list[str]:
    out = []
    for imp in every:
        src, dst = layer_of(imp.source), layer_of(imp.target)
        if src == dst or dst == PACKAGE:
            continue
        allowed = LAYERS.get(src)
        if allowed is None:
            out.append(f"{imp.source}: layer {src!r} is not in the table (docs/architecture.md)")
        elif dst not in allowed:
            out.append(
                f"{imp.source}:{imp.line} imports {imp.target}: {src} may import only "
                f"{sorted(allowed) or 'nothing'}"
            )
    return out


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
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
    return found


def _is_property(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    for deco in fn.decorator_list:
        if isinstance(deco, ast.Name) and deco.id in ("property", "cached_property"):
            return True
        if isinstance(deco, ast.Attribute) and deco.attr in ("setter", "deleter", "getter"):
            return True
    return False


def public_methods(root: Path = SRC) -> dict[str, set[str]]:
    """Class (`module.Class`) -> the names of its public methods, its own and those it inherits
    from callister classes (properties are attributes, not counted)."""
    found = modules(root)
    own: dict[str, set[str]] = {}
    bases: dict[str, list[str]] = {}
    for name, path in found.items():
        tree = _parse(path)
        imported: dict[str, str] = {}  # local name -> module.Class it may be
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                for alias in node.names:
                    imported[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        for node in ast.walk(tree):
            if not isinstance(node, ast.ClassDef):
                continue
            key = f"{name}.{node.name}"
            own[key] = {
                f.name
                for f in node.body
                if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef)
                and not f.name.startswith("_")
                and not _is_property(f)
            }
            bases[key] = [
                imported.get(b.id, f"{name}.{b.id}") for b in node.bases if isinstance(b, ast.Name)
            ]

    def defined(base: str) -> str:
        """`pkg.Name` imported from a package that re-exports it: the module defining it."""
        if base in own:
            return base
        package, _, cls = base.rpartition(".")
        return next((k for k in own if k.startswith(package + ".") and k.endswith("." + cls)), base)

    def resolve(cls: str, seen: frozenset[str] = frozenset()) -> set[str]:
        names = set(own.get(cls, ()))
        for base in map(defined, bases.get(cls, ())):
            if base in own and base not in seen:
                names |= resolve(base, seen | {cls})
        return names

    return {cls: resolve(cls) for cls in own}


# --------------------------------------------------------------------------------- tests


def test_every_layer_imports_only_the_layers_below_it() -> None:
    _, every = import_graph()
    assert layer_violations(every) == []


def test_there_is_no_import_cycle_among_modules() -> None:
    graph, _ = import_graph()
    assert cycles(graph) == []


def test_no_class_exposes_more_than_30_public_methods() -> None:
    counts = {cls: len(names) for cls, names in public_methods().items()}
    too_many = {cls: n for cls, n in counts.items() if n > MAX_PUBLIC_METHODS}
    assert too_many == {}


def test_the_checks_see_function_level_and_type_checking_imports(tmp_path: Path) -> None:
    """The checks themselves, on a tiny package: an upward import inside a function and a
    circle closed under TYPE_CHECKING are both found; a class over the limit is found."""
    pkg = tmp_path / PACKAGE
    for folder in ("sim", "server"):
        (pkg / folder).mkdir(parents=True)
        (pkg / folder / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "sim" / "a.py").write_text(
        "def f():\n    from callister.server import b\n    return b\n"
    )
    (pkg / "server" / "b.py").write_text("from callister.server.c import X\n")
    (pkg / "server" / "c.py").write_text(
        "from typing import TYPE_CHECKING\nX = 1\nif TYPE_CHECKING:\n"
        "    from callister.server import b\n"
    )
    methods = "".join(f"    def m{i}(self): ...\n" for i in range(MAX_PUBLIC_METHODS + 1))
    (pkg / "server" / "d.py").write_text(f"class Big:\n{methods}\nclass Bigger(Big):\n    pass\n")
    graph, every = import_graph(tmp_path)
    assert any("callister.sim.a" in v and "server" in v for v in layer_violations(every))
    assert cycles(graph) == [["callister.server.b", "callister.server.c"]]
    counts = {c: len(n) for c, n in public_methods(tmp_path).items()}
    assert counts["callister.server.d.Big"] == counts["callister.server.d.Bigger"] == 31


@pytest.mark.parametrize("layer", sorted({layer_of(m) for m in modules()} - {PACKAGE}))
def test_every_layer_is_in_the_table(layer: str) -> None:
    assert layer in LAYERS, f"add {layer!r} to the layer table (docs/architecture.md, this test)"
