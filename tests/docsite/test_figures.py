"""Every figure the docs show is written by a recipe of `make figures`: no hand copies."""

import re
from pathlib import Path

from docsite import figures

ROOT = Path(__file__).resolve().parents[2]


def _shown_images():
    """(page, image path relative to the repository root) for every image a docs page shows."""
    for page in sorted((ROOT / "docs").rglob("*.md")):
        for m in re.finditer(r"!\[[^\]]*\]\(([^)\s]+)\)", page.read_text()):
            target = m.group(1)
            if "://" in target:
                continue
            yield page.relative_to(ROOT).as_posix(), (page.parent / target).resolve().relative_to(ROOT).as_posix()


def test_every_shown_figure_has_a_recipe():
    made = figures.outputs()
    orphans = [f"{page} shows {img}" for page, img in _shown_images() if img not in made]
    assert not orphans, "figures not written by any recipe of docsite/figures.py:\n" + "\n".join(orphans)


def test_every_image_in_the_docs_tree_is_a_recipe_output():
    made = figures.outputs()
    stray = [
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / "docs").rglob("*.png")
        if p.relative_to(ROOT).as_posix() not in made
    ]
    assert not stray, f"images in docs/ that no recipe writes (hand copies?): {stray}"


def test_recipes_name_their_size_and_how():
    for r in figures.RECIPES:
        assert r.outputs, r.name
        assert r.size, r.name
        assert (r.command is None) != (r.draw is None), r.name
