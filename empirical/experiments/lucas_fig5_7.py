"""Lucas et al. 2021, Figures 5 and 7: distance and Gauss length against min Δ; the Gauss-length power law.

For the runs that reach the loss threshold: ROC AUC of the normalised distance and of the mean logit Gauss length
as scores for "MLI fails" (min Δ > ``delta_threshold``), Spearman correlations with min Δ and with the learning
rate, and the least-squares fit of $\\log G = a \\log d + b$ with its $R^2$.

References:
    Lucas et al. 2021 (arXiv 2104.11044), §4.2, Figures 5 and 7 (R² = 0.616 on the MLP/Fashion-MNIST runs).
"""

from __future__ import annotations

import numpy as np

from empirical.experiments._common import (
    auc,
    exact_mli,
    exact_table,
    gauss_lengths,
    log_fit,
    measure_row,
    plt,
    rank_correlation,
    run_label,
    share,
)
from empirical.report import Report, Table


def r2_interval(x, y) -> tuple[float, float] | None:
    """The 95 % interval of R² = r² of the log–log fit, from the Fisher-z interval of r (``None`` if undefined)."""
    from empirical.claims import trend

    try:
        ci = trend(x, y, method="pearson", log=True).ci
    except ValueError:
        return None
    if ci is None:
        return None
    lo, hi = ci
    return (0.0 if lo < 0 < hi else min(lo * lo, hi * hi)), max(lo * lo, hi * hi)


def analyse(ctx) -> Report:
    p = ctx.params
    rep = ctx.new_report()
    rows = [measure_row(r) for r in ctx.records]
    kept = [r for r in rows if r["measured"] and r["final_train_loss"] < p["loss_threshold"]]
    by_hash = {rec.config.hash: rec for rec in ctx.records}
    for r in kept:
        r["fails"] = bool(r["min_delta"] > p["delta_threshold"])
        both = gauss_lengths(ctx, by_hash[r["hash"]])
        r["gauss_length"] = both["derivative"].mean
        r["gauss_converged"] = both["derivative"].converged
        r["gauss_length_turning"] = float(np.mean(both["turning"].value))
    rep.note(
        f"{len(rows)} runs; {len(kept)} reached final training loss < {p['loss_threshold']:g} and are analysed "
        f"({sum(r['fails'] for r in kept)} non-monotone)."
    )
    rep.note(
        "Gauss length G: the mean over training examples of ∫‖T′(α)‖dα of the logit path, by the adaptive "
        "quadrature of mlitheory.logit_gauss_length with exact z′ and z″ (Taylor mode, float64; batch-norm "
        "statistics re-estimated at each α and held fixed in the derivative, as the authors do). Unlike the authors' "
        "trapezoid rule on ‖T′‖ at the interpolation points (used by the reports before this version), the "
        "quadrature's guard counts the jump of the tangent at a ReLU kink. Beside it, 'turning': the total turning of "
        "the polygon through the logits at the run's interpolation points (mlitheory.gauss_length_from_samples). The "
        f"quadrature reached its tolerance for {sum(r['gauss_converged'] for r in kept)} of {len(kept)} runs (the "
        "others stopped at the evaluation budget, refining towards kinks)."
    )
    fails = [r["fails"] for r in kept]
    dist = [r["norm_distance"] for r in kept]
    gl = [r["gauss_length"] for r in kept]
    gl_turn = [r["gauss_length_turning"] for r in kept]
    md = [r["min_delta"] for r in kept]
    stats = {
        "auc_distance": auc(dist, fails),
        "auc_gauss_length": auc(gl, fails),
        "spearman_distance_min_delta": rank_correlation(dist, md),
        "spearman_gauss_length_min_delta": rank_correlation(gl, md),
        "auc_gauss_length_turning": auc(gl_turn, fails),
        "spearman_gauss_length_turning_min_delta": rank_correlation(gl_turn, md),
    }
    by_opt = {}
    for opt in ("sgd", "adam"):
        sel = [r for r in kept if r["optimizer"] == opt]
        by_opt[opt] = {
            "spearman_lr_distance": rank_correlation([r["lr"] for r in sel], [r["norm_distance"] for r in sel]),
            "spearman_lr_gauss_length": rank_correlation([r["lr"] for r in sel], [r["gauss_length"] for r in sel]),
            "count": len(sel),
        }
    fit_rows = [r for r in kept if r["dataset"] == p["fit_dataset"]]
    fit_main = log_fit([r["norm_distance"] for r in fit_rows], [r["gauss_length"] for r in fit_rows])
    fit_all = log_fit(dist, gl)
    fit_raw = log_fit([r["distance"] for r in fit_rows], [r["gauss_length"] for r in fit_rows])
    fit_turn = log_fit([r["norm_distance"] for r in fit_rows], [r["gauss_length_turning"] for r in fit_rows])
    rep.numbers.update({"rank_statistics": stats, "by_optimizer": by_opt, "fit": fit_main, "fit_all": fit_all})
    rep.numbers["runs"] = [
        {
            k: r[k]
            for k in (
                "hash",
                "dataset",
                "optimizer",
                "lr",
                "batchnorm",
                "norm_distance",
                "distance",
                "gauss_length",
                "gauss_length_turning",
                "min_delta",
                "final_train_loss",
            )
        }
        for r in kept
    ]

    # halves by distance and by Gauss length
    def halves(key):
        vals = [r[key] for r in kept if np.isfinite(r[key])]
        if len(vals) < 2:
            return None
        med = float(np.median(vals))
        lo = share(r["fails"] for r in kept if r[key] <= med)
        hi = share(r["fails"] for r in kept if r[key] > med)
        return {"median": med, "low": lo, "high": hi}

    h_d, h_g, h_t = halves("norm_distance"), halves("gauss_length"), halves("gauss_length_turning")
    trows = [
        {
            "predictor": "normalised distance ‖θ_T−θ_0‖/‖θ_0‖",
            "auc": stats["auc_distance"],
            "spearman": stats["spearman_distance_min_delta"],
            "low_half": None if h_d is None else h_d["low"][0],
            "high_half": None if h_d is None else h_d["high"][0],
        },
        {
            "predictor": "mean logit Gauss length",
            "auc": stats["auc_gauss_length"],
            "spearman": stats["spearman_gauss_length_min_delta"],
            "low_half": None if h_g is None else h_g["low"][0],
            "high_half": None if h_g is None else h_g["high"][0],
        },
        {
            "predictor": "mean logit Gauss length, turning (kinks included)",
            "auc": stats["auc_gauss_length_turning"],
            "spearman": stats["spearman_gauss_length_turning_min_delta"],
            "low_half": None if h_t is None else h_t["low"][0],
            "high_half": None if h_t is None else h_t["high"][0],
        },
    ]
    rep.table(
        Table(
            "predictors",
            "How well distance and Gauss length predict non-monotone interpolation",
            ["predictor", "auc", "spearman", "low_half", "high_half"],
            trows,
            headers={
                "auc": "ROC AUC for min Δ > threshold",
                "spearman": "Spearman with min Δ",
                "low_half": "non-monotone share, lower half",
                "high_half": "non-monotone share, upper half",
            },
            note="Halves split at the median of the predictor over the analysed runs. AUC 0.5 is chance.",
        )
    )
    fits = []
    for name, fit, sel, ykey in (
        (f"{p['fit_dataset']}, normalised distance (Figure 7)", fit_main, fit_rows, "gauss_length"),
        (f"{p['fit_dataset']}, unnormalised distance", fit_raw, None, None),
        (f"{p['fit_dataset']}, normalised distance, turning Gauss length", fit_turn, fit_rows, "gauss_length_turning"),
        ("all data sets, normalised distance", fit_all, kept, "gauss_length"),
    ):
        ci = None if sel is None else r2_interval([r["norm_distance"] for r in sel], [r[ykey] for r in sel])
        fits.append({"fit": name, **(fit or {"slope": None, "intercept": None, "r2": None, "n": 0}), "r2_ci": ci})
    groups = {}
    for ds in sorted({r["dataset"] for r in kept}):
        for bn in (False, True):
            sel = [r for r in kept if r["dataset"] == ds and r["batchnorm"] == bn]
            if len(sel) >= p.get("min_group", 3):
                fit = log_fit([r["norm_distance"] for r in sel], [r["gauss_length"] for r in sel])
                if fit is not None:
                    groups[f"{ds}, {'batch norm' if bn else 'no batch norm'}"] = fit
                    ci = r2_interval([r["norm_distance"] for r in sel], [r["gauss_length"] for r in sel])
                    fits.append({"fit": f"{ds}, {'batch norm' if bn else 'no batch norm'} only", **fit, "r2_ci": ci})
    rep.numbers["fit_by_setting"] = groups
    fits.append(
        {
            "fit": "paper, Figure 7 (Fashion-MNIST MLPs)",
            "slope": None,
            "intercept": None,
            "r2": p["paper_r2"],
            "n": None,
        }
    )
    for row in fits:
        ci = row.pop("r2_ci", None)
        row["r2_ci"] = None if ci is None else f"[{ci[0]:.3f}, {ci[1]:.3f}]"
        row["paper_inside"] = None if ci is None or row["n"] is None else bool(ci[0] <= p["paper_r2"] <= ci[1])
    rep.table(
        Table(
            "power_law",
            "Power law G ≈ e^b · d^a of the mean logit Gauss length G on the distance d (log–log least squares)",
            ["fit", "slope", "intercept", "r2", "r2_ci", "paper_inside", "n"],
            fits,
            headers={
                "slope": "slope a",
                "intercept": "intercept b",
                "r2": "R²",
                "r2_ci": "R², 95% interval",
                "paper_inside": "paper's 0.616 inside",
                "n": "runs",
            },
            note="The paper's R² = 0.616 is typed in from Lucas et al. 2021, Figure 7; it does not report the slope. "
            "R² intervals: the Fisher-z interval of the log–log correlation r (scipy.stats.pearsonr), squared.",
        )
    )

    # ---- claims: the pre-registered rules of lucas_fig5_7.toml
    units = [
        {k: r[k] for k in ("hash", "dataset", "optimizer", "lr", "batchnorm", "fails", "norm_distance", "gauss_length")}
        for r in kept
    ]
    ctx.judge(rep, {"runs": units})
    exact_table(rep, [(run_label(r), exact_mli(ctx, by_hash[r["hash"]])) for r in kept], p["delta_threshold"])

    # ---- figures
    pyplot = plt()
    colors = lambda rs: ["tab:orange" if r["fails"] else "tab:blue" for r in rs]
    fig, axes = pyplot.subplots(1, 2, figsize=(11, 4))
    for ax, key, name in (
        (axes[0], "norm_distance", "‖θ_T − θ_0‖ / ‖θ_0‖"),
        (axes[1], "gauss_length", "mean logit Gauss length"),
    ):
        ax.scatter([r[key] for r in kept], [r["min_delta"] for r in kept], c=colors(kept), s=18, alpha=0.8)
        ax.set(xscale="log", yscale="symlog", xlabel=name, ylabel="min Δ")
        ax.set_yscale("symlog", linthresh=1e-3)
    axes[0].set_title("blue: MLI holds, orange: MLI fails")
    rep.figure(
        "fig5_scatter",
        fig,
        "Figure 5 analogue: min Δ against the normalised weight distance (left) and the mean "
        "logit Gauss length (right), one point per counted run.",
    )
    fig, ax = pyplot.subplots(figsize=(5.5, 4))
    for bn, marker in ((False, "o"), (True, "^")):
        sel = [r for r in fit_rows if r["batchnorm"] == bn]
        ax.scatter(
            [r["norm_distance"] for r in sel],
            [r["gauss_length"] for r in sel],
            c=colors(sel),
            s=22,
            marker=marker,
            label="batch norm" if bn else "no batch norm",
        )
    if fit_main is not None:
        xs = np.geomspace(min(r["norm_distance"] for r in fit_rows), max(r["norm_distance"] for r in fit_rows), 50)
        ax.plot(
            xs,
            np.exp(fit_main["intercept"]) * xs ** fit_main["slope"],
            "k--",
            label=f"G = {np.exp(fit_main['intercept']):.2g}·d^{fit_main['slope']:.2f}, R² = {fit_main['r2']:.2f}",
        )
        ax.legend()
    ax.set(xlabel="‖θ_T − θ_0‖ / ‖θ_0‖", ylabel="mean logit Gauss length", title=f"{p['fit_dataset']} runs")
    if fit_rows:
        ax.set(xscale="log", yscale="log")
    else:  # no counted run of the fit's data set: an empty panel that says so (a log axis needs data)
        ax.text(0.5, 0.5, f"no {p['fit_dataset']} run reached\nthe loss filter", ha="center", transform=ax.transAxes)
    rep.figure(
        "fig7_power_law",
        fig,
        "Figure 7 analogue: Gauss length against normalised distance (log–log) with the "
        "least-squares power law; triangles: batch norm, circles: none; orange: MLI fails.",
    )
    return rep
