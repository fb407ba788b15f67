"""Lucas et al. 2021, §4.2.2 / Appendix C.4: switching SGD → Adam and Adam → SGD during training.

For each direction and switch epoch: the final network's mean logit Gauss length, normalised weight distance and
min Δ, and the ratio of the training loss in the epoch after the switch to the epoch before (a spike).

References:
    Lucas et al. 2021 (arXiv 2104.11044), §4.2.2 and Appendix C.4.
"""

from __future__ import annotations

import numpy as np

from empirical.experiments._common import exact_mli, exact_table, gauss_lengths, plt
from empirical.report import Report, Table


def _direction(c) -> str:
    name = {"sgd": "SGD", "adam": "Adam"}
    return f"{name[c.optimizer]} → {name[c.switch_optimizer]}"


def spike(log: list[dict], switch_epoch: float) -> float | None:
    """Training loss of the first epoch after the switch over that of the epoch before (``None`` at the ends)."""
    e = int(np.ceil(switch_epoch))
    before = next((x["train_loss"] for x in log if x["epoch"] == e), None)
    after = next((x["train_loss"] for x in log if x["epoch"] == e + 1), None)
    if e < 1 or before is None or after is None or before <= 0:
        return None
    return float(after / before)


def analyse(ctx) -> Report:
    rep = ctx.new_report()
    rows = []
    for rec in ctx.finished():
        c = rec.config
        m = rec.metrics["measures"]
        gl = gauss_lengths(ctx, rec)
        rows.append(
            {
                "direction": _direction(c),
                "seed": c.seed,
                "dataset": c.dataset,
                "switch_epoch": c.switch_epoch,
                "epochs": c.epochs,
                "gauss_length": gl["derivative"].mean,
                "gauss_length_turning": float(np.mean(gl["turning"].value)),
                "norm_distance": m["norm_distance"],
                "min_delta": m["min_delta"],
                "final_loss": m["curve_loss_final"],
                "spike": spike(rec.log, c.switch_epoch),
            }
        )
    rows.sort(key=lambda r: (r["direction"], r["switch_epoch"], r["seed"]))
    rep.table(
        Table(
            "switch",
            "Gauss length, distance and min Δ of the final network by switch epoch",
            [
                "direction",
                "switch_epoch",
                "seed",
                "gauss_length",
                "gauss_length_turning",
                "norm_distance",
                "min_delta",
                "final_loss",
                "spike",
            ],
            rows,
            headers={
                "switch_epoch": "switch at epoch",
                "gauss_length": "mean logit Gauss length",
                "gauss_length_turning": "Gauss length, turning (kinks included)",
                "norm_distance": "‖θ_T − θ_0‖ / ‖θ_0‖",
                "min_delta": "min Δ",
                "final_loss": "final train loss",
                "spike": "loss after / before switch",
            },
            note="A switch at epoch 0 is the second optimiser alone; a switch at the last epoch is the first alone. "
            "'loss after / before switch' compares the mean training loss of the epoch after the switch with the "
            "epoch before.",
        )
    )
    rep.numbers["runs"] = rows

    # ---- claims: the pre-registered rules of optimizer_switch.toml
    total = max((r["epochs"] for r in rows), default=0)

    def arm(r) -> str:
        if r["switch_epoch"] >= r["epochs"]:
            return "sgd alone" if r["direction"] == "SGD → Adam" else "adam alone"
        if r["switch_epoch"] <= 0:
            return "adam alone" if r["direction"] == "SGD → Adam" else "sgd alone"
        return "switched"

    sgd_to_adam = [
        {
            "direction": r["direction"],
            "dataset": r["dataset"],
            "seed": r["seed"],
            "arm": arm(r),
            "switched": arm(r) == "switched",
            "switch_epoch": r["switch_epoch"],
            "gauss_length": r["gauss_length"],
            "norm_distance": r["norm_distance"],
        }
        for r in rows
        if r["direction"] == "SGD → Adam"
    ]
    switches = [
        {k: r[k] for k in ("direction", "dataset", "seed", "switch_epoch", "gauss_length", "spike")}
        for r in rows
        if 0 < r["switch_epoch"] < r["epochs"] and r["spike"] is not None
    ]
    rep.note(
        f"{len(rows)} runs of {total} epochs; seeds {sorted({r['seed'] for r in rows})}; "
        f"{sum(u['switched'] for u in sgd_to_adam)} SGD → Adam runs switched mid-training."
    )
    ctx.judge(rep, {"sgd_to_adam": sgd_to_adam, "switches": switches})
    items = [
        (f"{_direction(r.config)}, switch at epoch {r.config.switch_epoch:g}, seed {r.config.seed}", exact_mli(ctx, r))
        for r in ctx.finished()
    ]
    exact_table(rep, items, ctx.params["delta_threshold"])

    pyplot = plt()
    fig, axes = pyplot.subplots(1, 3, figsize=(14, 3.6))
    for d in sorted({r["direction"] for r in rows}):
        sel = [r for r in rows if r["direction"] == d]
        xs = sorted({r["switch_epoch"] for r in sel})
        for ax, key in zip(axes, ("gauss_length", "norm_distance", "final_loss")):
            means = [float(np.mean([r[key] for r in sel if r["switch_epoch"] == x])) for x in xs]
            (line,) = ax.plot(xs, means, "-", label=f"{d} (mean over seeds)")
            ax.scatter([r["switch_epoch"] for r in sel], [r[key] for r in sel], s=12, color=line.get_color())
    for ax, name in zip(axes, ("mean logit Gauss length", "‖θ_T − θ_0‖ / ‖θ_0‖", "final training loss")):
        ax.set(xlabel="switch epoch", ylabel=name)
        ax.legend(fontsize=8)
    axes[2].set_yscale("log")
    rep.figure(
        "switch",
        fig,
        "Gauss length, normalised distance and final training loss against the epoch of the "
        "optimiser switch (epoch 0: the second optimiser alone; last epoch: the first alone).",
    )
    return rep
