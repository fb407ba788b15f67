"""Symbolic (SymPy) checks of the proof steps behind the theorems that ``mlitheory`` verifies numerically.

Each module here holds the steps of one theorem family and exposes ``checks() -> list[Check]``; the modules
are listed in `MODULES`. ``python -m proofs_check`` runs them all and prints a table (step, status).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

__all__ = ["MODULES", "Check", "run_all"]

#: modules holding proof steps, in the order the table shows them
MODULES: list[str] = [
    "proofs_check.gauss_length",
    "proofs_check.bias_plateau",
    "proofs_check.two_layer_linear",
    "proofs_check.wide_networks",
    "proofs_check.piecewise_paths",
]


@dataclass(frozen=True)
class Check:
    """One proof step checked symbolically.

    Attributes:
        family: the theorem family (e.g. ``"Theorem 3 (Gauss length)"``).
        step: the statement of the step, in words or a formula.
        holds: whether SymPy confirmed it (a simplification to zero, an identity, a sign).
        detail: how it was confirmed, or the residual when it was not.
    """

    family: str
    step: str
    holds: bool
    detail: str = ""


def run_all() -> list[Check]:
    """Run the checks of every module in `MODULES`."""
    out: list[Check] = []
    for name in MODULES:
        out.extend(importlib.import_module(name).checks())
    return out
