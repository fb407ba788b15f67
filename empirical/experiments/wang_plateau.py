"""Wang et al. 2023: last-layer bias gap and the error plateau under linear vs homogeneous bias interpolation.

Paths from θ_0 to θ_T (``empirical.pathcurves``):

.. math::
    \\text{linear: } \\theta_\\alpha = (1-\\alpha)\\theta_0 + \\alpha\\theta_T; \\qquad
    \\text{homogeneous: } W_\\ell^{[\\alpha]} = (1-\\alpha)W_\\ell^{(0)} + \\alpha W_\\ell^{(T)},\\
    b_\\ell^{[\\alpha]} = (1-\\alpha^\\ell)\\,b_\\ell^{(0)} + \\alpha^\\ell\\, b_\\ell^{(T)};

and "eq-last": linear towards θ_T with its last-layer bias replaced by the mean of its entries. The plateau end is
the largest α with training error ≥ ``error_level`` at every grid point of (0, α].

References:
    Wang et al. Plateau in Monotonic Linear Interpolation — A "Biased" View of Loss Landscape for Deep Networks.
    ICLR 2023. Project notes: reference/theory_bias_plateau.md §3.4 (homogeneous path), §5, §7.2.
"""

from __future__ import annotations

import numpy as np

from empirical.experiments._common import eval_batches, load_data, plt
from empirical.pathcurves import homogeneous_bias_path, layer_order, linear_path, path_curve
from empirical.report import Claim, Report, Table
from empirical.train import loss_function

SCHEMES = ("linear", "homogeneous", "eq-last")


def plateau_end(alphas, errors, level: float) -> float:
    """Largest α such that ``errors ≥ level`` at every grid point in (0, α]; 0 if the first point after 0 is below."""
    a, e = np.asarray(alphas, dtype=np.float64), np.asarray(errors, dtype=np.float64)
    end = 0.0
    for ai, ei in zip(a, e):
        if ai <= 0:
            continue
        if ei < level:
            break
        end = float(ai)
    return end


def _curve(model, start, end, path, data, alphas, bn, device) -> dict:
    cv = path_curve(
        model, start, end, path, data, alphas=alphas, loss=loss_function("cross_entropy"), bn=bn, device=device
    )
    return cv.to_json()


def analyse(ctx) -> Report:
    p = ctx.params
    rep = ctx.new_report()
    rows, all_rows, curves = [], [], {}
    for rec in ctx.finished():
        c = rec.config
        model = rec.build_model()
        start, end = rec.checkpoint("init"), rec.checkpoint("final")
        last = layer_order(model)[-1]
        bias = end[f"{last}.bias"].double()
        eq_end = dict(end)
        eq_end[f"{last}.bias"] = torch_full_like(end[f"{last}.bias"], float(bias.mean()))
        _, x, y = load_data(c, split="train", n=c.n_measure)
        data = eval_batches(x, y, 500, ctx.device)
        res = {}
        for scheme in SCHEMES:
            key = {"kind": scheme, "run": c.hash, "alphas": p["homogeneous_alphas"], "n": len(y)}

            target = eq_end if scheme == "eq-last" else end
            path = homogeneous_bias_path(model, end) if scheme == "homogeneous" else linear_path(end)
            res[scheme] = ctx.cached(
                key, _curve, model, start, target, path, data, p["homogeneous_alphas"], c.bn, ctx.device
            )
        depth = int(c.model_options.get("depth", 1)) + 1
        scale = float(c.model_options.get("init_scale", 1.0))
        row = {
            "dataset": c.dataset,
            "L": depth,
            "init_scale": scale,
            "seed": c.seed,
            "final_loss": rec.metrics["measures"]["curve_loss_final"],
            "final_error": 1 - res["linear"]["accuracy"][-1],
            "bias_gap": float(bias.max() - bias.min()),
        }
        for scheme in SCHEMES:
            err = [1 - a for a in res[scheme]["accuracy"]]
            row[f"plateau_{scheme}"] = plateau_end(res[scheme]["alphas"], err, p["error_level"])
        row["trained"] = row["final_error"] <= p["max_final_error"]
        all_rows.append(row)
        if row["trained"]:
            rows.append(row)
            curves[c.hash] = (row, res)
    untrained = [r for r in all_rows if not r["trained"]]
    if untrained:
        rep.note(
            f"{len(untrained)} of {len(all_rows)} runs did not train (final training error > "
            f"{p['max_final_error']:g}): "
            + ", ".join(f"{r['dataset']} L={r['L']} scale {r['init_scale']:g} seed {r['seed']}" for r in untrained)
            + ". They are listed in the first table and left out of the means and claims (a network still on its "
            "training plateau has an error plateau along the whole path)."
        )
    cols = [
        "dataset",
        "L",
        "init_scale",
        "seed",
        "final_loss",
        "final_error",
        "trained",
        "bias_gap",
        *[f"plateau_{s}" for s in SCHEMES],
    ]
    rep.table(
        Table(
            "plateau",
            "Last-layer bias gap and error-plateau end by depth L and initialisation scale",
            cols,
            all_rows,
            headers={
                "final_loss": "final train loss",
                "final_error": "final train error",
                "bias_gap": "last-layer bias gap (max − min)",
                "plateau_linear": "plateau end: linear",
                "plateau_homogeneous": "homogeneous",
                "plateau_eq-last": "eq-last",
            },
            note=f"Plateau end: the largest α with training error ≥ {p['error_level']:g} at every grid point of "
            "(0, α]. "
            "Compare theory_bias_plateau.md §7.2 (Gaussian classes, k = 4), where the linear plateau reaches 0.4–0.6 "
            "at L = 5–7 with scale 0.15 and the homogeneous scheme cuts it 2–10×.",
        )
    )
    rep.numbers["runs"] = rows

    def mean(sel, key):
        v = [r[key] for r in sel]
        return float(np.mean(v)) if v else None

    depths, scales = sorted({r["L"] for r in rows}), sorted({r["init_scale"] for r in rows})
    summary = []
    for L in depths:
        for s in scales:
            sel = [r for r in rows if r["L"] == L and r["init_scale"] == s]
            summary.append(
                {
                    "L": L,
                    "init_scale": s,
                    "runs": len(sel),
                    "bias_gap": mean(sel, "bias_gap"),
                    **{f"plateau_{k}": mean(sel, f"plateau_{k}") for k in SCHEMES},
                }
            )
    rep.table(
        Table(
            "summary",
            "Means over data sets and seeds",
            ["L", "init_scale", "runs", "bias_gap", *[f"plateau_{s}" for s in SCHEMES]],
            summary,
        )
    )
    cell = {(r["L"], r["init_scale"]): r for r in summary}
    f = lambda v: "–" if v is None else f"{v:.3f}"
    gt = lambda a, b: None if a is None or b is None else a > b
    if depths and scales:
        lo_s, hi_s, lo_L, hi_L = min(scales), max(scales), min(depths), max(depths)
        a, b = cell[(hi_L, lo_s)]["plateau_linear"], cell[(lo_L, lo_s)]["plateau_linear"]
        rep.claim(
            Claim(
                "plateau_grows_with_depth",
                "The error plateau of the linear interpolation grows with depth (small initialisation)",
                "Wang et al. 2023; theory_bias_plateau.md §5",
                Claim.decide(None if lo_L == hi_L else gt(a, b)),
                f"mean plateau end at scale {lo_s:g}: L = {hi_L}: {f(a)}, L = {lo_L}: {f(b)}",
                {"deep": a, "shallow": b},
            )
        )
        a, b = cell[(hi_L, lo_s)]["plateau_linear"], cell[(hi_L, hi_s)]["plateau_linear"]
        rep.claim(
            Claim(
                "plateau_grows_small_init",
                "The error plateau grows as the initialisation gets smaller (deepest nets)",
                "Wang et al. 2023; theory_bias_plateau.md §5",
                Claim.decide(None if lo_s == hi_s else gt(a, b)),
                f"mean plateau end at L = {hi_L}: scale {lo_s:g}: {f(a)}, scale {hi_s:g}: {f(b)}",
                {"small": a, "large": b},
            )
        )
        ga = mean([r for r in rows if r["init_scale"] == lo_s], "bias_gap")
        gb = mean([r for r in rows if r["init_scale"] == hi_s], "bias_gap")
        rep.claim(
            Claim(
                "gap_grows_small_init",
                "Last-layer bias gaps are larger under small initialisation",
                "Wang et al. 2023 (§4 toy model); theory_bias_plateau.md §5",
                Claim.decide(None if lo_s == hi_s else gt(ga, gb)),
                f"mean last-layer bias gap: scale {lo_s:g}: {f(ga)}, scale {hi_s:g}: {f(gb)}",
                {"small": ga, "large": gb},
            )
        )
    long = [r for r in rows if r["plateau_linear"] >= p["min_plateau"]]
    lin, hom = mean(long, "plateau_linear"), mean(long, "plateau_homogeneous")
    rep.claim(
        Claim(
            "homogeneous_shortens",
            "Homogeneous bias interpolation shortens the error plateau",
            "Wang et al. 2023; theory_bias_plateau.md §3.4",
            Claim.decide(None if not long else hom < lin),
            f"over the {len(long)} runs with a linear plateau ≥ {p['min_plateau']:g}: mean plateau end linear "
            f"{f(lin)}, "
            f"homogeneous {f(hom)}",
            {"runs": len(long), "linear": lin, "homogeneous": hom},
            reason="" if long else "no run developed a linear plateau this long at this scale",
        )
    )

    pyplot = plt()
    if curves:
        pick = max(curves.values(), key=lambda rc: rc[0]["plateau_linear"])
        row, res = pick
        fig, axes = pyplot.subplots(1, 2, figsize=(11, 3.8))
        for scheme in SCHEMES:
            cv = res[scheme]
            axes[0].plot(cv["alphas"], [1 - a for a in cv["accuracy"]], label=scheme)
            axes[1].plot(cv["alphas"], cv["loss"], label=scheme)
        axes[0].axhline(p["error_level"], color="gray", lw=0.8, ls=":")
        axes[0].set(
            xlabel="α", ylabel="training error", title=f"{row['dataset']}, L = {row['L']}, scale {row['init_scale']:g}"
        )
        axes[1].set(xlabel="α", ylabel="training loss", title="the run with the longest linear plateau")
        axes[0].legend()
        rep.figure(
            "curves",
            fig,
            "Training error and loss along the three paths for the run with the longest linear error plateau.",
        )
        fig, ax = pyplot.subplots(figsize=(6, 4))
        for L in depths:
            xs = [r["init_scale"] for r in summary if r["L"] == L]
            ax.plot(xs, [r["plateau_linear"] for r in summary if r["L"] == L], "o-", label=f"L = {L}, linear")
            ax.plot(
                xs, [r["plateau_homogeneous"] for r in summary if r["L"] == L], "s--", label=f"L = {L}, homogeneous"
            )
        ax.set(xscale="log", xlabel="initialisation scale", ylabel="plateau end (mean)")
        ax.legend(fontsize=7)
        rep.figure("plateau_vs_scale", fig, "Mean error-plateau end against initialisation scale, by depth and path.")
    return rep


def torch_full_like(t, value: float):
    import torch

    return torch.full_like(t, value)
