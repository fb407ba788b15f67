"""`make docs-check` fails on what a reader would see: raw math, broken images and links, console errors, loads
from another host. Checked on a two-page site built here, in the real browser (skipped where Chromium is absent)."""

import shutil
from pathlib import Path

import pytest

from docsite import check

pytestmark = pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian's chromium is not installed")

GOOD = """<!doctype html><html><head><title>good</title></head><body>
<p>Typeset: <span class="arithmatex"><span class="katex">x</span></span>; code keeps <code>\\(a\\)</code>.</p>
<img src="dot.png" alt="dot"><a href="bad.html#here">there</a><a href="https://example.org/">away</a>
</body></html>"""

BAD = """<!doctype html><html><head><title>bad</title>
<script src="https://cdn.example.com/x.js"></script></head><body id="here">
<p>Raw \\(G = \\pi\\) and $$x$$ left.</p><span class="arithmatex">\\(y\\)</span>
<img src="missing.png" alt="gone"><a href="nowhere.html">dead</a><a href="index.html#nope">no anchor</a>
<script>console.error("boom"); undefinedFunction();</script>
</body></html>"""

# a 1×1 PNG
DOT = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


def test_a_clean_page_passes_and_every_fault_is_reported(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text(GOOD)
    (site / "bad.html").write_text(BAD)
    (site / "dot.png").write_bytes(DOT)
    results = {Path(r.url).name: r for r in check.run_check(site, tmp_path / "screens")}
    assert results["index.html"].problems == []
    problems = "\n".join(results["bad.html"].problems)
    for expected in (
        "raw math left",
        "$$",
        "formula not typeset",
        "broken image: missing.png",
        "broken link: /nowhere.html",
        "broken anchor: /index.html#nope",
        "console error: boom",
        "uncaught exception",
        "request to another host: https://cdn.example.com/x.js",
    ):
        assert expected in problems, f"{expected!r} not reported in:\n{problems}"
    assert (tmp_path / "screens" / "index.png").stat().st_size > 0
    assert (tmp_path / "screens" / "bad.png").stat().st_size > 0


def test_no_site_is_a_clear_error(tmp_path):
    with pytest.raises(check.CheckError, match="make docs"):
        check.run_check(tmp_path, None)
