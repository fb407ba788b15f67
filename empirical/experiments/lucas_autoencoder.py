"""Lucas et al. 2021, Figure 4: deep MNIST autoencoders trained with SGD or Adam — share of non-monotone runs.

A run counts when its final training loss (summed squared error per example) is below ``loss_threshold`` (30);
it is non-monotone when :math:`\\min\\Delta >` ``delta_threshold``.

References:
    Lucas et al. 2021 (arXiv 2104.11044), §4.1.2 and Figure 4.
"""

from __future__ import annotations

from empirical.experiments._common import measure_row, plt, share
from empirical.report import Claim, Report, Table


def analyse(ctx) -> Report:
    p = ctx.params
    rep = ctx.new_report()
    rows = []
    for rec in ctx.records:
        r = measure_row(rec)
        r["bottleneck"] = rec.config.model_options.get("bottleneck", 25)
        rows.append(r)
    kept = [r for r in rows if r["measured"] and r["final_train_loss"] < p["loss_threshold"]]
    for r in kept:
        r["nonmonotone"] = bool(r["min_delta"] > p["delta_threshold"])
    rep.note(
        f"{len(rows)} runs: {len(kept)} reached final training loss < {p['loss_threshold']:g} and are counted; "
        f"{sum(r['state'] == 'diverged' for r in rows)} diverged, {sum(r['state'] == 'stopped' for r in rows)} "
        "were stopped early by the authors' rule (loss > 55 after 10 epochs)."
    )
    if ctx.spec.scale != "paper":
        c0 = ctx.spec.configs[0]
        ks = sorted({r["bottleneck"] for r in rows}, reverse=True)
        rep.note(
            f"Scale: {c0.n_train} MNIST training images, {c0.epochs} epochs (the authors: the full set, 200 epochs), "
            f"bottlenecks {ks}, {len({r['lr'] for r in rows})} learning rates."
        )
    lrs = sorted({r["lr"] for r in rows}, reverse=True)
    cols = ["optimizer", *[f"{lr:g}" for lr in lrs], "all"]
    trows, cells = [], {}
    for opt in ("sgd", "adam"):
        row = {"optimizer": "SGD" if opt == "sgd" else "Adam"}
        for lr in lrs:
            prop, n = share(r["nonmonotone"] for r in kept if r["optimizer"] == opt and r["lr"] == lr)
            row[f"{lr:g}"] = "-" if not n else f"{prop:.2f} ({n})"
            cells[f"{opt}|lr={lr:g}"] = {"share": prop, "count": n}
        prop, n = share(r["nonmonotone"] for r in kept if r["optimizer"] == opt)
        row["all"] = "-" if not n else f"{prop:.2f} ({n})"
        cells[f"{opt}|all"] = {"share": prop, "count": n}
        trows.append(row)
    rep.table(
        Table(
            "autoencoders",
            f"Share of non-monotone autoencoders (count with final loss < {p['loss_threshold']:g}), by learning rate",
            cols,
            trows,
            note=f"Non-monotone: min Δ > {p['delta_threshold']:g} (loss units: summed squared error per image). "
            "The paper "
            "shows the curves (Figure 4) without a table of shares.",
        )
    )
    rep.numbers["cells"] = cells
    rep.numbers["runs"] = [
        {k: r[k] for k in ("hash", "optimizer", "lr", "bottleneck", "final_train_loss", "min_delta", "norm_distance")}
        for r in kept
    ]
    k = p["min_count"]
    sgd, adam = cells["sgd|all"], cells["adam|all"]
    max_d = lambda opt: max((r["norm_distance"] for r in kept if r["optimizer"] == opt), default=float("nan"))
    min_nm = lambda: min((r["norm_distance"] for r in kept if r["nonmonotone"]), default=float("nan"))
    f = lambda c: "–" if c["share"] is None else f"{c['share']:.2f} of {c['count']}"
    rep.claim(
        Claim(
            "sgd_mostly_monotone",
            "The majority of SGD-trained autoencoders keep the MLI property",
            "Lucas et al. 2021, §4.1.2 and Figure 4",
            Claim.decide(None if sgd["count"] < k else sgd["share"] < 0.5),
            f"SGD non-monotone share {f(sgd)}",
            sgd,
        )
    )
    ok = None if min(sgd["count"], adam["count"]) < k else adam["share"] > sgd["share"]
    rep.claim(
        Claim(
            "adam_more_nonmonotone",
            "A larger share of Adam-trained autoencoders are non-monotone than of SGD-trained ones",
            "Lucas et al. 2021, §4.1.2 and Figure 4",
            Claim.decide(ok),
            f"non-monotone share: Adam {f(adam)}, SGD {f(sgd)}",
            {"adam": adam, "sgd": sgd},
            reason=""
            if ok is not False
            else f"few counted runs ({adam['count']} Adam, {sgd['count']} SGD) after far fewer epochs than the paper's "
            f"200; the counted Adam runs moved at most {max_d('adam'):.3g} (normalised distance), while non-monotone "
            f"runs moved {min_nm():.3g} or more",
        )
    )
    sgd_nm = [r["lr"] for r in kept if r["optimizer"] == "sgd" and r["nonmonotone"]]
    sgd_lrs = sorted({r["lr"] for r in kept if r["optimizer"] == "sgd"})
    if sgd_lrs:
        upper = sgd_lrs[len(sgd_lrs) // 2 :]
        ok = None if sgd["count"] < k else all(lr in upper for lr in sgd_nm)
        rep.claim(
            Claim(
                "sgd_failures_large_lr",
                "SGD autoencoders fail MLI only at the larger learning rates",
                "Lucas et al. 2021, §4.1.2 (“few failures at large learning rates”)",
                Claim.decide(ok),
                f"learning rates of non-monotone SGD runs: {sorted(set(sgd_nm)) or 'none'}; upper half of the "
                "counted SGD "
                f"learning rates: {upper}",
                {"nonmonotone_lrs": sgd_nm, "upper_half": upper},
            )
        )

    pyplot = plt()
    fig, axes = pyplot.subplots(1, 2, figsize=(11, 3.8), sharey=True)
    counted = {r["hash"]: r for r in kept}
    for ax, opt in zip(axes, ("sgd", "adam")):
        for rec in ctx.records:
            r = counted.get(rec.config.hash)
            if r is None or rec.curve is None or r["optimizer"] != opt:
                continue
            ax.plot(
                rec.curve["alphas"],
                rec.curve["loss"],
                lw=1,
                ls="--" if r["nonmonotone"] else "-",
                color="tab:orange" if r["nonmonotone"] else "tab:blue",
                alpha=0.8,
            )
        ax.set(title="SGD" if opt == "sgd" else "Adam", xlabel="α", yscale="log")
    axes[0].set_ylabel("training loss (squared error per image)")
    rep.figure(
        "fig4_curves",
        fig,
        "Figure 4 analogue: training loss along the interpolation for the counted "
        "autoencoders; orange dashed: non-monotone.",
    )
    return rep
