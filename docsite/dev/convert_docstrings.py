"""Convert the docstrings of the packages from reST markup to the Markdown that the docs site renders.

    python docsite/dev/convert_docstrings.py [--check] [PATH ...]     # default: mlitheory empirical proofs_check

Re-runnable: a converted file has nothing left to convert, so a second run changes nothing. Only docstrings are
touched (every bare string statement: module, class, function and attribute docstrings), located with `ast`,
and edited in the source text, so escapes (`\\theta` in a non-raw string) stay as written. With `--check` it
changes nothing and exits 1 if some file would change.

What becomes what:

| reST | Markdown |
|---|---|
| `:math:` role with formula X | `$X$` (pymdownx.arithmatex, typeset by KaTeX) |
| `.. math::` block | a `$$ … $$` block at the directive's indentation |
| `:func:`, `:class:`, `:mod:`, `:meth:`, `:attr:`, `:data:`, `:obj:`, `:exc:` | a cross-reference (see below) |
| `text::` + indented literal block | `text:` + a fenced code block |
| simple table (`====  ====` borders) | a Markdown table |
| `Example:` section | `Examples:` (the Google section that renders `>>>` lines as code) |

A cross-reference becomes `` [`name`][path] ``, a link to the entry's reference page, when the target is a
documented public name, else plain code `` `name` ``; a `~` prefix shows the last component only.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_PATHS = ("mlitheory", "empirical", "proofs_check")

XREF_ROLES = ("func", "class", "mod", "meth", "attr", "data", "obj", "exc")
ROLE = re.compile(r":(?:py:)?(" + "|".join(XREF_ROLES) + r"):`([^`]+)`")
MATH_ROLE = re.compile(r":math:`([^`]*)`")
DIRECTIVE = re.compile(r"^(\s*)\.\. math::(.*)$")
MAP_LINE = re.compile(r"^(\s+)(\S.*?)\s+--\s+(.*)$")
TABLE_BORDER = re.compile(r"^\s*=+(\s+=+)+\s*$")


# --- cross-reference targets ------------------------------------------------------------------------------


class Resolver:
    """Maps a reST cross-reference, seen from a module, to the anchor of its entry in the API reference."""

    def __init__(self) -> None:
        sys.path.insert(0, str(ROOT))
        from docsite import reference

        self.ref = reference.build_reference()
        self.homes: dict[tuple, str] = {}  # identity of an object → its anchor
        for e in self.ref.entries:
            obj = reference._export(importlib.import_module(e.module), e.name)
            self.homes.setdefault(reference._identity(obj, e.module, e.name), e.home)
            self.homes.setdefault(("path", f"{e.module}.{e.name}"), e.home)
        self.modules = set(self.ref.pages)

    def _lookup(self, dotted: str, context: str):
        """The object a dotted name means in `context` (a module name), or None."""
        candidates = [dotted]
        parts = context.split(".")
        candidates += [".".join([*parts[:i], dotted]) for i in range(len(parts), 0, -1)]
        for cand in candidates:
            pieces = cand.split(".")
            for cut in range(len(pieces), 0, -1):
                modname = ".".join(pieces[:cut])
                try:
                    obj = importlib.import_module(modname)
                except Exception:
                    continue
                try:
                    for attr in pieces[cut:]:
                        obj = getattr(obj, attr)
                except AttributeError:
                    break
                return cand, obj
        return None, None

    def anchor(self, target: str, context: str) -> str | None:
        from docsite import reference

        name, obj = self._lookup(target, context)
        if obj is None:
            return None
        if isinstance(obj, type(sys)):
            return obj.__name__ if obj.__name__ in self.modules else None
        if ("path", name) in self.homes:
            return self.homes[("path", name)]
        key = reference._identity(obj, "", "")
        if key[0] == "object" and key in self.homes:
            return self.homes[key]
        # A method or attribute of a documented class: the class's anchor plus the member's name.
        head, _, member = name.rpartition(".")
        _, owner = self._lookup(head, context) if head else (None, None)
        if isinstance(owner, type):
            owner_key = reference._identity(owner, "", "")
            if owner_key in self.homes:
                return f"{self.homes[owner_key]}.{member}"
        return None


# --- text transformations -----------------------------------------------------------------------------------


def convert_roles(text: str, context: str, resolver: Resolver | None) -> str:
    text = MATH_ROLE.sub(lambda m: f"${m.group(1).strip()}$", text)

    def xref(m: re.Match) -> str:
        target = m.group(2).strip()
        short = target.startswith("~")
        target = target.lstrip("~")
        shown = target.rsplit(".", 1)[-1] if short else target
        anchor = resolver.anchor(target, context) if resolver is not None else None
        return f"[`{shown}`][{anchor}]" if anchor else f"`{shown}`"

    return ROLE.sub(xref, text)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def convert_blocks(lines: list[str], bs: str = "\\") -> list[str]:
    """`.. math::` blocks, literal blocks and simple tables, line by line."""
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        m = DIRECTIVE.match(line)
        if m or (line.rstrip().endswith("::") and not line.lstrip().startswith("..") and line.strip() != "::"):
            base = m.group(1) if m else line[: _indent(line)]
            j = i + 1
            body: list[str] = []
            while j < len(lines) and (not lines[j].strip() or _indent(lines[j]) > len(base)):
                body.append(lines[j])
                j += 1
            while body and not body[-1].strip():
                body.pop()
                j -= 1
            content = list(body)
            while content and not content[0].strip():
                content.pop(0)
            inner = min((_indent(b) for b in content if b.strip()), default=0)
            dedented = [(base + b[inner:]) if b.strip() else "" for b in content]
            if m and m.group(2).strip():  # ".. math::  formula" on the directive's own line
                dedented.insert(0, base + m.group(2).strip())
            nested = _list_item_indent(out, len(base))
            if nested is not None:  # inside a list item: Markdown nests blocks four spaces in
                shift = " " * (nested + 4 - len(base))
                base = " " * (nested + 4)
                dedented = [shift + d if d else d for d in dedented]
            if m:
                dedented = _environment(dedented, base, bs)
                if out and out[-1].strip():
                    out.append("")
                out += [base + "$$", *dedented, base + "$$"]
            else:
                out.append(line.rstrip()[:-1])  # "text::" → "text:"
                out += ["", base + "```text", *dedented, base + "```"]
            i = j
            continue
        if TABLE_BORDER.match(line):
            j, table = _simple_table(lines, i)
            if table is not None:
                out += table
                i = j
                continue
        if line.strip() and i + 1 < len(lines) and MAP_LINE.match(lines[i + 1]):
            j, items = _map_block(lines, i)
            if items is not None:
                if out and out[-1].strip():
                    out.append("")
                out += items
                i = j
                continue
        if re.fullmatch(r"\s*Example:\s*", line):
            out.append(line.replace("Example:", "Examples:"))
            i += 1
            continue
        out.append(line)
        i += 1
    return out


def _environment(lines: list[str], base: str, bs: str) -> list[str]:
    """Sphinx wraps a multi-line `.. math::` in an alignment environment; KaTeX needs it written out.
    `bs` is a backslash as the source writes it (doubled in a non-raw string)."""
    body = "\n".join(lines)
    if "begin{" in body:
        return lines
    if re.search(r"(?<!\\)&", body):
        return [base + bs + "begin{aligned}", *lines, base + bs + "end{aligned}"]
    if re.search(re.escape(bs * 2) + r"\s*$", body, flags=re.M):
        return [base + bs + "begin{gathered}", *lines, base + bs + "end{gathered}"]
    return lines


LIST_ITEM = re.compile(r"^(\s*)([*+-]|\d+\.)\s")


def _list_item_indent(previous: list[str], indent: int) -> int | None:
    """If a block indented by `indent` continues a list item less than four spaces out, the item's indent."""
    for line in reversed(previous):
        if not line.strip() or _indent(line) >= indent:
            continue
        m = LIST_ITEM.match(line)
        return _indent(line) if m and indent - _indent(line) < 4 else None
    return None


def _map_block(lines: list[str], start: int) -> tuple[int, list[str] | None]:
    """A heading line followed by indented `name -- what` lines (the package docstring's map): a heading
    paragraph and a Markdown list, `(index after it, lines)`; `None` unless every indented line has that shape."""
    head = lines[start]
    base = head[: _indent(head)]
    j = start + 1
    items = []
    while j < len(lines) and lines[j].strip() and _indent(lines[j]) > len(base):
        m = MAP_LINE.match(lines[j])
        if m is None:
            return start, None
        items.append(f"{base}- `{m.group(2).strip()}` — {m.group(3).strip()}")
        j += 1
    if j < len(lines) and lines[j].strip() and not lines[j].strip().startswith('"""'):
        items.append("")  # the next paragraph
    return j, [head.rstrip() + ("" if head.rstrip().endswith(":") else ":"), "", *items]


def _simple_table(lines: list[str], start: int) -> tuple[int, list[str] | None]:
    """A reST simple table starting at the border line `start`: (index after it, Markdown lines)."""
    border = lines[start]
    base = border[: _indent(border)]
    spans = [(m.start(), m.end()) for m in re.finditer(r"=+", border)]
    borders = [start]
    j = start + 1
    while j < len(lines) and lines[j].strip() and len(borders) < 3:
        if TABLE_BORDER.match(lines[j]):
            borders.append(j)
        j += 1
    if len(borders) < 3:
        return start, None

    def cells(row: str) -> list[str]:
        out = []
        for k, (a, _) in enumerate(spans):
            b = spans[k + 1][0] if k + 1 < len(spans) else len(row)
            out.append(row[a:b].strip())
        return out

    def rows(first: int, last: int) -> list[list[str]]:
        got: list[list[str]] = []
        for row in lines[first:last]:
            c = cells(row)
            if got and not c[0]:  # continuation line of the previous row
                got[-1] = [f"{p} {q}".strip() for p, q in zip(got[-1], c)]
            else:
                got.append(c)
        return got

    esc = lambda s: s.replace("|", "\\|")
    head = rows(borders[0] + 1, borders[1])
    body = rows(borders[1] + 1, borders[2])
    md = [base + "| " + " | ".join(esc(c) for c in head[0]) + " |", base + "|" + "---|" * len(spans)]
    md += [base + "| " + " | ".join(esc(c) for c in r) + " |" for r in body]
    if max(len(x) for x in md) > LINE_LENGTH:  # too wide for the source: a list, one item per row
        md = [base + f"- `{r[0]}` — " + "; ".join(c for c in r[1:] if c) for r in body]
    return borders[2] + 1, md


def convert_docstring(source: str, context: str, resolver: Resolver | None, column: int = 0) -> str:
    """The source text of one string literal (quotes and prefix included) that starts at `column`, converted."""
    lines = (" " * column + source).split("\n")
    raw = "r" in source[: source.index(source.lstrip("rRbBuUfF")[0])].lower()
    lines = convert_blocks(lines, "\\" if raw else "\\\\")
    text = convert_roles("\n".join(lines), context, resolver)
    return "\n".join(wrap_long_lines(text.split("\n")))[column:]


LINE_LENGTH = 120  # the project's ruff line length
SECTION = re.compile(r"^\s*(Args|Arguments|Parameters|Attributes|Returns|Yields|Raises|Warns|Other Parameters):\s*$")
ITEM = re.compile(r"^\s+[\w*][\w*, .]*(\s\([^)]*\))?:\s")
QUOTES = ('"""', "'''")


def _break_at(line: str, limit: int) -> int | None:
    """The last space before `limit` outside code spans, math and link brackets (None if there is none)."""
    best = None
    depth, code, math = 0, False, False
    first = len(line) - len(line.lstrip())
    for k, ch in enumerate(line):
        if k > limit:
            break
        if ch == "`":
            code = not code
        elif not code and ch == "$":
            math = not math
        elif not code and not math and ch == "[":
            depth += 1
        elif not code and not math and ch == "]":
            depth = max(depth - 1, 0)
        elif ch == " " and k > first + 2 and not code and not math and depth == 0 and line[k - 1] != " ":
            best = k
    return best


def wrap_long_lines(lines: list[str]) -> list[str]:
    """Break prose lines longer than the line length (the conversion lengthens cross-references), keeping
    Markdown and Google-style structure: a paragraph continues at its own indentation, a list item two
    spaces in, a section item's description four spaces in. Code and math blocks are left alone."""
    out: list[str] = []
    fence = False
    section_indent: int | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if stripped.startswith("```") or stripped == "$$":
            fence = not fence
        if SECTION.match(line):
            section_indent = _indent(line)
        elif stripped and section_indent is not None and _indent(line) <= section_indent:
            section_indent = None
        if fence or len(line) <= LINE_LENGTH or stripped.startswith("|"):
            out.append(line)
            i += 1
            continue
        cut = _break_at(line, LINE_LENGTH)
        if cut is None:
            out.append(line)
            i += 1
            continue
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        ind = _indent(line)
        if stripped.startswith("- "):
            cont = ind + 2
        elif section_indent is not None and ind > section_indent and ITEM.match(line):
            cont = ind + 4
        elif nxt.strip() and _indent(nxt) >= ind and not nxt.strip().startswith(("- ", *QUOTES)):
            cont = _indent(nxt)
        else:
            cont = ind
        out.append(line[:cut])
        rest = " " * cont + line[cut + 1 :]
        joinable = (
            nxt.strip()
            and _indent(nxt) == cont
            and not nxt.strip().startswith(("- ", "|", "```", "$$", ">>>", *QUOTES))
            and not SECTION.match(nxt)
            and not (section_indent is not None and ITEM.match(nxt) and cont <= section_indent + 4)
            and not nxt.rstrip().endswith(QUOTES)
        )
        if joinable:  # reflow: the rest goes in front of the paragraph's next line
            lines = [*lines[: i + 1], rest + " " + nxt.strip(), *lines[i + 2 :]]
        else:
            lines = [*lines[: i + 1], rest, *lines[i + 1 :]]
        i += 1
    return out


# --- files --------------------------------------------------------------------------------------------------


def _module_name(path: Path) -> str:
    rel = path.resolve().relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def docstring_nodes(tree: ast.AST) -> list[ast.Constant]:
    """Every bare string statement: the docstrings of modules, classes, functions and attributes."""
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
    ]


def convert_file(path: Path, resolver: Resolver | None) -> str:
    text = path.read_text()
    tree = ast.parse(text)
    starts = [0]
    for line in text.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    context = _module_name(path)
    edits = []
    lines = text.splitlines(keepends=True)
    for node in docstring_nodes(tree):
        # ast's column offsets count UTF-8 bytes
        a = starts[node.lineno - 1] + _chars(lines[node.lineno - 1], node.col_offset)
        b = starts[node.end_lineno - 1] + _chars(lines[node.end_lineno - 1], node.end_col_offset)
        old = text[a:b]
        new = convert_docstring(old, context, resolver, column=a - starts[node.lineno - 1])
        if new != old:
            edits.append((a, b, new))
    for a, b, new in sorted(edits, reverse=True):
        text = text[:a] + new + text[b:]
    # Sphinx-style attribute comments ("#: ..."), for the same reading everywhere
    converted = [convert_roles(x, context, None) if x.lstrip().startswith("#:") else x for x in text.split("\n")]
    if converted != text.split("\n"):
        edits.append(None)
        text = "\n".join(converted)
    if edits:
        ast.parse(text)  # still valid Python
    return text


def _chars(line: str, byte_offset: int) -> int:
    return len(line.encode()[:byte_offset].decode())


def _format(files: list[Path]) -> None:
    """`ruff format` the converted files (it normalises docstring indentation), when ruff is at hand."""
    import shutil
    import subprocess

    ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    if Path(ruff).exists():
        subprocess.run([ruff, "format", "-q", *map(str, files)], check=False)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("paths", nargs="*", type=Path, help="files or folders (default: the three packages)")
    p.add_argument("--check", action="store_true", help="change nothing; exit 1 if a file would change")
    p.add_argument("--no-xref", action="store_true", help="render every cross-reference as plain code")
    args = p.parse_args(argv)
    paths = args.paths or [ROOT / d for d in DEFAULT_PATHS]
    files = sorted({f for path in paths for f in (path.rglob("*.py") if path.is_dir() else [path])})
    resolver = None if args.no_xref else Resolver()
    changed = []
    for f in files:
        new = convert_file(f, resolver)
        if new != f.read_text():
            changed.append(f)
            if not args.check:
                f.write_text(new)
    if changed and not args.check:
        _format(changed)
    for f in changed:
        print(("would convert " if args.check else "converted ") + str(f.relative_to(ROOT)))
    print(f"{len(changed)} of {len(files)} files {'to convert' if args.check else 'converted'}")
    return 1 if (args.check and changed) else 0


if __name__ == "__main__":
    sys.exit(main())
