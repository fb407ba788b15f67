"""Result objects round-trip through .npz + .json and never overwrite silently."""

import math
from dataclasses import dataclass

import numpy as np
import pytest
import torch

from mlitheory.geometry import gauss_length
from mlitheory.results import Result


@dataclass(frozen=True)
class Inner(Result):
    x: float
    arr: np.ndarray


@dataclass(frozen=True)
class Outer(Result):
    name: str
    t: torch.Tensor
    inner: Inner
    items: list
    pair: tuple
    table: dict
    bad: float


def make():
    return Outer(
        name="demo",
        t=torch.arange(6, dtype=torch.float64).reshape(2, 3),
        inner=Inner(1.5, np.array([1, 2, 3])),
        items=[Inner(2.0, np.zeros(2)), 3, None],
        pair=(1, "a"),
        table={"k": np.ones(3)},
        bad=math.nan,
    )


def test_round_trip(tmp_path):
    r = make()
    r.save(tmp_path / "r")
    s = Outer.load(tmp_path / "r.json")
    assert s.name == "demo" and torch.equal(s.t, r.t) and s.t.dtype == torch.float64
    assert s.inner.x == 1.5 and np.array_equal(s.inner.arr, r.inner.arr)
    assert isinstance(s.items[0], Inner) and s.items[1:] == [3, None]
    assert s.pair == (1, "a") and np.array_equal(s.table["k"], np.ones(3))
    assert math.isnan(s.bad)
    assert "demo" in str(s)


def test_no_silent_overwrite(tmp_path):
    r = make()
    r.save(tmp_path / "r")
    before = (tmp_path / "r.json").read_text()
    with pytest.raises(FileExistsError, match="overwrite=True"):
        Inner(0.0, np.zeros(1)).save(tmp_path / "r")
    assert (tmp_path / "r.json").read_text() == before
    r.save(tmp_path / "r", overwrite=True)


def test_a_stem_with_a_dot_keeps_it_and_touches_no_other_file(tmp_path):
    (tmp_path / "r.json").write_text("not a result: must stay as it is")
    r = make()
    assert r.save(tmp_path / "r.v2") == tmp_path / "r.v2.json"
    assert (tmp_path / "r.v2.npz").is_file() and (tmp_path / "r.json").read_text() == "not a result: must stay as it is"
    assert Outer.load(tmp_path / "r.v2").name == "demo" and Outer.load(tmp_path / "r.v2.json").name == "demo"
    with pytest.raises(FileNotFoundError, match=r"r\.v3\.json"):
        Outer.load(tmp_path / "r.v3")


def test_load_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        Outer.load(tmp_path / "missing")
    (tmp_path / "c.json").write_text("{not json")
    with pytest.raises(ValueError, match="corrupt"):
        Outer.load(tmp_path / "c")
    Inner(1.0, np.zeros(1)).save(tmp_path / "i")
    with pytest.raises(TypeError, match="not a Outer"):
        Outer.load(tmp_path / "i")


def test_library_result_round_trip(tmp_path):
    r = gauss_length(lambda t: torch.stack([torch.cos(t), torch.sin(t)]))
    r.save(tmp_path / "g")
    s = type(r).load(tmp_path / "g")
    assert s.value == r.value and np.array_equal(s.nodes, r.nodes)
