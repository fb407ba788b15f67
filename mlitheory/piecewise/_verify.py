"""Rows of ``python -m mlitheory verify`` for Theorem 3 with corners (built with `mlitheory._rows`)."""

from __future__ import annotations

import math

import numpy as np
import torch

from mlitheory._rows import check_row, demonstration_row
from mlitheory.piecewise.theorem import (
    check_theorem3_piecewise,
    kink_blind_counterexample,
    random_piecewise_curve,
    random_polygon,
    turn_polygon,
)


def verify_family(*, quick: bool, seed: int) -> list:
    """Rows of ``python -m mlitheory verify`` for Theorem 3 with corners (piecewise-smooth curves).

    (a) random polygons and continuous piecewise-polynomial curves in ℝ², …, ℝ²⁰ ending at z*: where G (smooth part
    + corners) < π/2, decided beyond its error, L must be strictly decreasing (exact root isolation of L′) and the
    bound ⟨T(α⁺), z* − z⟩ ≥ cos(G_α)ℓ hold at every piece start; margin = min ⟨T(α⁺), z* − z⟩/ℓ.
    (b) tightness: the polygon turning by π/2 + δ after a leg ½ sin δ: G = π/2 + δ and L rises.
    (c) the kink-blind counterexample: smooth part 0 < π/2, corner 3π/4, L not monotone.
    (d) the bound on every curve of (a)–(c).

    Args:
        quick: a few instances per row (a few seconds) instead of the full set (about 15 s of CPU).
        seed: seed of the random instances.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _rows(quick=quick, seed=seed)
    finally:
        torch.set_num_threads(threads)


def _rows(*, quick: bool, seed: int) -> list:
    ga, gb = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    n_a, n_b = (12, 3) if quick else (120, 12)
    curves = []
    for i in range(n_a):
        dim = int(ga.integers(2, 21))
        if i % 2 == 0:
            curves.append(random_polygon(dim, int(ga.integers(2, 8)), turn=float(ga.uniform(0.1, 2.5)), seed=ga))
        else:
            curves.append(
                random_piecewise_curve(
                    dim, int(ga.integers(2, 6)), degree=int(ga.integers(2, 5)), bend=float(ga.uniform(0, 0.3)), seed=ga
                )
            )
    res_a = [check_theorem3_piecewise(c) for c in curves]
    gs = [r.gauss_length for r in res_a]
    rows = [
        check_row(
            "Thm 3 with corners: G (smooth + corners) < π/2 ⇒ L strictly decreasing (polygons, piecewise polynomials)",
            [r.hypothesis is True for r in res_a],
            [r.monotone and r.bound_holds for r in res_a],
            [r.descent_margin for r in res_a],
            slack="G < π/2 only beyond its error bound; L′ < 0 beyond its rounding bound between isolated roots",
            note=f"G ∈ [{min(gs):.2f}, {max(gs):.2f}]; margin = min ⟨T(α⁺), z*−z⟩/ℓ",
        )
    ]
    deltas = np.sort(np.concatenate([[0.3, 1e-3], gb.uniform(1e-3, 0.3, n_b - 2)]))
    res_b = [check_theorem3_piecewise(turn_polygon(float(d))) for d in deltas]
    excess = max(abs(r.gauss_length - (math.pi / 2 + d)) for r, d in zip(res_b, deltas))
    rows.append(
        demonstration_row(
            "Thm 3 with corners, tightness: polygon turning by π/2 + δ after a leg ½ sin δ",
            [r.hypothesis is False and not r.monotone and r.min_delta > 0 for r in res_b],
            expected="G = π/2 + δ (one corner) fails the hypothesis and L rises: no bound above π/2 works",
            note=f"δ ∈ [{deltas[0]:.0e}, 0.3]: G = π/2 + δ ± {excess:.0e}",
        )
    )
    r = check_theorem3_piecewise(kink_blind_counterexample())
    rows.append(
        demonstration_row(
            "Kink-blind Gauss length is no certificate: (1, 2α) then straight to z* = 0",
            [r.smooth_part < 1e-12 and abs(r.corner_part - 3 * math.pi / 4) < 1e-12 and r.min_delta > 0.99],
            expected="smooth part 0 < π/2, yet L rises (by 1); with the corner G = 3π/4 fails the hypothesis",
            note=f"smooth part {r.smooth_part:.0e}, corner {r.corner_part / math.pi:.4f}π, min Δ = {r.min_delta:.3g}",
        )
    )
    everything = [*res_a, *res_b, r]
    rows.append(
        check_row(
            "Thm 3 with corners, bound: ⟨T(α⁺), z*−z⟩ ≥ cos(G_α)ℓ(α) at every piece start",
            [True] * len(everything),
            [x.bound_holds for x in everything],
            [x.bound_margin for x in everything],
            slack="margin ≥ −(ℓ·error of G_α + quadrature of ℓ + rounding)",
            note="every curve above (G_α clipped at π); margin in units of length",
        )
    )
    return rows
