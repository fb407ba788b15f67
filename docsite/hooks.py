"""MkDocs hook: the generated API reference, KaTeX served from the site itself, and the generated includes.

Registered in `mkdocs.yml` under `hooks:`. At every build (and every `mkdocs serve` reload) it

- imports the packages from this checkout (the repository root goes first on `sys.path`) and adds one
  reference page per public module (`docsite.reference`), with an "API reference" section in the navigation;
- adds KaTeX's script, style sheet, auto-render extension and fonts from `node_modules/katex/dist` (installed by
  `npm ci` from the committed `package-lock.json`) under `assets/katex/`, so no page loads anything from
  another host.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
elif sys.path[0] != str(ROOT):
    sys.path.remove(str(ROOT))
    sys.path.insert(0, str(ROOT))

from mkdocs.structure.files import File  # noqa: E402

from docsite import reference  # noqa: E402

KATEX_DIST = ROOT / "node_modules" / "katex" / "dist"
KATEX_URL = "assets/katex"
#: The KaTeX files the pages load, relative to `KATEX_DIST` (fonts are added as a folder).
KATEX_FILES = ("katex.min.js", "katex.min.css")

_REFERENCE: reference.Reference | None = None


def _reference() -> reference.Reference:
    global _REFERENCE
    if _REFERENCE is None:
        _REFERENCE = reference.build_reference()
    return _REFERENCE


def on_config(config):
    missing = [f for f in KATEX_FILES if not (KATEX_DIST / f).is_file()]
    if missing:
        raise SystemExit(
            f"KaTeX is not installed ({', '.join(missing)} missing under node_modules/katex/dist): "
            "run `npm ci` in the repository root (or `make docs`, which does)"
        )
    config.extra_css.insert(0, f"{KATEX_URL}/katex.min.css")
    config.extra_javascript.insert(0, f"{KATEX_URL}/katex.min.js")
    global _REFERENCE
    _REFERENCE = None  # re-read the packages at every build (mkdocs serve reloads)
    if config.nav is not None:
        config.nav.extend(_reference().nav())
    return config


def on_files(files, config):
    ref = _reference()
    files.append(File.generated(config, f"{reference.ROOT}/index.md", content=reference.index_markdown(ref)))
    for page in ref.pages.values():
        files.append(File.generated(config, page.path, content=page.markdown))
    for name in KATEX_FILES:
        files.append(File.generated(config, f"{KATEX_URL}/{name}", abs_src_path=str(KATEX_DIST / name)))
    for font in sorted((KATEX_DIST / "fonts").iterdir()):
        files.append(File.generated(config, f"{KATEX_URL}/fonts/{font.name}", abs_src_path=str(font)))
    return files
