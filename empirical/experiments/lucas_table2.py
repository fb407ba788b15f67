"""Lucas et al. 2021, Table 2: ResNet variants × optimiser — share of non-monotone runs and mean min Δ.

Variants (``empirical.models.CifarResNet``): ``bn`` (batch norm), ``bn-i`` (batch norm, last γ of each residual
branch zero), ``nbn-i`` (no batch norm, residual scale zero), ``nbn-f`` (Fixup). A run counts when its final
training loss is below ``loss_threshold`` (1.0); non-monotone when :math:`\\min\\Delta >` ``delta_threshold`` (0).

References:
    Lucas et al. 2021 (arXiv 2104.11044), Table 2 and §4.1.3.
"""

from __future__ import annotations

from empirical.experiments._common import measure_row, plt, share
from empirical.report import Claim, Report, Table

VARIANTS = ("bn", "bn-i", "nbn-i", "nbn-f")
_HEAD = {"bn": "BN", "bn-i": "BN-I", "nbn-i": "NBN-I", "nbn-f": "NBN-F"}
#: Lucas et al. 2021, Table 2 (CIFAR-10): (share non-monotone, count, mean min Δ of the non-monotone runs)
PAPER_TABLE2 = {
    "sgd": {"bn": (0.54, 26, 0.794), "bn-i": (0.00, 26, 0.000), "nbn-i": (0.00, 23, 0.000), "nbn-f": (0.11, 27, 0.076)},
    "adam": {
        "bn": (0.77, 22, 0.351),
        "bn-i": (0.27, 30, 0.054),
        "nbn-i": (0.20, 20, 0.033),
        "nbn-f": (0.04, 23, 0.332),
    },
}


def analyse(ctx) -> Report:
    p = ctx.params
    rep = ctx.new_report()
    rows = []
    for rec in ctx.records:
        r = measure_row(rec)
        r["variant"] = rec.config.model_options.get("variant", "bn")
        r["arch"] = rec.config.model
        rows.append(r)
    kept = [r for r in rows if r["measured"] and r["final_train_loss"] < p["loss_threshold"]]
    for r in kept:
        r["nonmonotone"] = bool(r["min_delta"] > p["delta_threshold"])
    archs = sorted({r["arch"] for r in rows})
    data = sorted({rec.config.dataset for rec in ctx.records})
    rep.note(
        f"{len(rows)} runs ({', '.join(archs)} on {', '.join(data)}): {len(kept)} reached final training loss "
        f"< {p['loss_threshold']:g} and are counted; {sum(r['state'] == 'diverged' for r in rows)} diverged."
    )
    if ctx.spec.scale != "paper":
        rep.note(
            "Scale: a smaller ResNet, a training subsample and a few epochs on a CPU; a handful of runs per cell "
            "instead of the paper's 20–30, over fewer learning rates."
        )

    cols = ["optimizer", "row", *[_HEAD[v] for v in VARIANTS]]
    trows, cells = [], {}
    for opt in ("sgd", "adam"):
        share_row = {"optimizer": f"{opt.upper() if opt == 'sgd' else 'Adam'} (ours)", "row": "% (total)"}
        delta_row = {"optimizer": share_row["optimizer"], "row": "min Δ"}
        ref_s = {"optimizer": f"{opt.upper() if opt == 'sgd' else 'Adam'} (paper)", "row": "% (total)"}
        ref_d = {"optimizer": ref_s["optimizer"], "row": "min Δ"}
        for v in VARIANTS:
            sel = [r for r in kept if r["optimizer"] == opt and r["variant"] == v]
            prop, n = share(r["nonmonotone"] for r in sel)
            deltas = [r["min_delta"] for r in sel if r["nonmonotone"]]
            mean_d = sum(deltas) / len(deltas) if deltas else (0.0 if n else None)
            share_row[_HEAD[v]] = "-" if not n else f"{prop:.2f} ({n})"
            delta_row[_HEAD[v]] = "-" if mean_d is None else f"{mean_d:.3f}"
            ref = PAPER_TABLE2[opt][v]
            ref_s[_HEAD[v]] = f"{ref[0]:.2f} ({ref[1]})"
            ref_d[_HEAD[v]] = f"{ref[2]:.3f}"
            cells[f"{opt}|{v}"] = {"share": prop, "count": n, "mean_min_delta_nonmonotone": mean_d}
        trows += [share_row, delta_row, ref_s, ref_d]
    rep.table(
        Table(
            "table2",
            "Share of non-monotone interpolations (count) and mean min Δ of the non-monotone runs, by ResNet variant",
            cols,
            trows,
            note=(
                "Rows marked (paper) are Lucas et al. 2021, Table 2 (CIFAR-10), typed in for comparison; rows "
                f"marked (ours) are measured here on {', '.join(data)}. min Δ is averaged over the non-monotone "
                "runs (0 when every counted run was monotone)."
            ),
        )
    )
    rep.numbers["cells"] = cells

    k = p["min_count"]
    dists = sorted(r["norm_distance"] for r in kept)
    c0 = ctx.spec.configs[0]
    why = (
        f"{len(kept)} of {len(rows)} runs counted, at most {max(c['count'] for c in cells.values())} per cell "
        f"(the paper: 20–30); {c0.model} trained for "
        f"{c0.epochs} epochs on {c0.n_train or 'all'} {c0.dataset} images moves little from its initialisation "
        f"(median normalised distance {dists[len(dists) // 2]:.3g})"
        if dists
        else "no run reached the loss threshold"
    )
    fmt = lambda g: "–" if g[0] is None else f"{g[0]:.2f} of {g[1]}"
    grp = lambda pred: share(r["nonmonotone"] for r in kept if pred(r))
    bn_plain = grp(lambda r: r["variant"] == "bn")
    no_bn = grp(lambda r: r["variant"] in ("nbn-i", "nbn-f"))
    ok = None if min(bn_plain[1], no_bn[1]) < k else bn_plain[0] > no_bn[0]
    rep.claim(
        Claim(
            "bn_more_nonmonotone",
            "ResNets with batch norm (standard initialisation) are non-monotone more often than those without",
            "Lucas et al. 2021, §4.1.3 and Table 2",
            Claim.decide(ok),
            f"non-monotone share: BN {fmt(bn_plain)}; NBN-I and NBN-F together {fmt(no_bn)}",
            {"bn": bn_plain, "no_bn": no_bn},
            reason="" if ok is not False else why,
        )
    )
    sgd, adam = grp(lambda r: r["optimizer"] == "sgd"), grp(lambda r: r["optimizer"] == "adam")
    ok = None if min(sgd[1], adam[1]) < k else adam[0] > sgd[0]
    rep.claim(
        Claim(
            "adam_more_nonmonotone",
            "Adam-trained ResNets are non-monotone more often than SGD-trained ones",
            "Lucas et al. 2021, §4.1.2 and Table 2",
            Claim.decide(ok),
            f"non-monotone share: Adam {fmt(adam)}, SGD {fmt(sgd)}",
            {"adam": adam, "sgd": sgd},
            reason="" if ok is not False else why,
        )
    )
    bni = grp(lambda r: r["variant"] == "bn-i")
    ok = None if min(bn_plain[1], bni[1]) < k else bni[0] < bn_plain[0]
    rep.claim(
        Claim(
            "identity_init_helps",
            "The initialisation of the residual blocks matters: BN-I is non-monotone less often than BN",
            "Lucas et al. 2021, §4.1.3 and Table 2",
            Claim.decide(ok),
            f"non-monotone share: BN-I {fmt(bni)}, BN {fmt(bn_plain)}",
            {"bn_i": bni, "bn": bn_plain},
            reason="" if ok is not False else why,
        )
    )

    pyplot = plt()
    fig, axes = pyplot.subplots(2, 4, figsize=(14, 6), sharex=True)
    counted = {r["hash"]: r for r in kept}
    for i, opt in enumerate(("sgd", "adam")):
        for j, v in enumerate(VARIANTS):
            ax = axes[i, j]
            for rec in ctx.records:
                r = counted.get(rec.config.hash)
                if r is None or rec.curve is None or r["optimizer"] != opt or r["variant"] != v:
                    continue
                ax.plot(
                    rec.curve["alphas"],
                    rec.curve["loss"],
                    ls="--" if r["nonmonotone"] else "-",
                    lw=1.2,
                    label=f"lr {r['lr']:g}",
                )
            ax.set_title(f"{'SGD' if opt == 'sgd' else 'Adam'}, {_HEAD[v]}")
            if ax.lines:
                ax.legend(fontsize=7)
            if i == 1:
                ax.set_xlabel("α")
        axes[i, 0].set_ylabel("training loss")
    rep.figure(
        "curves",
        fig,
        "Training loss along the straight line from initialisation to the final parameters, for the counted runs; "
        "dashed: non-monotone (min Δ > 0).",
    )
    return rep
