"""Lucas et al. 2021, Table 1: share of non-monotone MLP classifiers by optimiser × batch norm × learning rate.

A run counts when its final training loss (measured at α = 1 of its interpolation) is below
``loss_threshold`` (0.1); it is non-monotone when :math:`\\min\\Delta >` ``delta_threshold`` (10⁻³). The table
puts the share and count of each cell beside the paper's.

References:
    Lucas, Bae, Zhang, Fort, Zemel, Grosse. Analyzing Monotonic Linear Interpolation in Neural Network Loss
    Landscapes. ICML 2021 (arXiv 2104.11044), Table 1 and §4.1.
"""

from __future__ import annotations

from empirical.experiments._common import measure_row, plt, share
from empirical.report import Claim, Report, Table

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
        rep.note(
            "Scale: subsampled training sets and fewer architectures than the paper, so the counts per cell are "
            "much smaller than the paper's (up to 24); shares of 1–4 runs are coarse."
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

    # ---- claims
    k = p["min_count"]

    def group(pred):
        return share(r["nonmonotone"] for r in kept if pred(r))

    small_sgd = group(lambda r: r["optimizer"] == "sgd" and r["lr"] <= p["small_lr_max"])
    large_sgd = group(lambda r: r["optimizer"] == "sgd" and r["lr"] >= p["large_lr_min"])
    sgd, adam = group(lambda r: r["optimizer"] == "sgd"), group(lambda r: r["optimizer"] == "adam")
    bn, nobn = group(lambda r: r["batchnorm"]), group(lambda r: not r["batchnorm"])
    groups = {(o, b): group(lambda r, o=o, b=b: (r["optimizer"], r["batchnorm"]) == (o, b)) for o, b in _GROUPS}
    fmt = lambda g: "–" if g[0] is None else f"{g[0]:.2f} of {g[1]}"
    rep.claim(
        Claim(
            "sgd_small_lr_monotone",
            f"SGD with small learning rates (≤ {p['small_lr_max']:g}) always gave monotone interpolations",
            "Lucas et al. 2021, §4.1.1 and Table 1",
            Claim.decide(None if small_sgd[1] < k else small_sgd[0] == 0.0),
            f"non-monotone share among SGD runs with lr ≤ {p['small_lr_max']:g}: {fmt(small_sgd)}",
            {"share": small_sgd[0], "count": small_sgd[1]},
        )
    )
    ok = None if min(small_sgd[1], large_sgd[1]) < k else (large_sgd[0] > small_sgd[0])
    rep.claim(
        Claim(
            "large_lr_nonmonotone",
            f"Large learning rates (≥ {p['large_lr_min']:g}) make SGD runs non-monotone more often than small ones",
            "Lucas et al. 2021, §4.1.1",
            Claim.decide(ok),
            f"SGD non-monotone share: lr ≥ {p['large_lr_min']:g}: {fmt(large_sgd)}; "
            f"lr ≤ {p['small_lr_max']:g}: {fmt(small_sgd)}",
            {"large": large_sgd, "small": small_sgd},
            reason=(
                ""
                if ok is not False
                else "few large-learning-rate SGD runs reached loss < 0.1 at this scale, or they stayed monotone"
            ),
        )
    )
    ok = None if min(sgd[1], adam[1]) < k else adam[0] > sgd[0]
    rep.claim(
        Claim(
            "adam_more_nonmonotone",
            "Adam-trained networks are non-monotone more often than SGD-trained ones",
            "Lucas et al. 2021, §4.1.2 and Table 1",
            Claim.decide(ok),
            f"non-monotone share: Adam {fmt(adam)}, SGD {fmt(sgd)}",
            {"adam": adam, "sgd": sgd},
        )
    )
    ok = None if min(bn[1], nobn[1]) < k else bn[0] > nobn[0]
    rep.claim(
        Claim(
            "bn_more_nonmonotone",
            "Networks with batch norm are non-monotone more often than those without",
            "Lucas et al. 2021, §4.1.3 and Table 1",
            Claim.decide(ok),
            f"non-monotone share: batch norm {fmt(bn)}, no batch norm {fmt(nobn)}",
            {"bn": bn, "no_bn": nobn},
        )
    )
    valid = {g: v for g, v in groups.items() if v[1] >= k}
    top = max(valid, key=lambda g: valid[g][0]) if valid else None
    ok = None if ("adam", True) not in valid else top == ("adam", True)
    rep.claim(
        Claim(
            "adam_bn_worst",
            "Adam with batch norm has the highest share of non-monotone runs of the four settings",
            "Lucas et al. 2021, Table 1",
            Claim.decide(ok),
            "; ".join(f"{_name(*g)}: {fmt(v)}" for g, v in groups.items()),
            {_name(*g): v for g, v in groups.items()},
        )
    )
    rep.numbers["pooled"] = {"sgd": sgd, "adam": adam, "bn": bn, "no_bn": nobn}

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
            ax.plot(rec.curve["alphas"], rec.curve["loss"], color=color, lw=1, ls="--" if r["nonmonotone"] else "-")
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
