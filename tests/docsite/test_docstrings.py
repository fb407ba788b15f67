"""Docstrings are written in the Markdown the site renders (Google sections, `$…$` math): no reST markup left.
And the converter that turned the reST markup into it does what it says."""

import ast
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "docsite" / "dev"))
import convert_docstrings as conv  # noqa: E402

PACKAGES = ("mlitheory", "empirical", "proofs_check")
REST = re.compile(
    r":(?:py:)?(?:func|class|mod|math|meth|attr|data|obj|exc|ref|term|doc):`"  # roles
    r"|^\s*\.\. [a-z-]+::"  # directives
    r"|^\s*=+( +=+)+\s*$",  # simple-table borders
    re.M,
)


def _docstrings():
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text())
            for node in conv.docstring_nodes(tree):
                yield path.relative_to(ROOT).as_posix(), node.lineno, node.value


def test_no_docstring_holds_rest_markup():
    left = [f"{p}:{line}: {m.group(0).strip()}" for p, line, text in _docstrings() for m in REST.finditer(text)]
    assert not left, (
        "reST markup in docstrings (run `python docsite/dev/convert_docstrings.py`, or write Markdown):\n"
        + "\n".join(left[:30])
    )


def _convert(text: str) -> str:
    return conv.convert_docstring(text, "mlitheory.geometry", None)


def test_math_role_and_block():
    out = _convert('"""Let :math:`x^2` be.\n\n.. math::\n\n    a = b\n\nDone."""')
    assert "$x^2$" in out
    assert "\n$$\na = b\n$$\n" in out


def test_math_block_in_a_list_item_is_nested_four_spaces_in():
    out = _convert('"""Items:\n\n* first, so\n\n  .. math::  G \\\\le 1,\n\n  since."""')
    assert "\n    $$\n    G \\\\le 1,\n    $$\n" in out


def test_multiline_alignment_gets_an_environment_in_the_source_escaping():
    raw = _convert('r"""X.\n\n.. math::\n\n    &a = 1,\\\\\n    &b = 2.\n"""')
    assert "\\begin{aligned}" in raw and "\\\\begin" not in raw
    plain = _convert('"""X.\n\n.. math::\n\n    &a = 1,\\\\\\\\\n    &b = 2.\n"""')
    assert "\\\\begin{aligned}" in plain  # a backslash is doubled in a non-raw string


def test_literal_block_table_and_example_section():
    out = _convert('"""Files::\n\n    a.json   one\n    b.json   two\n\nExample:\n    >>> 1\n    1\n"""')
    assert "Files:\n\n```text\na.json   one\nb.json   two\n```" in out
    assert "Examples:" in out
    table = _convert('"""T.\n\n===  =====\nx    what\n===  =====\na    one\nb    two\n===  =====\n"""')
    assert "| x | what |\n|---|---|\n| a | one |\n| b | two |" in table


def test_cross_reference_without_resolver_is_code():
    assert (
        _convert('""":func:`~mlitheory.geometry.gauss_length` and :class:`Foo`."""')
        == '"""`gauss_length` and `Foo`."""'
    )


def test_long_lines_are_wrapped_within_the_paragraph():
    long = "word " * 40
    out = _convert(f'"""{long.strip()}\n    next line."""')
    assert all(len(line) <= conv.LINE_LENGTH for line in out.split("\n"))


@pytest.mark.parametrize("path", ["mlitheory/geometry.py", "empirical/runs.py"])
def test_conversion_is_idempotent_on_the_sources(path):
    src = ROOT / path
    once = conv.convert_file(src, None)
    tmp = src.with_name(src.stem + "_idempotence_check.tmp")
    try:
        tmp.write_text(once)
        assert conv.convert_file(tmp, None) == once
    finally:
        tmp.unlink(missing_ok=True)
