"""Lucas et al. 2021, Figure 4: deep MNIST autoencoders trained with SGD or Adam — share of non-monotone runs.

A run counts when its final training loss (summed squared error per example) is below ``loss_threshold`` (30);
it is non-monotone when $\\min\\Delta >$ ``delta_threshold``.

References:
    Lucas et al. 2021 (arXiv 2104.11044), §4.1.2 and Figure 4.
"""

from __future__ import annotations

from empirical.experiments._common import exact_mli, exact_table, measure_row, plt, share
from empirical.report import Report, Table


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
    # ---- claims: the pre-registered rules of lucas_autoencoder.toml
    units = [{k: r[k] for k in ("hash", "dataset", "optimizer", "lr", "bottleneck", "nonmonotone")} for r in kept]
    ctx.judge(rep, {"runs": units})
    by_hash, n = {rec.config.hash: rec for rec in ctx.records}, p["exact_examples"]
    items = [
        (f"{r['optimizer']} lr {r['lr']:g}, bottleneck {r['bottleneck']}, seed {r['seed']}",
         exact_mli(ctx, by_hash[r["hash"]], n=n))
        for r in kept
    ]  # fmt: skip
    exact_table(rep, items, p["delta_threshold"], n=n)
    nm = [r["norm_distance"] for r in kept if r["nonmonotone"]]
    mono = [r["norm_distance"] for r in kept if not r["nonmonotone"]]
    if nm and mono:  # measured, not a fixed text: how far the non-monotone autoencoders moved
        rep.note(
            f"Normalised distance ‖θ_T − θ_0‖ / ‖θ_0‖: non-monotone runs {min(nm):.3g}–{max(nm):.3g} (median "
            f"{sorted(nm)[len(nm) // 2]:.3g}), monotone runs {min(mono):.3g}–{max(mono):.3g} (median "
            f"{sorted(mono)[len(mono) // 2]:.3g})."
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
                rec.curve.alphas,
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
