"""The documentation site, built strictly once for this module: every public name has its reference entry, math
is marked up for KaTeX served from the site itself, and nothing is loaded from another host."""

import importlib
import re
from pathlib import Path

import pytest

from docsite import reference
from docsite.includes import PAGES

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    if not (ROOT / "node_modules" / "katex" / "dist" / "katex.min.js").is_file():
        pytest.skip("KaTeX is not installed: run `npm ci` (make test and make docs do)")
    from mkdocs.commands.build import build
    from mkdocs.config import load_config

    out = tmp_path_factory.mktemp("site")
    includes = tmp_path_factory.mktemp("includes")
    (includes / "verify").mkdir()
    for page in PAGES:  # the verification rows are computed by `make docs`; here their place is held
        (includes / "verify" / f"{page}.md").write_text(f"| theorem |\n|---|\n| rows of {page} |\n")
    cfg = load_config(str(ROOT / "mkdocs.yml"), site_dir=str(out), strict=True)
    cfg["mdx_configs"]["pymdownx.snippets"]["base_path"] = [str(includes)]
    build(cfg)
    return out


def _html(site: Path, page: str) -> str:
    return (site / page.removesuffix(".md").removesuffix("index").rstrip("/") / "index.html").read_text()


def _public_listings():
    """(module, name) for every name in the `__all__` of every public module of the packages, found
    independently of docsite.reference's layout."""
    for package in reference.PACKAGES:
        for modname in reference.public_modules(package):
            mod = importlib.import_module(modname)
            if mod.__name__ != modname:  # an old path aliasing a moved module: documented under its real name
                continue
            for name in getattr(mod, "__all__", ()):
                yield modname, name


def test_every_public_name_has_a_reference_entry(site):
    ref = reference.build_reference()
    entries = {(e.module, e.name): e for e in ref.entries}
    missing = []
    for modname, name in _public_listings():
        e = entries.get((modname, name))
        if e is None:
            missing.append(f"{modname}.{name}: no entry")
            continue
        if f'id="{e.home}"' not in _html(site, e.home_page):
            missing.append(f"{modname}.{name}: no rendered entry {e.home} on {e.home_page}")
        if e.home != f"{modname}.{name}":  # a re-export: the listing page links to the entry
            page = _html(site, ref.pages[modname].path)
            if not re.search(rf'href="[^"]*#{re.escape(e.home)}"', page):
                missing.append(f"{modname}.{name}: {ref.pages[modname].path} does not link to {e.home}")
    assert not missing, "\n".join(missing)


def test_one_reference_page_per_public_module(site):
    for package in reference.PACKAGES:
        for modname in reference.public_modules(package):
            if importlib.import_module(modname).__name__ != modname:
                continue
            page = reference.build_reference().pages[modname].path
            assert f'id="{modname}"' in _html(site, page), modname


#: URLs in the theme's JavaScript bundle that it fetches only for a feature this site does not use: the
#: ResizeObserver polyfill (for browsers without ResizeObserver) and mermaid (for ```mermaid diagrams, which no
#: page has). `make docs-check` checks in Chromium that no page asks another host for anything.
THEME_FALLBACKS = ("https://unpkg.com/resize-observer-polyfill", "https://unpkg.com/mermaid@11/dist/mermaid.min.js")


def test_no_page_loads_from_another_host(site):
    offenders = []
    for page in (ROOT / "docs").rglob("*.md"):
        assert "```mermaid" not in page.read_text(), f"{page}: a mermaid diagram would load mermaid from a CDN"
    for f in site.rglob("*"):
        if f.suffix not in {".html", ".css", ".js"} or "search" in f.parts:
            continue
        text = f.read_text(errors="replace")
        if f.suffix == ".js" and f.name.startswith("bundle."):
            for url in THEME_FALLBACKS:
                text = text.replace(url, "")
        if f.suffix == ".html":
            for m in re.finditer(
                r"<(?:script|link|img|iframe|source)\b[^>]*\b(?:src|href)=\"((?:https?:)?//[^\"]+)\"", text
            ):
                offenders.append(f"{f.relative_to(site)}: {m.group(1)}")
        for host in ("cdn.jsdelivr", "unpkg.com", "cdnjs", "fonts.googleapis", "fonts.gstatic", "mathjax.org"):
            if host in text:
                offenders.append(f"{f.relative_to(site)}: mentions {host}")
    assert not offenders, "\n".join(offenders[:20])


def test_katex_is_served_from_the_site_and_math_is_marked_up(site):
    assert (site / "assets" / "katex" / "katex.min.js").is_file()
    assert (site / "assets" / "katex" / "katex.min.css").is_file()
    assert any((site / "assets" / "katex" / "fonts").glob("KaTeX_Main-Regular.woff2"))
    page = _html(site, "theorem3.md")
    assert 'src="../assets/katex/katex.min.js"' in page
    assert 'src="../javascripts/katex-init.js"' in page
    assert page.count('class="arithmatex"') > 10
    # math from a docstring (the module's statement) goes through the same path
    assert 'class="arithmatex"' in _html(site, reference.build_reference().pages["mlitheory.geometry"].path)
