"""Gauss length: the adaptive estimator against uniform trapezoid rules of the analytic integrand.

For each curve the true Gauss length comes from a closed form or from ``scipy.integrate.quad`` of the analytic
integrand with breakpoints at the slow spots (NumPy derivatives, independent of torch). Then:

- ``adaptive``: :func:`mlitheory.gauss_length` at ``tol=1e-8`` (exact jvp derivatives, adaptive Simpson with
  a polygon guard) — evaluations, actual error, its error estimate, time;
- ``trapz N``: the trapezoid rule on N equally spaced α of the *exact* integrand ‖T′‖ (what the 2021 authors' code
  does with N = 50), for N = 50, 1 000 and 100 000 — actual error;
- ``polygon 1000``: the turning angles of the inscribed polygon through 1 000 samples
  (:func:`mlitheory.gauss_length_from_samples`), which does not miss reversals.

Near-reversals (velocity almost zero, reference ``theory_gauss_length.md`` §2.7) are where fixed grids fail: the
tangent turns by about π inside an interval of the width of the minimum speed. Run:

    python benchmarks/bench_gauss_length.py [--quick]
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from numpy.polynomial import polynomial as P
from scipy import integrate, optimize

import mlitheory as mli

torch.set_num_threads(1)


@dataclass
class Case:
    name: str
    curve: Callable  # torch: α ↦ z(α)
    derivatives: Callable  # numpy: α (m,) ↦ (z′ (m, n), z″ (m, n))
    values: Callable  # numpy: α (m,) ↦ z (m, n)
    truth: float | None = None  # closed form, else quad
    breakpoints: tuple = ()


def integrand(d1: np.ndarray, d2: np.ndarray) -> np.ndarray:
    """‖T′‖ = ‖z″ − ⟨z″,T⟩T‖/‖z′‖ (0 where z′ = 0), rows of (m, n)."""
    s = np.linalg.norm(d1, axis=-1)
    safe = np.where(s > 0, s, 1.0)
    t = d1 / safe[:, None]
    perp = d2 - (d2 * t).sum(-1, keepdims=True) * t
    return np.where(s > 0, np.linalg.norm(perp, axis=-1) / safe, 0.0)


def polynomial_case(name: str, coef: np.ndarray, breakpoints=(), truth=None) -> Case:
    """z(α) = Σ_k coef[k] α^k, coef of shape (degree + 1, n)."""
    c = torch.tensor(coef)
    d1c, d2c = P.polyder(coef, 1), P.polyder(coef, 2)

    def curve(a):
        return torch.stack([a**k for k in range(coef.shape[0])]) @ c

    return Case(
        name,
        curve,
        lambda a: (P.polyval(a, d1c).T, P.polyval(a, d2c).T),
        lambda a: P.polyval(a, coef).T,
        truth,
        tuple(breakpoints),
    )


def near_reversal(n: int, min_speed: float, seed: int, at: float = 0.3711) -> Case:
    """z′(α) = (α − α₀)a + ηb + (α − α₀)²c with random a, b, c: the velocity passes within ~η of zero at α₀, where
    the tangent turns by about π. η is set so that the minimum speed is ``min_speed``."""
    rng = np.random.default_rng(seed)
    a, b, c = rng.standard_normal((3, n))
    b -= (b @ a) / (a @ a) * a  # the near-miss is perpendicular to the direction of travel
    b /= np.linalg.norm(b)

    def coefficients(eta):
        # z′ = (a α₀² c − α₀ a + ηb) + (a − 2α₀ c) α + c α²  ⇒  z = ∫₀^α z′
        v0 = -at * a + eta * b + at**2 * c
        v1 = a - 2 * at * c
        v2 = c
        return np.stack([np.zeros(n), v0, v1 / 2, v2 / 3])

    def speed_min(eta):
        d1 = P.polyder(coefficients(eta))
        r = optimize.minimize_scalar(
            lambda x: np.linalg.norm(P.polyval(x, d1)),
            bounds=(at - 0.01, at + 0.01),
            method="bounded",
            options={"xatol": 1e-14},
        )
        return r.fun, r.x

    eta = optimize.brentq(lambda e: speed_min(e)[0] - min_speed, 1e-9, 1e-1, xtol=1e-16)
    _, where = speed_min(eta)
    return polynomial_case(f"near-reversal, ℝ^{n}, min speed {min_speed:.0e}", coefficients(eta), (where,))


def cases(quick: bool) -> list[Case]:
    out = []
    rng = np.random.default_rng(7)
    coef = rng.standard_normal((5, 6)) * np.array([[1], [1], [0.6], [0.4], [0.3]])
    out.append(polynomial_case("random quartic, ℝ^6", coef))
    out.append(near_reversal(5, 1e-3, seed=1))
    out.append(near_reversal(8, 1e-5, seed=2))
    v = np.array([1.0, -2.0, 0.5])
    rev = np.stack([np.zeros(3) + v, -4 * v, 3 * v])  # (1 − α)(1 − 3α) v
    out.append(polynomial_case("exact reversal (1−α)(1−3α)v", rev, (2 / 3,), truth=math.pi))
    for phi in (math.pi, 2 * math.pi):
        out.append(
            Case(
                f"arc of angle {phi / math.pi:g}π",
                lambda a, phi=phi: torch.stack([torch.cos(phi * a), torch.sin(phi * a)]),
                lambda a, phi=phi: (
                    phi * np.stack([-np.sin(phi * a), np.cos(phi * a)], -1),
                    -(phi**2) * np.stack([np.cos(phi * a), np.sin(phi * a)], -1),
                ),
                lambda a, phi=phi: np.stack([np.cos(phi * a), np.sin(phi * a)], -1),
                truth=phi,
            )
        )
    radius, pitch, turns = 1.0, 0.3, 6 * math.pi  # G = turns · R / √(R² + c²)
    out.append(
        Case(
            "helix, 3 turns",
            lambda a: torch.stack([radius * torch.cos(turns * a), radius * torch.sin(turns * a), pitch * turns * a]),
            lambda a: (
                turns * np.stack([-radius * np.sin(turns * a), radius * np.cos(turns * a), pitch + 0 * a], -1),
                turns**2 * np.stack([-radius * np.cos(turns * a), -radius * np.sin(turns * a), 0 * a], -1),
            ),
            lambda a: np.stack([radius * np.cos(turns * a), radius * np.sin(turns * a), pitch * turns * a], -1),
            truth=turns * radius / math.hypot(radius, pitch),
        )
    )
    delta = 0.1
    turn = mli.smoothed_turn(delta)

    def turn_derivs(a):
        one = torch.ones((), dtype=torch.float64)

        def jet(t):
            (_, d1), (_, d2) = torch.func.jvp(lambda s: torch.func.jvp(turn, (s,), (one,)), (t,), (one,))
            return d1, d2

        d1, d2 = torch.func.vmap(jet)(torch.tensor(a))
        return d1.numpy(), d2.numpy()

    out.append(
        Case(
            "smoothed turn π/2 + 0.1",
            turn,
            turn_derivs,
            lambda a: torch.func.vmap(turn)(torch.tensor(a)).numpy(),
            truth=math.pi / 2 + delta,
        )
    )
    return out[:4] if quick else out


def truth_of(case: Case) -> float:
    if case.truth is not None:
        return case.truth
    val, _ = integrate.quad(
        lambda x: float(integrand(*case.derivatives(np.array([x])))[0]),
        0.0,
        1.0,
        points=case.breakpoints or None,
        epsabs=1e-13,
        epsrel=1e-13,
        limit=2000,
    )
    return val


def trapezoid(case: Case, n: int) -> float:
    a = np.linspace(0.0, 1.0, n)
    f = integrand(*case.derivatives(a))
    return float(np.sum((f[1:] + f[:-1]) / 2) / (n - 1))


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="four curves only")
    args = p.parse_args(argv)
    head = (
        f"{'curve':36s} {'true G':>10s} | {'adaptive: evals':>15s} {'|error|':>9s} {'estimate':>9s} {'ms':>6s} | "
        f"{'trapz 50':>9s} {'trapz 1000':>10s} {'trapz 1e5':>9s} {'ms 1e5':>7s} | {'polygon 1000':>12s}"
    )
    print(head)
    print("-" * len(head))
    mli.gauss_length(lambda a: torch.stack([a, a**2]))  # warm-up of the vectorised derivatives
    for case in cases(args.quick):
        g = truth_of(case)
        t0 = time.perf_counter()
        res = mli.gauss_length(case.curve, tol=1e-8)
        t_ad = 1e3 * (time.perf_counter() - t0)
        errs = []
        for n in (50, 1000, 100_000):
            t0 = time.perf_counter()
            errs.append(abs(trapezoid(case, n) - g))
            t_tr = 1e3 * (time.perf_counter() - t0)
        al = np.linspace(0.0, 1.0, 1000)
        poly = mli.gauss_length_from_samples(al, case.values(al))
        print(
            f"{case.name:36s} {g:10.6f} | {res.evaluations:15d} {abs(res.value - g):9.1e} {res.error:9.1e} "
            f"{t_ad:6.0f} | {errs[0]:9.1e} {errs[1]:10.1e} {errs[2]:9.1e} {t_tr:7.0f} | {abs(poly.value - g):12.1e}"
        )
    print(
        "\n|error| = |estimate − true G| (radians). The trapezoid rule integrates the exact integrand; "
        "near a reversal it\nmisses the spike unless a node lands inside it. ms: wall time on this machine "
        "(ratios are what matter)."
    )


if __name__ == "__main__":
    main()
