"""Rows of ``python -m mlitheory verify`` for Theorem 3 (built with `mlitheory._rows`)."""

from __future__ import annotations

import math

import numpy as np
import torch

from mlitheory._rows import check_row, demonstration_row
from mlitheory.curves import Curve, circular_arc, random_bezier_curve, random_polynomial_curve, reversal_curve
from mlitheory.theorem3.check import check_theorem3, projective_gauss_length, smoothed_turn


def _random_instances(count: int, g: np.random.Generator) -> list[Curve]:
    """Random Bézier and polynomial curves ending at z*, dimensions 2–50, bends spread across G ≈ π/2."""
    out = []
    for i in range(count):
        dim = int(g.integers(2, 51))
        degree = int(g.integers(3, 7))
        if i % 2 == 0:
            out.append(random_bezier_curve(dim, degree=degree, bend=float(g.uniform(0, 0.6)) / degree, seed=g))
        else:
            out.append(random_polynomial_curve(dim, degree=degree, scale=float(g.uniform(0, 0.9)), seed=g))
    return out


def verify_family(*, quick: bool, seed: int) -> list:
    """Rows of ``python -m mlitheory verify`` for Theorem 3.

    (a) random Bézier/polynomial curves in ℝ², …, ℝ⁵⁰: where G < π/2 (decided beyond the quadrature error), L must
    be strictly decreasing and the bound hold; worst margin = min over α of ⟨T, z* − z⟩/ℓ (≥ cos G > 0).
    (b) the tightness construction for δ ∈ (0, 0.3]: G = π/2 + δ, L′(0) > 0 (conclusion expected to fail).
    (c) the reversal: spherical G = π, projective length 0, not monotone (expected to fail).
    (d) the converse fails: arcs of angle φ ∈ [π/2, π] are monotone with G ≥ π/2.
    (e) the bound ‖z* − z(α)‖ ≥ cos(min(G_α, π))·ℓ(α) and the bound on L′ on every curve of (a)–(d); worst
    margin = min over curves of bound_margin/ℓ(0).

    Args:
        quick: a few instances per row (a few seconds) instead of the full set (about 15 s of CPU).
        seed: seed of the random instances.

    Returns:
        A list of [`mlitheory.verify.FamilyReport`][mlitheory.verify.FamilyReport] (checks and demonstrations).
    """
    # The curves are tiny (n <= 50): intra-op threads only add overhead, so run single-threaded and restore.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _verify_rows(quick=quick, seed=seed)
    finally:
        torch.set_num_threads(threads)


def _verify_rows(*, quick: bool, seed: int) -> list:
    g_a, g_b, g_c, g_d = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(4))
    n_a, n_b, n_c, n_d = (8, 3, 1, 3) if quick else (60, 12, 3, 9)
    rows, everything = [], []

    res_a = [check_theorem3(c) for c in _random_instances(n_a, g_a)]
    everything += res_a
    gs = [r.gauss_length for r in res_a]
    rows.append(
        check_row(
            "Thm 3: G < π/2 ⇒ L strictly decreasing (random curves, n = 2–50)",
            [r.hypothesis is True for r in res_a],
            [r.monotone is True and r.bound_holds for r in res_a],
            [r.descent_margin for r in res_a],
            slack="G < π/2 only when decided beyond the quadrature error; L′ < 0 beyond its rounding bound",
            note=f"G ∈ [{min(gs):.2f}, {max(gs):.2f}]; margin = min ⟨T, z*−z⟩/ℓ",
        )
    )

    deltas = np.sort(np.concatenate([[0.3, 1e-3], g_b.uniform(1e-3, 0.3, n_b - 2)]))
    res_b = [check_theorem3(smoothed_turn(float(d))) for d in deltas]
    everything += res_b
    excess = max(abs(r.gauss_length - (math.pi / 2 + d)) for r, d in zip(res_b, deltas))
    rise0 = min(float(r.slopes[0]) for r in res_b)
    rows.append(
        demonstration_row(
            "Thm 3 tightness: turn by π/2 + δ, first leg ½ sin δ",
            [r.hypothesis is False and r.monotone is False and r.slopes[0] > 0 for r in res_b],
            expected="G = π/2 + δ fails the hypothesis and L rises at α = 0: no bound above π/2 works",
            note=f"δ ∈ [{deltas[0]:.0e}, 0.3]: G = π/2 + δ ± {excess:.0e}; min L′(0) = {rise0:.1e} > 0",
        )
    )

    dims = [2, 10, 50][:n_c]
    curves_c = [reversal_curve(g_c.standard_normal(d)) for d in dims]
    res_c = [check_theorem3(c) for c in curves_c]
    everything += res_c
    proj = max(projective_gauss_length(c)[0] for c in curves_c)
    sph = max(abs(r.gauss_length - math.pi) for r in res_c)
    rows.append(
        demonstration_row(
            "Thm 3 needs the sphere: reversal (1−α)(1−3α)v",
            [
                r.hypothesis is False and r.monotone is False and projective_gauss_length(c)[0] < 1e-8
                for r, c in zip(res_c, curves_c)
            ],
            expected="projective length ≈ 0 but spherical G = π fails the hypothesis, and L is not monotone",
            note=f"projective length {proj:.0e}, spherical G = π ± {sph:.0e}",
        )
    )

    angles = np.linspace(math.pi / 2, math.pi, n_d)
    res_d = [
        check_theorem3(
            circular_arc(float(a), radius=float(g_d.uniform(0.2, 5)), dim=int(g_d.integers(2, 51)), seed=g_d)
        )
        for a in angles
    ]
    everything += res_d
    rows.append(
        demonstration_row(
            "Thm 3 converse fails: arcs of angle π/2–π",
            [r.hypothesis is not True and r.monotone is True for r in res_d],
            expected="G ≥ π/2 (hypothesis not met) and yet L monotone: the converse of Theorem 3 is false",
            note="chord 2R sin(ρ/2) decreases for every arc up to π",
        )
    )

    rows.append(
        check_row(
            "Thm 3 bound: ‖z*−z‖ ≥ cos(G_α)ℓ(α), L′ ≤ −2cos(G_α)‖z′‖ℓ",
            [True] * len(everything),
            [r.bound_holds for r in everything],
            [r.bound_margin / r.arc_length if r.arc_length > 0 else 0.0 for r in everything],
            slack="margin ≥ −(quadrature error of G_α and ℓ(α), propagated)",
            note="every curve above (G_α ≤ π); margin / ℓ(0)",
        )
    )
    return rows
