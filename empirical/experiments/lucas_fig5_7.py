"""Lucas et al. 2021, Figures 5 and 7: distance and Gauss length against min Δ; the Gauss-length power law.

For the runs that reach the loss threshold: ROC AUC of the normalised distance and of the mean logit Gauss length
as scores for "MLI fails" (min Δ > ``delta_threshold``), Spearman correlations with min Δ and with the learning
rate, and the least-squares fit of :math:`\\log G = a \\log d + b` with its :math:`R^2`.

References:
    Lucas et al. 2021 (arXiv 2104.11044), §4.2, Figures 5 and 7 (R² = 0.616 on the MLP/Fashion-MNIST runs).
"""

from __future__ import annotations

import numpy as np

from empirical.experiments._common import (
    auc,
    derivative_gauss_length,
    log_fit,
    measure_row,
    plt,
    rank_correlation,
    share,
)
from empirical.report import Claim, Report, Table


def analyse(ctx) -> Report:
    p = ctx.params
    rep = ctx.new_report()
    rows = [measure_row(r) for r in ctx.records]
    kept = [r for r in rows if r["measured"] and r["final_train_loss"] < p["loss_threshold"]]
    by_hash = {rec.config.hash: rec for rec in ctx.records}
    for r in kept:
        r["fails"] = bool(r["min_delta"] > p["delta_threshold"])
        both = derivative_gauss_length(ctx, by_hash[r["hash"]])
        r["gauss_length_turning"] = r["gauss_length"]
        r["gauss_length"] = both["derivative"]
    rep.note(
        f"{len(rows)} runs; {len(kept)} reached final training loss < {p['loss_threshold']:g} and are analysed "
        f"({sum(r['fails'] for r in kept)} non-monotone)."
    )
    rep.note(
        "Gauss length G: the mean over training examples of ∫‖T′(α)‖dα of the logit path, with z′ and z″ by "
        "forward-mode differentiation at the interpolation points (batch-norm statistics re-estimated and held fixed), "
        "as the authors compute it; ReLU kinks contribute nothing to it. The runs' own measurement (the turning "
        "angles of the sampled logit polygon, which also counts the turns at ReLU kinks) is reported beside it as "
        "'turning'."
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
    f = lambda x: "–" if x is None else f"{x:.3f}"
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
    for name, fit in (
        (f"{p['fit_dataset']}, normalised distance (Figure 7)", fit_main),
        (f"{p['fit_dataset']}, unnormalised distance", fit_raw),
        (f"{p['fit_dataset']}, normalised distance, turning Gauss length", fit_turn),
        ("all data sets, normalised distance", fit_all),
    ):
        fits.append({"fit": name, **(fit or {"slope": None, "intercept": None, "r2": None, "n": 0})})
    groups = {}
    for ds in sorted({r["dataset"] for r in kept}):
        for bn in (False, True):
            sel = [r for r in kept if r["dataset"] == ds and r["batchnorm"] == bn]
            if len(sel) >= p.get("min_group", 5):
                fit = log_fit([r["norm_distance"] for r in sel], [r["gauss_length"] for r in sel])
                if fit is not None:
                    groups[f"{ds}, {'batch norm' if bn else 'no batch norm'}"] = fit
                    fits.append({"fit": f"{ds}, {'batch norm' if bn else 'no batch norm'} only", **fit})
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
    rep.table(
        Table(
            "power_law",
            "Power law G ≈ e^b · d^a of the mean logit Gauss length G on the distance d (log–log least squares)",
            ["fit", "slope", "intercept", "r2", "n"],
            fits,
            headers={"slope": "slope a", "intercept": "intercept b", "r2": "R²", "n": "runs"},
            note="The paper's R² = 0.616 is typed in from Lucas et al. 2021, Figure 7; it does not report the slope.",
        )
    )

    ok = None if stats["auc_distance"] is None else stats["auc_distance"] > 0.5
    rep.claim(
        Claim(
            "distance_predicts",
            "Networks that travel further in weight space are more likely to be non-monotone",
            "Lucas et al. 2021, §4.2.1 and Figure 5 (left)",
            Claim.decide(ok),
            f"ROC AUC of the normalised distance for non-monotone: {f(stats['auc_distance'])}; non-monotone "
            "share in the "
            f"lower / upper half of distances: {h_d and f(h_d['low'][0])} / {h_d and f(h_d['high'][0])}",
            {"auc": stats["auc_distance"], "halves": h_d},
            reason="" if ok is not False else "too few non-monotone runs at this scale to separate the distances",
        )
    )
    ok = None if stats["auc_gauss_length"] is None else stats["auc_gauss_length"] > 0.5
    rep.claim(
        Claim(
            "gauss_length_predicts",
            "Small Gauss lengths go with monotone interpolations; larger ones with non-monotone",
            "Lucas et al. 2021, §4.2.2 and Figure 5 (right)",
            Claim.decide(ok),
            f"ROC AUC of the Gauss length for non-monotone: {f(stats['auc_gauss_length'])}; Spearman with min Δ "
            f"{f(stats['spearman_gauss_length_min_delta'])}",
            {"auc": stats["auc_gauss_length"], "halves": h_g},
        )
    )
    rhos = [by_opt[o][k] for o in by_opt for k in ("spearman_lr_distance", "spearman_lr_gauss_length")]
    ok = None if any(r is None for r in rhos) else all(r > p.get("rho_min", 0.3) for r in rhos)
    rep.claim(
        Claim(
            "lr_increases_distance_and_gl",
            "Larger learning rates give larger weight distances and Gauss lengths",
            "Lucas et al. 2021, §4.2.1–4.2.2",
            Claim.decide(ok),
            "Spearman(lr, distance) SGD {a}, Adam {b}; Spearman(lr, Gauss length) SGD {c}, Adam {d} (supported when "
            "all exceed {r})".format(
                r=p.get("rho_min", 0.3),
                a=f(by_opt["sgd"]["spearman_lr_distance"]),
                b=f(by_opt["adam"]["spearman_lr_distance"]),
                c=f(by_opt["sgd"]["spearman_lr_gauss_length"]),
                d=f(by_opt["adam"]["spearman_lr_gauss_length"]),
            ),
            by_opt,
        )
    )
    ok = None if fit_main is None else (fit_main["slope"] > 0 and fit_main["r2"] >= p.get("r2_min", 0.5))
    rep.claim(
        Claim(
            "power_law",
            "Gauss length follows a power law in the distance travelled (paper: R² = 0.616)",
            "Lucas et al. 2021, §4.2.3 and Figure 7",
            Claim.decide(ok),
            "no fit (fewer than 3 runs)"
            if fit_main is None
            else f"slope a = {fit_main['slope']:.3f}, R² = {fit_main['r2']:.3f} over {fit_main['n']} "
            f"{p['fit_dataset']} runs "
            f"(all data sets: R² = {f(fit_all and fit_all['r2'])}); supported when a > 0 and R² ≥ "
            f"{p.get('r2_min', 0.5)}",
            {"fit": fit_main, "fit_all": fit_all},
            reason=""
            if ok is not False
            else (
                "pooling runs with and without batch norm: batch-norm networks have longer Gauss lengths at the same "
                "distance (a different intercept), and few runs reach the loss filter at this scale"
            ),
        )
    )

    ok = None if not groups else all(g["slope"] > 0 and g["r2"] >= p.get("r2_min", 0.5) for g in groups.values())
    rep.claim(
        Claim(
            "power_law_within_settings",
            "The power law holds within each setting (data set × batch norm)",
            "Lucas et al. 2021, §4.2.3 (“across all of the experimental settings that we explored”) and App. C.7",
            Claim.decide(ok),
            "; ".join(f"{k}: a = {g['slope']:.3f}, R² = {g['r2']:.3f} ({g['n']} runs)" for k, g in groups.items())
            + f" (settings with ≥ {p.get('min_group', 5)} runs; supported when every a > 0 and R² ≥ "
            f"{p.get('r2_min', 0.5)})",
            groups,
        )
    )

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
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="‖θ_T − θ_0‖ / ‖θ_0‖",
        ylabel="mean logit Gauss length",
        title=f"{p['fit_dataset']} runs",
    )
    rep.figure(
        "fig7_power_law",
        fig,
        "Figure 7 analogue: Gauss length against normalised distance (log–log) with the "
        "least-squares power law; triangles: batch norm, circles: none; orange: MLI fails.",
    )
    return rep
