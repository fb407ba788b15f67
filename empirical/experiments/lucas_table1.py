"""Lucas et al. 2021, Table 1: share of non-monotone MLP classifiers by optimiser × batch norm × learning rate.

A run counts when its final training loss (measured at α = 1 of its interpolation) is below
``loss_threshold`` (0.1); it is non-monotone when $\\min\\Delta >$ ``delta_threshold`` (10⁻³). The table
puts the share and count of each cell beside the paper's.

References:
    Lucas, Bae, Zhang, Fort, Zemel, Grosse. Analyzing Monotonic Linear Interpolation in Neural Network Loss
    Landscapes. ICML 2021 (arXiv 2104.11044), Table 1 and §4.1.
"""

from __future__ import annotations

from empirical.claims import compare_shares
from empirical.experiments._common import cells_table, exact_mli, exact_table, measure_row, plt, run_label, share
from empirical.report import Report, Table

#: Lucas et al. 2021, Table 1 (proportion non-monotone, number of runs with training loss < 0.1); None: "-"
PAPER_TABLE1: dict[tuple[str, bool], dict[float, tuple[float, int] | None]] = {
    ("sgd", True): {
        0.001: (0.00, 20),
        0.003: (0.00, 24),
        0.01: (0.00, 24),
        0.03: (0.00, 24),
        0.1: (0.00, 24),
        0.3: (0.17, 24),
        1.0: (0.83, 24),
        3.0: (1.00, 16),
    },
    ("sgd", False): {
        0.001: (0.00, 4),
        0.003: (0.00, 8),
        0.01: (0.00, 12),
        0.03: (0.00, 20),
        0.1: (0.20, 20),
        0.3: (0.00, 12),
        1.0: (0.00, 4),
        3.0: (0.00, 4),
    },
    ("adam", True): {
        0.001: (0.17, 24),
        0.003: (0.68, 22),
        0.01: (0.83, 24),
        0.03: (1.00, 24),
        0.1: (1.00, 16),
        0.3: (1.00, 16),
        1.0: (1.00, 4),
        3.0: None,
    },
    ("adam", False): {
        0.001: (0.00, 24),
        0.003: (0.20, 20),
        0.01: (0.00, 12),
        0.03: (0.00, 4),
        0.1: None,
        0.3: None,
        1.0: None,
        3.0: None,
    },
}
_GROUPS = [("sgd", True), ("sgd", False), ("adam", True), ("adam", False)]


def _name(opt: str, bn: bool) -> str:
    return f"{'SGD' if opt == 'sgd' else 'Adam'} {'BN' if bn else 'no BN'}"


def _cell(p: float | None, n: int) -> str:
    return "-" if not n else f"{p:.2f} ({n})"


def classify(rows: list[dict], loss_threshold: float, delta_threshold: float) -> list[dict]:
    """The measured rows below the loss threshold, each with ``nonmonotone = min_delta > delta_threshold``."""
    kept = [dict(r) for r in rows if r["measured"] and r["final_train_loss"] < loss_threshold]
    for r in kept:
        r["nonmonotone"] = bool(r["min_delta"] > delta_threshold)
    return kept


def analyse(ctx) -> Report:
    p = ctx.params
    rep = ctx.new_report()
    rows = [measure_row(r) for r in ctx.records]
    kept = classify(rows, p["loss_threshold"], p["delta_threshold"])
    lrs = sorted({r["lr"] for r in rows})
    diverged = sum(r["state"] == "diverged" for r in rows)
    stopped = sum(r["state"] == "stopped" for r in rows)
    rep.note(
        f"{len(rows)} runs: {len(kept)} reached final training loss < {p['loss_threshold']:g} and are counted; "
        f"{diverged} diverged (non-finite loss) and {stopped} were stopped early by the authors' rule "
        "(loss > 1 after 10 epochs)."
    )
    if ctx.spec.scale != "paper":
        per_cell = max(
            (
                sum(1 for r in kept if (r["optimizer"], r["batchnorm"], r["lr"]) == k)
                for k in {(r["optimizer"], r["batchnorm"], r["lr"]) for r in kept}
            ),
            default=0,
        )
        rep.note(
            f"Scale {ctx.spec.scale}: fewer architectures than the paper, so at most {per_cell} counted runs per "
            "cell (the paper: up to 24); the claims pool the cells, as the paper's text does."
        )

    # ---- the table, ours beside the paper's
    cols = ["setting", *[f"{lr:g}" for lr in lrs]]
    trows, numbers = [], {}
    for opt, bn in _GROUPS:
        ours = {"setting": f"{_name(opt, bn)} (ours)"}
        ref = {"setting": f"{_name(opt, bn)} (paper)"}
        for lr in lrs:
            cell = [r["nonmonotone"] for r in kept if (r["optimizer"], r["batchnorm"], r["lr"]) == (opt, bn, lr)]
            prop, n = share(cell)
            ours[f"{lr:g}"] = _cell(prop, n)
            deltas = [
                r["min_delta"]
                for r in kept
                if (r["optimizer"], r["batchnorm"], r["lr"]) == (opt, bn, lr) and r["nonmonotone"]
            ]
            numbers[f"{opt}|bn={bn}|lr={lr:g}"] = {
                "share": prop,
                "count": n,
                "mean_min_delta_nonmonotone": (sum(deltas) / len(deltas)) if deltas else None,
            }
            paper = PAPER_TABLE1.get((opt, bn), {}).get(lr)
            ref[f"{lr:g}"] = "-" if paper is None else f"{paper[0]:.2f} ({paper[1]})"
        trows += [ours, ref]
    rep.table(
        Table(
            "table1",
            f"Proportion of non-monotone interpolations (count of runs with training loss < {p['loss_threshold']:g}), "
            "by learning rate",
            cols,
            trows,
            headers={"setting": "optimiser, batch norm"},
            note=(
                "Rows marked (paper) are Lucas et al. 2021, Table 1, typed in for comparison; rows marked (ours) "
                f"are measured here. '-': no run reached training loss < {p['loss_threshold']:g}."
            ),
        )
    )
    rep.numbers["cells"] = numbers

    # ---- the paper's cells against ours, with exact intervals
    ours_cells = {
        f"{_name(o, b)}, lr {lr:g}": (
            sum(r["nonmonotone"] for r in kept if (r["optimizer"], r["batchnorm"], r["lr"]) == (o, b, lr)),
            sum(1 for r in kept if (r["optimizer"], r["batchnorm"], r["lr"]) == (o, b, lr)),
        )
        for o, b in _GROUPS
        for lr in lrs
    }
    paper_cells = {f"{_name(o, b)}, lr {lr:g}": PAPER_TABLE1.get((o, b), {}).get(lr) for o, b in _GROUPS for lr in lrs}
    cmp = compare_shares(ours_cells, paper_cells)
    rep.table(cells_table("table1_vs_paper", "Table 1, cell by cell: the paper's share against ours", cmp))
    rep.numbers["paper_comparison"] = cmp.to_json()

    # ---- claims: the pre-registered rules of lucas_table1.toml
    units = [
        {k: r[k] for k in ("hash", "dataset", "optimizer", "lr", "batchnorm", "activation", "nonmonotone", "min_delta")}
        for r in kept
    ]
    ctx.judge(rep, {"runs": units})

    # ---- the counted runs' verdicts decided on the continuum of α, beside the sampled ones
    by_hash = {rec.config.hash: rec for rec in ctx.records}
    exact_table(rep, [(run_label(r), exact_mli(ctx, by_hash[r["hash"]])) for r in kept], p["delta_threshold"])

    # ---- figure: the interpolation curves of the counted runs, per setting
    pyplot = plt()
    fig, axes = pyplot.subplots(1, 4, figsize=(15, 3.4), sharey=False)
    cmap = pyplot.get_cmap("viridis")
    lr_index = {lr: i for i, lr in enumerate(lrs)}
    kept_hashes = {r["hash"]: r for r in kept}
    for ax, (opt, bnf) in zip(axes, _GROUPS):
        for rec in ctx.records:
            r = kept_hashes.get(rec.config.hash)
            if r is None or rec.curve is None or (r["optimizer"], r["batchnorm"]) != (opt, bnf):
                continue
            color = cmap(lr_index[r["lr"]] / max(1, len(lrs) - 1))
            ax.plot(rec.curve.alphas, rec.curve["loss"], color=color, lw=1, ls="--" if r["nonmonotone"] else "-")
        ax.set(title=_name(opt, bnf), xlabel="α", yscale="log")
    axes[0].set_ylabel("training loss")
    sm = pyplot.cm.ScalarMappable(cmap=cmap, norm=pyplot.Normalize(0, max(1, len(lrs) - 1)))
    cb = fig.colorbar(sm, ax=axes, ticks=range(len(lrs)))
    cb.ax.set_yticklabels([f"{lr:g}" for lr in lrs])
    cb.set_label("learning rate")
    rep.figure(
        "curves",
        fig,
        "Training loss along the straight line from initialisation (α = 0) to the final parameters (α = 1) for the "
        "counted runs; dashed lines are non-monotone (min Δ > 10⁻³).",
    )
    return rep
