"""The README's and the docs' Python examples run, and the library's docstring examples hold (doctest)."""

import doctest
import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import mlitheory

ROOT = Path(__file__).resolve().parents[1]
FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _blocks(path):
    text = path.read_text()
    return [m.group(1) for m in re.finditer(r"```python\n(.*?)```", text, flags=re.S)]


CASES = [(p, i, code) for p in FILES for i, code in enumerate(_blocks(p))]


@pytest.mark.parametrize("path,index,code", CASES, ids=[f"{p.name}#{i}" for p, i, _ in CASES])
def test_markdown_python_blocks_run(path, index, code, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    exec(compile(code, f"{path.name}#{index}", "exec"), {"__name__": "__doc_example__"})


MODULES = sorted(
    m.name for m in pkgutil.walk_packages(mlitheory.__path__, "mlitheory.") if not m.name.endswith("__main__")
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    failures, _ = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert failures == 0
