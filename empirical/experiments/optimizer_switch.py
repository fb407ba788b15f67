"""Lucas et al. 2021, §4.2.2 / Appendix C.4: switching SGD → Adam and Adam → SGD during training.

For each direction and switch epoch: the final network's mean logit Gauss length, normalised weight distance and
min Δ, and the ratio of the training loss in the epoch after the switch to the epoch before (a spike).

References:
    Lucas et al. 2021 (arXiv 2104.11044), §4.2.2 and Appendix C.4.
"""

from __future__ import annotations

import numpy as np

from empirical.experiments._common import gauss_lengths, plt
from empirical.report import Claim, Report, Table


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
    p = ctx.params
    rep = ctx.new_report()
    rows = []
    for rec in ctx.finished():
        c = rec.config
        m = rec.metrics["measures"]
        gl = gauss_lengths(ctx, rec)
        rows.append(
            {
                "direction": _direction(c),
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
    rows.sort(key=lambda r: (r["direction"], r["switch_epoch"]))
    rep.table(
        Table(
            "switch",
            "Gauss length, distance and min Δ of the final network by switch epoch",
            [
                "direction",
                "switch_epoch",
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

    sa = [r for r in rows if r["direction"] == "SGD → Adam"]
    total = max((r["epochs"] for r in rows), default=0)
    pure_sgd = next((r for r in sa if r["switch_epoch"] >= total), None)
    pure_adam = next((r for r in sa if r["switch_epoch"] == 0), None)
    mid = [r for r in sa if 0 < r["switch_epoch"] < total]
    f = lambda v: "–" if v is None else f"{v:.3g}"
    ok = None
    if pure_sgd and mid:
        ok = all(
            r["gauss_length"] > pure_sgd["gauss_length"] and r["norm_distance"] > pure_sgd["norm_distance"] for r in mid
        )
    rep.claim(
        Claim(
            "switch_to_adam_large",
            "Switching to Adam at any point of training gives a larger Gauss length and weight distance than SGD alone",
            "Lucas et al. 2021, §4.2.2",
            Claim.decide(ok),
            f"SGD alone: G = {f(pure_sgd and pure_sgd['gauss_length'])}, d = "
            f"{f(pure_sgd and pure_sgd['norm_distance'])}; "
            "after a switch at epoch "
            + ", ".join(f"{r['switch_epoch']:g}: G = {f(r['gauss_length'])}, d = {f(r['norm_distance'])}" for r in mid),
            {"sgd_alone": pure_sgd, "switched": mid},
        )
    )
    spikes = [r["spike"] for r in mid if r["spike"] is not None]
    rep.claim(
        Claim(
            "no_spike",
            "Switching to Adam causes no significant spike in the training loss",
            "Lucas et al. 2021, §4.2.2",
            Claim.decide(None if not spikes else max(spikes) < p["spike_ratio"]),
            f"largest ratio of the loss in the epoch after the switch to the epoch before: "
            f"{f(max(spikes) if spikes else None)} "
            f"(a spike when ≥ {p['spike_ratio']:g})",
            {"ratios": spikes},
        )
    )
    ok = None
    if pure_sgd and pure_adam and len(mid) >= 2:
        gap = pure_adam["gauss_length"] - pure_sgd["gauss_length"]
        spread = max(r["gauss_length"] for r in mid) - min(r["gauss_length"] for r in mid)
        ok = gap > 0 and spread / gap < p["variation_max"]
        detail = f"range of G over switch times {spread:.3g}; Adam alone − SGD alone {gap:.3g}"
    else:
        detail = "too few switch times"
    rep.claim(
        Claim(
            "little_variation",
            "The time of the switch to Adam matters little for the Gauss length",
            "Lucas et al. 2021, §4.2.2",
            Claim.decide(ok),
            detail + f" (supported when the ratio < {p['variation_max']:g})",
            {},
            reason=""
            if ok is not False
            else f"with {total} epochs in all, a late switch leaves Adam only a few epochs to move the weights; "
            "the paper's longer training leaves more after any switch",
        )
    )

    pyplot = plt()
    fig, axes = pyplot.subplots(1, 3, figsize=(14, 3.6))
    for d in sorted({r["direction"] for r in rows}):
        sel = [r for r in rows if r["direction"] == d]
        xs = [r["switch_epoch"] for r in sel]
        axes[0].plot(xs, [r["gauss_length"] for r in sel], "o-", label=d)
        axes[1].plot(xs, [r["norm_distance"] for r in sel], "o-", label=d)
        axes[2].plot(xs, [r["final_loss"] for r in sel], "o-", label=d)
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
