"""Hypothesis strategies shared by the property tests (one place, as the conventions ask)."""

from __future__ import annotations

import math

from hypothesis import strategies as st

seeds = st.integers(min_value=0, max_value=2**31 - 1)
dims = st.integers(min_value=2, max_value=50)


@st.composite
def polynomial_curves(draw, min_dim=2, max_dim=6, max_degree=5, min_speed_term=1.0):
    """Coefficients ``(degree + 1, n)`` of a polynomial curve z(α) = Σ_k c_k α^k whose velocity is kept away from
    zero by a dominant linear term (so quadrature references are well conditioned)."""
    import numpy as np

    n = draw(st.integers(min_value=min_dim, max_value=max_dim))
    deg = draw(st.integers(min_value=2, max_value=max_degree))
    seed = draw(seeds)
    rng = np.random.default_rng(seed)
    coef = rng.normal(size=(deg + 1, n))
    coef[1] *= 0.0
    coef[1, 0] = min_speed_term + np.abs(coef[2:, 0]).sum() * np.arange(2, deg + 1).max()
    return coef


loss_curves = st.lists(
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False), min_size=1, max_size=60
)


@st.composite
def batch_splits(draw, n: int = 12):
    """Sizes of consecutive batches that partition ``n`` examples (each at least 1)."""
    sizes = []
    left = n
    while left:
        s = draw(st.integers(min_value=1, max_value=left))
        sizes.append(s)
        left -= s
    return sizes


# ---- Theorem 3 (mlitheory.theorem3) -------------------------------------------------------------------------


@st.composite
def theorem3_random_curves(draw, min_dim=2, max_dim=50):
    """Keyword arguments of a random curve ending at z*: ``{"kind": "bezier" | "polynomial", "dim", "degree",
    "size", "seed"}``; ``size`` (the bend of a Bézier, the scale of a polynomial's higher terms) is drawn mostly
    small so that most curves have Gauss length below π/2."""
    kind = draw(st.sampled_from(["bezier", "polynomial"]))
    dim = draw(st.integers(min_value=min_dim, max_value=max_dim))
    degree = draw(st.integers(min_value=2, max_value=6))
    top = 0.5 / degree if kind == "bezier" else 0.6
    size = draw(st.floats(min_value=0.0, max_value=top, allow_nan=False))
    seed = draw(seeds)
    return {"kind": kind, "dim": dim, "degree": degree, "size": size, "seed": seed}


#: excess turn δ of the tightness construction: uniform on [1e-12, 0.3] and log-uniform down to 1e-12 (below
#: about 1e-13 the rise L′(0) = 2 sin²δ is under the float64 rounding of L′, see the xfail in test_theorem3).
turn_deltas = st.one_of(
    st.floats(min_value=1e-12, max_value=0.3, allow_nan=False),
    st.floats(min_value=-12.0, max_value=math.log10(0.3), allow_nan=False).map(lambda e: 10.0**e),
)

#: angles of circular arcs whose Gauss length is at least π/2 and that are still monotone
arc_angles = st.floats(min_value=math.pi / 2, max_value=math.pi, allow_nan=False)
# --- bias plateau (mlitheory.bias_plateau) ------------------------------------------------------------------------


@st.composite
def bias_plateau_problems(draw, *, balanced: bool = False, integer_r: bool = False, margin: bool = False):
    """An instance ``(g_T, b_T, y, r)`` of decomposition (1): signal (n, k), output bias (k,), labels (n,), degree.

    ``balanced``: every class has the same number of points. ``integer_r``: r in {2, 3, 4, 5, 8}. ``margin``: the
    label's signal is raised above every other class by at least 0.5, so the final margin m > 0.

    Entries are multiples of 1/8 in [-5, 5]: differences are exact, gaps are 0 or >= 1/8, so hypotheses such as
    "unique largest bias" are decided exactly and no instance sits below floating-point resolution.
    """
    import numpy as np

    k = draw(st.integers(2, 5))
    if balanced:
        y = np.repeat(np.arange(k), draw(st.integers(1, 4)))
    else:
        y = np.asarray(draw(st.lists(st.integers(0, k - 1), min_size=1, max_size=12)), dtype=np.int64)
    n = y.size
    vals = st.integers(-40, 40)
    g = np.asarray(draw(st.lists(vals, min_size=n * k, max_size=n * k)), dtype=np.float64).reshape(n, k) / 8
    b = np.asarray(draw(st.lists(vals, min_size=k, max_size=k)), dtype=np.float64) / 8
    if margin:
        others = np.where(np.arange(k)[None, :] == y[:, None], -np.inf, g).max(axis=1)
        g[np.arange(n), y] = np.maximum(g[np.arange(n), y], others + 0.5)
    if integer_r:
        r = draw(st.sampled_from([2, 3, 4, 5, 8]))
    else:
        r = draw(st.one_of(st.sampled_from([2, 3, 4, 5, 8]), st.floats(1.25, 10.0)))
    return g, b, y, r


# --- two-layer linear networks (issue 5) -------------------------------------------------------------------------
#: initialisation scales across the range of the reference checks (1e-3 … 2), drawn log-uniformly
init_scales = st.floats(min_value=-3.0, max_value=0.30103, allow_nan=False).map(lambda e: 10.0**e)
#: how the second-layer factors relate to the first: independent, balanced (b = a), or near the a = −b saddle
decoupled_kinds = st.sampled_from(["independent", "balanced", "near_saddle"])
training_times = st.floats(min_value=0.0, max_value=50.0, allow_nan=False)
small_dims = st.integers(min_value=2, max_value=6)


@st.composite
def decoupled_runs(draw):
    """``(d, m, k, scale, kind, T, seed)`` for a decoupled two-layer linear run."""
    d, m = draw(small_dims), draw(small_dims)
    k = draw(st.integers(min_value=1, max_value=min(d, m)))
    return d, m, k, draw(init_scales), draw(decoupled_kinds), draw(training_times), draw(seeds)


# --- wide networks / NTK (issue 5) -------------------------------------------------------------------------------
#: step sizes as a fraction ηλ_max (passed as ``eta_lambda_max``, so one λ_max decides the regime): the safe side
#: of Lemma 7a up to and including the boundary 1 (inside the rounding allowance it is the safe side by the rule of
#: ``lemma7a_regime``), and the odd-T danger zone (1, 2) kept 1e-9 away from both boundaries, far beyond the
#: allowance ``lambda_max_rtol`` (≤ 1e-13 here), so that the regime is the drawn one whatever the eigensolver.
#: The boundaries themselves are tested on purpose in test_lemma7 (test_7a_regime_at_the_boundary_…).
REGIME_MARGIN = 1e-9
safe_step_fractions = st.floats(min_value=1e-3, max_value=1.0, allow_nan=False)
unsafe_step_fractions = st.floats(min_value=1.0 + REGIME_MARGIN, max_value=2.0 - REGIME_MARGIN, allow_nan=False)
gd_steps = st.integers(min_value=1, max_value=60)


def decoupled_factors(kind, k, scale, rng):
    """Initial mode strengths (a₀, b₀) of a decoupled two-layer linear init: balanced, near the a = −b saddle,
    or independent, at the given scale (``rng`` a NumPy Generator)."""
    a0 = scale * rng.standard_normal(k)
    if kind == "balanced":
        return a0, a0.copy()
    if kind == "near_saddle":
        return a0, -a0 * (1 - 10 ** rng.uniform(-4, -1))
    return a0, scale * rng.standard_normal(k)


# --- Theorem 3 with corners (mlitheory.piecewise.theorem) ----------------------------------------------------------


@st.composite
def piecewise_curves(draw):
    """Keyword arguments of a random polygon or continuous piecewise-polynomial curve ending at z* = 0:
    ``{"kind": "polygon" | "pieces", "dim", "parts", "size", "degree", "seed"}``; ``size`` is the polygon's total
    turn or the pieces' bend, drawn so that G falls on both sides of π/2."""
    kind = draw(st.sampled_from(["polygon", "pieces"]))
    return {
        "kind": kind,
        "dim": draw(st.integers(min_value=2, max_value=12)),
        "parts": draw(st.integers(min_value=2, max_value=7)),
        "size": draw(st.floats(min_value=0.0, max_value=2.5 if kind == "polygon" else 0.3, allow_nan=False)),
        "degree": draw(st.integers(min_value=2, max_value=4)),
        "seed": draw(seeds),
    }


# ------------------------------------------------------------------------------------------- claim rules


def _value_for(cond):
    """A value that satisfies one filter condition of a claim rule (a value, a list, or comparisons)."""
    if isinstance(cond, list):
        return cond[0]
    if not isinstance(cond, dict):
        return cond
    if "eq" in cond:
        return cond["eq"]
    if "in" in cond:
        return cond["in"][0]
    lo = max([cond[k] for k in ("gt", "ge") if k in cond], default=None)
    hi = min([cond[k] for k in ("lt", "le") if k in cond], default=None)
    if lo is not None and hi is not None:
        return (lo + hi) / 2
    if hi is not None:
        return hi if "le" in cond and cond["le"] == hi else (hi / 2 if hi > 0 else hi - 1)
    if lo is not None:
        return lo if "ge" in cond and cond["ge"] == lo else (lo * 2 if lo > 0 else lo + 1)
    raise ValueError(f"cannot plant a value for {cond!r}")


def _slots(rule):
    """(sub-rule, group, filter) for every group of units a rule reads, parts and groups a/b expanded."""
    subs = rule.parts if rule.kind == "all" else (rule,)
    out = []
    for sub in subs:
        if sub.kind == "share_difference":
            out += [(sub, g, {**dict(sub.where), **dict(sub.params[g])}) for g in ("a", "b")]
        else:
            out.append((sub, None, dict(sub.where)))
    return out


def _plant_columns(sub, group, row, idx, n, sign):
    """Set the columns ``sub`` reads on ``row`` (the ``idx``-th of ``n`` in its group) for an effect of strength
    ``sign`` (+1 the paper's direction, −1 reversed); columns already set by another part are kept."""
    p, k, up = sub.params, sub.kind, sub.direction
    if k == "share_difference":
        high = (group == "a") == (up == "greater")
        share = (0.85 if high else 0.1) if sign > 0 else (0.1 if high else 0.85)
        row.setdefault(p["outcome"], idx < round(share * n))
    elif k == "share_bound":
        b = float(p["bound"])
        want_low = (up == "below") == (sign > 0)
        share = max(0.0, b - 0.45) if want_low else min(1.0, b + 0.45)
        share = 0.0 if want_low and b < 0.5 else (1.0 if not want_low and b >= 0.5 else share)
        row.setdefault(p["outcome"], idx < round(share * n))
    elif k == "predicts":
        out = row.setdefault(p["outcome"], idx % 2 == 0)
        s = 1 if (up == "greater") == (sign > 0) else -1
        row.setdefault(p["score"], 10.0 + s * (5.0 if out else 0.0) + 0.001 * idx)
    elif k == "trend":
        x = row.setdefault(p["x"], 1.0 + idx)
        s = 1 if (up == "increasing") == (sign > 0) else -1
        row.setdefault(p["y"], float(x) ** s * (1 + 1e-6 * ((idx * 7) % 3)))
    elif k == "paired":
        s = 1 if (up == "greater") == (sign > 0) else -1
        gap = 1.0 + 0.01 * ((idx * 5) % 7)
        if p["first"] in row:  # fixed by a filter: plant the other measurement relative to it
            row.setdefault(p["second"], row[p["first"]] - s * gap)
        else:
            base = row.setdefault(p["second"], 5.0 + 0.1 * idx)
            row.setdefault(p["first"], base + s * gap)
    elif k == "mean_bound":
        b = float(p["bound"])
        s = 1 if (up == "above") == (sign > 0) else -1
        wiggle = 1 + 0.02 * ((idx * 3) % 5)
        if p.get("log"):
            row.setdefault(p["value"], b * (3.0**s) * wiggle)
        else:
            row.setdefault(p["value"], b + s * (1.0 + abs(b)) * wiggle)
    elif k == "equivalence":
        x = row.setdefault(p["x"], float(idx))
        if sign > 0:  # independent of x: a fixed shuffle (ρ near 0 for large n)
            row.setdefault(p["y"], float((idx * 7919) % n) + 0.5 * ((idx * 104729) % 3))
        else:
            row.setdefault(p["y"], float(x) * 2.0)
    else:  # pragma: no cover
        raise ValueError(k)


def plant_units(rule, *, effect: str = "paper", n: int = 150, dataset: str | None = None) -> dict:
    """Synthetic units on which a claim rule must reach a known verdict.

    Args:
        rule: an ``empirical.claims.Rule``.
        effect: ``"paper"`` (a strong effect in the paper's direction: supported), ``"reversed"`` (a strong effect
            against it: contradicted).
        n: units per group (per part and per share group).
        dataset: the ``dataset`` field of every unit whose group does not pin one (default: the first data set of
            the rule's scope, if any).

    Returns:
        ``{rule.units: rows}``; each row satisfies exactly the filters of the groups it was planted for (and may
        also match other parts' groups, whose columns are then planted consistently).
    """
    sign = 1 if effect == "paper" else -1
    slots = _slots(rule)
    fields = set()
    for _, _, f in slots:
        fields |= set(f)
    scope = rule.scope or {}
    ds = dataset if dataset is not None else (scope.get("datasets") or [None])[0]
    rows = []
    for s_index, (_, _, f) in enumerate(slots):
        for i in range(n):
            row = {"_slot": s_index, "_idx": i}
            for field, cond in f.items():
                row[field] = _value_for(cond)
            for field in fields - set(row):  # NaN fails every comparison: out of the groups that name the field
                row[field] = math.nan
            if ds is not None and "dataset" not in f:  # a group pinned to a data set keeps it
                row["dataset"] = ds
            rows.append(row)
    from empirical.claims import select

    for sub, group, f in slots:
        members = select(rows, f)
        for j, row in enumerate(members):
            _plant_columns(sub, group, row, j, len(members), sign)
    return {rule.units: rows}
