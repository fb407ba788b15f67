"""The import structure of the house, read from the code (ast): one direction, no circle, a cheap package import.

- ``mlitheory`` never imports ``empirical`` or ``proofs_check`` (module-level or inside a function). The one place
  that may *name* ``empirical`` is the optional data provider of the bias-plateau demo
  (:data:`mlitheory.bias_plateau._io.DEFAULT_DATA_PROVIDER`), resolved at run time only when a named data set is
  asked for; and `mlitheory.results.TRUSTED_PACKAGES`, the packages whose result classes ``Result.load`` may import
  when a saved file names one.
- ``empirical`` imports only public ``mlitheory`` names: no module or name that starts with ``_``.
- The module-level imports among ``mlitheory`` modules form no cycle.
- ``import mlitheory`` loads neither scipy, matplotlib nor ``empirical`` (checked in a fresh interpreter), and
  every name of ``__all__`` resolves.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _modules(package: str) -> dict[str, Path]:
    out = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _imports(name: str, path: Path, *, module_level: bool) -> list[tuple[str, int]]:
    """``(imported module or module.name, line)`` of every import statement (only the top level when asked)."""
    tree = ast.parse(path.read_text(), str(path))
    is_pkg = path.name == "__init__.py"
    nodes = tree.body if module_level else list(ast.walk(tree))
    out = []
    for node in nodes:
        if isinstance(node, ast.Import):
            out += [(a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                pkg = name.split(".") if is_pkg else name.split(".")[:-1]
                pkg = pkg[: len(pkg) - node.level + 1]
                base = ".".join([*pkg, *([base] if base else [])])
            out += [(f"{base}.{a.name}", node.lineno) for a in node.names]
            out.append((base, node.lineno))
    return out


def _string_imports(path: Path) -> list[tuple[str, int]]:
    """String constants that name a module of ``empirical`` or ``proofs_check`` (``import_module("empirical…")``)."""
    tree = ast.parse(path.read_text(), str(path))
    return [
        (node.value, node.lineno)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and re.fullmatch(r"(empirical|proofs_check)(\.\w+)*(:\w+)?", node.value)
    ]


def test_mlitheory_never_imports_empirical_or_proofs_check():
    bad = [
        f"{path.relative_to(ROOT)}:{line} imports {mod}"
        for name, path in _modules("mlitheory").items()
        for mod, line in _imports(name, path, module_level=False)
        if mod.split(".")[0] in ("empirical", "proofs_check")
    ]
    assert not bad, "mlitheory must not import the packages built on it:\n" + "\n".join(bad)
    named = [
        (str(path.relative_to(ROOT)), value)
        for path in _modules("mlitheory").values()
        for value, _ in _string_imports(path)
    ]
    assert named == [
        ("mlitheory/bias_plateau/_io.py", "empirical.data:load_dataset"),
        ("mlitheory/results.py", "empirical"),  # TRUSTED_PACKAGES: whose result classes a saved file may name
    ], named


def test_the_one_named_provider_is_resolved_only_on_demand():
    from mlitheory.bias_plateau import _io

    assert _io.DEFAULT_DATA_PROVIDER == "empirical.data:load_dataset"
    out = subprocess.run(
        [sys.executable, "-c", "import sys, mlitheory.bias_plateau.demo; print('empirical' in sys.modules)"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "False"


def test_empirical_imports_only_public_mlitheory_names():
    bad = []
    for name, path in _modules("empirical").items():
        for mod, line in _imports(name, path, module_level=False):
            parts = mod.split(".")
            if parts[0] == "mlitheory" and any(p.startswith("_") and p != "__version__" for p in parts[1:]):
                bad.append(f"{path.relative_to(ROOT)}:{line} imports {mod}")
    assert not bad, "empirical may use only public mlitheory modules and names:\n" + "\n".join(bad)


def _module_graph() -> dict[str, set[str]]:
    mods = _modules("mlitheory")
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for name, path in mods.items():
        for mod, _ in _imports(name, path, module_level=True):
            while mod and mod not in mods:  # `from mlitheory.x import name`: the module is the longest prefix
                mod = mod.rpartition(".")[0]
            if mod and mod != name:
                graph[name].add(mod)
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_import_cycle_among_mlitheory_modules():
    graph = _module_graph()
    # a package imports its own sub-modules (its face); a sub-module importing its package back is the circle
    for pkg in [m for m in graph if (ROOT / m.replace(".", "/") / "__init__.py").exists()]:
        graph[pkg] = {m for m in graph[pkg] if not m.startswith(pkg + ".")} | {
            m for m in graph[pkg] if m.startswith(pkg + ".") and pkg not in graph[m]
        }
    assert _cycle(graph) is None, f"import cycle: {' -> '.join(_cycle(graph))}"


def test_cycle_finder_finds_a_planted_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_import_mlitheory_is_light_and_every_exported_name_resolves():
    code = (
        "import sys, mlitheory\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'scipy', 'matplotlib', 'empirical', 'torch'})\n"
        "print(','.join(heavy))\n"
        "missing = [n for n in mlitheory.__all__ if getattr(mlitheory, n, None) is None]\n"
        "print(','.join(missing))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    heavy, missing = out.stdout.split("\n")[:2]
    assert heavy == "", f"import mlitheory loaded {heavy}"
    assert missing == "", f"names of mlitheory.__all__ that do not resolve: {missing}"


def test_package_map_is_exact():
    """The docstring map of mlitheory lists exactly the names it exports (``- `name` — one line``)."""
    import mlitheory

    listed = re.findall(r"^- `(\w+)` —", mlitheory.__doc__, re.M)
    assert len(listed) == len(set(listed)), "a name is listed twice"
    assert set(listed) == set(mlitheory.__all__)
    with pytest.raises(AttributeError, match="no attribute 'not_a_name'"):
        mlitheory.not_a_name
