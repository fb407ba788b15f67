"""The API reference, generated from the packages' public structure: one page per public module.

A module is public when no part of its dotted name starts with `_` (so `__main__` and `mlitheory._evaluation`
are not); an old path kept as an alias of a moved module (`sys.modules` entry of another name) gets no page of its
own. Its *members* are the names in its `__all__`, or, for a module without `__all__`, the functions and classes it
defines whose names do not start with `_`.

Every public object gets exactly one *home*, the page that renders it with a mkdocstrings `:::` directive:

- the deepest public module that lists it among its members (its defining module, as a rule);
- otherwise (defined in a private module, or in the package itself) the deepest public package that exports it.

A package page shows the package docstring and a table of its `__all__`, each name linked to its home; so a name
exported at three levels is documented once and linked from the other two. The page layout follows the module
layout: `mlitheory.geometry` → `reference/mlitheory/geometry.md`, the package `mlitheory.bias_plateau` →
`reference/mlitheory/bias_plateau/index.md`.

Nothing here is written by hand per module: a module added, renamed or moved into a sub-package gets its page at
the next build.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from dataclasses import dataclass, field
from types import ModuleType

__all__ = ["PACKAGES", "Entry", "Page", "Reference", "build_reference", "public_modules"]

#: The packages whose public modules the reference covers.
PACKAGES: tuple[str, ...] = ("mlitheory", "empirical")

#: Directory of the generated pages, relative to the docs directory.
ROOT = "reference"


def _is_public(dotted: str) -> bool:
    return not any(part.startswith("_") for part in dotted.split("."))


def public_modules(package: str) -> list[str]:
    """Dotted names of `package` and of every public module below it, sorted (packages before their modules)."""
    pkg = importlib.import_module(package)
    names = [package]
    if hasattr(pkg, "__path__"):
        for info in pkgutil.walk_packages(pkg.__path__, prefix=package + "."):
            if _is_public(info.name):
                names.append(info.name)
    return sorted(names)


def _members(module: ModuleType) -> list[str]:
    """The module's public names: `__all__`, else the functions and classes it defines."""
    names = getattr(module, "__all__", None)
    if names is not None:
        return list(names)
    own = []
    for name, obj in vars(module).items():
        if name.startswith("_"):
            continue
        if (inspect.isfunction(obj) or inspect.isclass(obj)) and getattr(obj, "__module__", None) == module.__name__:
            own.append(name)
    return own


def _export(module: ModuleType, name: str):
    """`module.name` as the module exports it.

    A package that re-exports lazily (PEP 562 `__getattr__`) a function named like one of its submodules
    (`empirical.train` the function, in `empirical/train.py`) shows the submodule once that is imported, since
    importing a submodule sets the package attribute; the package's `__getattr__` still gives the export.
    """
    obj = getattr(module, name)
    lazy = vars(module).get("__getattr__")
    if isinstance(obj, ModuleType) and callable(lazy):
        try:
            return lazy(name)
        except AttributeError:
            pass
    return obj


def _kind(obj) -> str:
    if inspect.isclass(obj):
        return "class"
    if inspect.isfunction(obj) or inspect.isbuiltin(obj) or callable(obj):
        return "function"
    if isinstance(obj, ModuleType):
        return "module"
    return "attribute"


@dataclass(frozen=True)
class Entry:
    """One public name as its page shows it.

    Attributes:
        module: the module whose `__all__` (or own definitions) lists the name.
        name: the name in that module.
        home: dotted path of the rendered entry (its HTML anchor id), e.g. `mlitheory.geometry.gauss_length`.
        home_page: the page (relative to the docs directory) that renders it.
        kind: `class`, `function`, `attribute` or `module`.
    """

    module: str
    name: str
    home: str
    home_page: str
    kind: str


@dataclass
class Page:
    """A generated page: the module it documents, its path and its Markdown."""

    module: str
    path: str
    is_package: bool
    rendered: list[str] = field(default_factory=list)  # names rendered on this page by a ::: directive
    linked: list[Entry] = field(default_factory=list)  # package exports documented on another page
    markdown: str = ""


@dataclass
class Reference:
    """Every generated page, and every public name with its home."""

    pages: dict[str, Page]  # module → page
    entries: list[Entry]

    def nav(self) -> list:
        """A MkDocs `nav` section mirroring the package tree."""

        def section(module: str) -> list:
            page = self.pages[module]
            items: list = [{"Overview" if page.is_package else module: page.path}]
            children = sorted(
                m for m in self.pages if m.startswith(module + ".") and m.count(".") == module.count(".") + 1
            )
            for child in children:
                if self.pages[child].is_package:
                    items.append({child: section(child)})
                else:
                    items.append({child.rsplit(".", 1)[1]: self.pages[child].path})
            return items

        tops = [m for m in self.pages if "." not in m]
        return [{"API reference": [{"Index": f"{ROOT}/index.md"}] + [{top: section(top)} for top in tops]}]


def _page_path(module: str, is_package: bool) -> str:
    parts = module.split(".")
    return f"{ROOT}/{'/'.join(parts)}/index.md" if is_package else f"{ROOT}/{'/'.join(parts)}.md"


def _relative(from_page: str, to_page: str) -> str:
    """A relative link between two generated pages (both under `ROOT`)."""
    import posixpath

    return posixpath.relpath(to_page, posixpath.dirname(from_page))


def build_reference(packages: tuple[str, ...] = PACKAGES) -> Reference:
    """Import every public module of `packages` and lay out the reference pages.

    Raises:
        ValueError: a name listed in an `__all__` does not exist in its module (the reference would lie).
    """
    modules: dict[str, ModuleType] = {}
    for package in packages:
        for name in public_modules(package):
            mod = importlib.import_module(name)
            if mod.__name__ == name:  # an old path kept as an alias of a moved module is documented there
                modules[name] = mod
    members: dict[str, list[str]] = {}
    for name, mod in modules.items():
        listed = _members(mod)
        for member in listed:
            if not hasattr(mod, member):
                raise ValueError(f"{name}.__all__ lists {member!r}, which {name} does not define")
        members[name] = listed
    is_package = {name: hasattr(mod, "__path__") for name, mod in modules.items()}

    # Home of each object (by identity): deepest public non-package module listing it, else deepest package.
    def depth_key(module: str) -> tuple[int, int]:
        return (0 if is_package[module] else 1, module.count("."))

    homes: dict[tuple, tuple[str, str]] = {}  # identity → (module, name)
    for module in sorted(modules, key=depth_key, reverse=True):
        for member in members[module]:
            obj = _export(modules[module], member)
            key = _identity(obj, module, member)
            homes.setdefault(key, (module, member))

    pages = {name: Page(name, _page_path(name, is_package[name]), is_package[name]) for name in modules}
    entries: list[Entry] = []
    for module in modules:
        for member in members[module]:
            obj = _export(modules[module], member)
            key = _identity(obj, module, member)
            home_module, home_name = homes[key]
            home = f"{home_module}.{home_name}"
            entry = Entry(module, member, home, pages[home_module].path, _kind(obj))
            entries.append(entry)
            if home_module == module and home_name == member:
                pages[module].rendered.append(member)
            else:
                pages[module].linked.append(entry)

    for page in pages.values():
        page.markdown = _page_markdown(page, modules[page.module])
    return Reference(pages=pages, entries=entries)


def _identity(obj, module: str, member: str) -> tuple:
    """What makes two listings the same object: identity, except for plain values (numbers, strings, None),
    which are equal by accident, not by re-export: each listing of those is its own entry."""
    if isinstance(obj, (int, float, str, bytes, bool, type(None))):
        return ("value", module, member)
    return ("object", id(obj))


def _directive(target: str, *, heading_level: int, members) -> list[str]:
    lines = [f"::: {target}", "    options:", f"      heading_level: {heading_level}", "      show_root_heading: true"]
    if members is False:
        lines.append("      members: false")
    elif members is not None:
        lines.append("      members:")
        lines += [f"        - {m}" for m in members]
    return lines


def _page_markdown(page: Page, module: ModuleType) -> str:
    title = f"`{page.module}`"
    out = [f"# {title}", ""]
    if page.is_package:
        # The package docstring only; its public names are rendered where they live.
        out += [*_directive(page.module, heading_level=2, members=False), ""]
        if page.linked or page.rendered:
            out += ["## Public names", "", "| name | kind | documented in |", "|---|---|---|"]
            for e in page.linked:
                # An autorefs cross-reference: the strict build fails if the home has no such entry.
                where = e.home.rsplit(".", 1)[0]
                out.append(f"| [`{e.name}`][{e.home}] | {e.kind} | `{where}` |")
            for name in page.rendered:
                out.append(f"| [`{name}`][{page.module}.{name}] | {_kind(_export(module, name))} | this page |")
            out.append("")
        for name in page.rendered:
            out += [*_directive(f"{page.module}.{name}", heading_level=2, members=None), ""]
    else:
        out += [*_directive(page.module, heading_level=2, members=page.rendered), ""]
        if page.linked:  # names this module lists but that live elsewhere
            out += ["## Also listed here", "", "| name | kind | documented in |", "|---|---|---|"]
            out += [f"| [`{e.name}`][{e.home}] | {e.kind} | `{e.home.rsplit('.', 1)[0]}` |" for e in page.linked]
            out.append("")
    return "\n".join(out)


def index_markdown(ref: Reference) -> str:
    """The reference's front page: every public module with the first line of its docstring."""
    out = [
        "# API reference",
        "",
        "Generated from the code at every build: one page per public module, each public name documented once, "
        "on the page of the module that defines it, and linked from every package that re-exports it.",
        "",
    ]
    for top in sorted(m for m in ref.pages if "." not in m):
        out += [f"## `{top}`", "", "| module | summary |", "|---|---|"]
        for name in sorted(m for m in ref.pages if m == top or m.startswith(top + ".")):
            mod = importlib.import_module(name)
            first = (inspect.getdoc(mod) or "").strip().splitlines()
            summary = first[0] if first else ""
            summary = summary.replace("|", "\\|")
            out.append(f"| [`{name}`]({_relative(f'{ROOT}/index.md', ref.pages[name].path)}) | {summary} |")
        out.append("")
    return "\n".join(out)
