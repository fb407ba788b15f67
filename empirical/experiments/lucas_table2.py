"""Lucas et al. 2021, Table 2: ResNet variants × optimiser — share of non-monotone runs and mean min Δ.

Variants (``empirical.models.CifarResNet``): ``bn`` (batch norm), ``bn-i`` (batch norm, last γ of each residual
branch zero), ``nbn-i`` (no batch norm, residual scale zero), ``nbn-f`` (Fixup). A run counts when its final
training loss is below ``loss_threshold`` (1.0); non-monotone when $\\min\\Delta >$ ``delta_threshold`` (0).

References:
    Lucas et al. 2021 (arXiv 2104.11044), Table 2 and §4.1.3.
"""

from __future__ import annotations

from empirical.claims import compare_means, compare_shares
from empirical.experiments._common import cells_table, measure_row, plt, share
from empirical.report import Report, Table

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

    # ---- the paper's cells against ours: shares (exact intervals) and mean min Δ of the non-monotone runs
    ours_cells, paper_cells, ours_means, paper_means = {}, {}, {}, {}
    for opt in ("sgd", "adam"):
        for v in VARIANTS:
            sel = [r for r in kept if r["optimizer"] == opt and r["variant"] == v]
            key = f"{'SGD' if opt == 'sgd' else 'Adam'}, {_HEAD[v]}"
            ours_cells[key] = (sum(r["nonmonotone"] for r in sel), len(sel))
            ref = PAPER_TABLE2[opt][v]
            paper_cells[key] = (ref[0], ref[1])
            ours_means[f"{key}, min Δ"] = [r["min_delta"] for r in sel if r["nonmonotone"]]
            paper_means[f"{key}, min Δ"] = ref[2] if ref[0] > 0 else None
    cmp = compare_shares(ours_cells, paper_cells)
    cmp_d = compare_means(ours_means, paper_means)
    rep.table(cells_table("table2_vs_paper", "Table 2, cell by cell: the paper's share against ours", cmp))
    rep.table(
        cells_table(
            "table2_min_delta_vs_paper", "Table 2, cell by cell: the paper's mean min Δ (non-monotone runs)", cmp_d
        )
    )
    rep.numbers["paper_comparison"] = {"shares": cmp.to_json(), "min_delta": cmp_d.to_json()}

    # ---- claims: the pre-registered rules of lucas_table2.toml
    units = [{k: r[k] for k in ("hash", "dataset", "variant", "optimizer", "lr", "nonmonotone")} for r in kept]
    ctx.judge(rep, {"runs": units})

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
                    rec.curve.alphas,
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
