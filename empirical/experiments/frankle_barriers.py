"""Frankle 2020, Figures 1–3: interpolation from initialisation and from checkpoints to the final network.

For each run (a batch-norm ResNet and an MNIST MLP): test loss and error from θ_0 → θ_T (the run's own curve) and
from each saved checkpoint θ_t → θ_T; the maximum increase along each line above its start,
:math:`\\max(0, \\max_\\alpha L(\\alpha) - L(0))`, against t; the α at which the loss (and the error) has fallen
half-way, a measure of the plateau.

References:
    Frankle 2020, "Revisiting 'Qualitatively Characterizing Neural Network Optimization Problems'", arXiv 2012.06898.
    Goodfellow, Vinyals, Saxe 2015, "Qualitatively characterizing neural network optimization problems".
"""

from __future__ import annotations

import numpy as np

from empirical.experiments._common import half_drop_alpha, line_curve, load_data, max_increase, plt
from empirical.report import Claim, Report, Table


def _label(rec) -> str:
    c = rec.config
    return f"{c.model} on {c.dataset}"


def _error(curve: dict) -> list[float]:
    return [1.0 - a for a in curve["accuracy"]]


def analyse(ctx) -> Report:
    p = ctx.params
    rep = ctx.new_report()
    models, rows, summary = {}, [], []
    for rec in ctx.finished():
        c = rec.config
        total = rec.metrics["train"]["steps"]
        _, xt, yt = load_data(c, split="test", n=c.n_measure)
        _, xb, _ = load_data(c, split="train", n=c.n_measure)
        final = rec.checkpoint("final")
        lines = [{"step": 0, "curve": rec.curve}]
        for name in sorted(k for k in rec.metrics["train"]["checkpoints"] if k.startswith("step_")):
            step = int(name.split("_")[1])
            if step >= total:
                continue
            key = {"kind": "checkpoint->final", "run": c.hash, "step": step, "alphas": c.alphas, "n": len(yt)}
            cv = ctx.cached(
                key, line_curve, rec, rec.checkpoint(name), final, xt, yt, alphas=c.alphas, device=ctx.device, bn_x=xb
            )
            lines.append({"step": step, "curve": cv})
        label = _label(rec)
        for ln in lines:
            cv = ln["curve"]
            err = _error(cv)
            rows.append(
                {
                    "model": label,
                    "step": ln["step"],
                    "fraction": ln["step"] / total,
                    "loss_start": cv["loss"][0],
                    "max_increase_loss": max_increase(cv["loss"]),
                    "max_increase_error": max_increase(err),
                    "min_delta": cv["min_delta"],
                }
            )
        init = rec.curve
        err0 = _error(init)
        drop = init["loss"][0] - init["loss"][-1]
        early = [r for r in rows if r["model"] == label and 0 < r["step"] <= p["early_fraction"] * total]
        summary.append(
            {
                "model": label,
                "steps": total,
                "final_test_error": err0[-1],
                "init_min_delta": init["min_delta"],
                "relative_min_delta": init["min_delta"] / drop if drop > 0 else None,
                "half_drop_loss": half_drop_alpha(init["alphas"], init["loss"]),
                "half_drop_error": half_drop_alpha(init["alphas"], err0),
                "max_early_increase_loss": max((r["max_increase_loss"] for r in early), default=None),
                "first_barrier_step": next(
                    (
                        r["step"]
                        for r in rows
                        if r["model"] == label and r["step"] > 0 and r["max_increase_loss"] > p["barrier_threshold"]
                    ),
                    None,
                ),
            }
        )
        models[label] = {"lines": lines, "total": total, "kind": "resnet" if c.model.startswith("resnet") else "mlp"}
    rep.table(
        Table(
            "summary",
            "Initialisation → final (Figure 1) and the earliest barrier (Figure 3)",
            [
                "model",
                "steps",
                "final_test_error",
                "init_min_delta",
                "relative_min_delta",
                "half_drop_loss",
                "half_drop_error",
                "max_early_increase_loss",
                "first_barrier_step",
            ],
            summary,
            headers={
                "final_test_error": "final test error",
                "init_min_delta": "min Δ init→final",
                "relative_min_delta": "min Δ / loss drop",
                "half_drop_loss": "α of half loss drop",
                "half_drop_error": "α of half error drop",
                "max_early_increase_loss": f"max loss increase, t ≤ {p['early_fraction']:g}·T",
                "first_barrier_step": f"first t with increase > {p['barrier_threshold']:g}",
            },
            note="α of half drop: where the test loss (error) along θ_0 → θ_T first falls half-way from its start to "
            "its end; 0.5 for a straight line, near 1 for a plateau that lasts until close to the optimum.",
        )
    )
    rep.table(
        Table(
            "checkpoints",
            "Checkpoint θ_t → final: the maximum increase of test loss and error above the start (Figure 3)",
            ["model", "step", "fraction", "loss_start", "max_increase_loss", "max_increase_error", "min_delta"],
            rows,
            headers={
                "fraction": "t / T",
                "loss_start": "test loss at θ_t",
                "max_increase_loss": "max loss increase",
                "max_increase_error": "max error increase",
            },
        )
    )
    rep.numbers["summary"] = summary

    res = [s for s in summary if models[s["model"]]["kind"] == "resnet"]
    mlp = [s for s in summary if models[s["model"]]["kind"] == "mlp"]
    r0 = res[0] if res else None
    m0 = mlp[0] if mlp else None
    rep.claim(
        Claim(
            "roughly_monotone",
            "Along initialisation → final the loss is roughly monotonically non-increasing (ResNet with batch norm)",
            "Frankle 2020, abstract and Figure 1",
            Claim.decide(None if r0 is None or r0["relative_min_delta"] is None else r0["relative_min_delta"] <= 0.05),
            "no ResNet run"
            if r0 is None
            else f"{r0['model']}: min Δ = {r0['init_min_delta']:.4g}, "
            f"{100 * (r0['relative_min_delta'] or 0):.2f}% of the loss "
            "drop (supported when ≤ 5%)",
            r0 or {},
        )
    )
    hd = None if r0 is None else r0["half_drop_loss"]
    rep.claim(
        Claim(
            "plateau_until_optimum",
            "The loss stays high until close to the optimum (ResNet); the MNIST MLP does not plateau like that",
            "Frankle 2020, Figure 1 (against Goodfellow et al. 2015)",
            Claim.decide(
                None
                if hd is None or m0 is None or m0["half_drop_loss"] is None
                else hd >= p["plateau_fraction"] and m0["half_drop_loss"] < hd
            ),
            "α of half loss drop: "
            + ", ".join(
                f"{s['model']} {s['half_drop_loss'] if s['half_drop_loss'] is None else round(s['half_drop_loss'], 3)}"
                for s in summary
            )
            + f" (plateau when ≥ {p['plateau_fraction']:g})",
            {"resnet": hd, "mlp": None if m0 is None else m0["half_drop_loss"]},
            reason=""
            if hd is None or hd >= p["plateau_fraction"]
            else "a small ResNet trained briefly on an easy data set moves little from its initialisation; the "
            "plateau comes "
            "with longer training and harder data (CIFAR-10, ImageNet)",
        )
    )
    early = None if r0 is None else r0["max_early_increase_loss"]
    rep.claim(
        Claim(
            "barriers_early",
            "Training quickly becomes separated from the optimum by a loss barrier: lines from early "
            "checkpoints to the final network rise above their start (ResNet)",
            "Frankle 2020, Figures 2–3",
            Claim.decide(None if early is None else early > p["barrier_threshold"]),
            "no ResNet run"
            if r0 is None
            else f"{r0['model']}: largest loss increase from checkpoints at t ≤ {p['early_fraction']:g}·T = "
            f"{early if early is None else round(early, 4)}; first checkpoint with an increase > "
            f"{p['barrier_threshold']:g}: "
            f"t = {r0['first_barrier_step']} of {r0['steps']}",
            r0 or {},
            reason=""
            if early is None or early > p["barrier_threshold"]
            else f"{r0['steps']} iterations on a small, easy training set, far shorter than Frankle's CIFAR-10 and "
            "ImageNet training: every checkpoint stays in a region linearly connected to the final network",
        )
    )

    pyplot = plt()
    fig, axes = pyplot.subplots(len(models), 3, figsize=(15, 3.6 * len(models)), squeeze=False)
    for row_axes, (label, info) in zip(axes, models.items()):
        cmap = pyplot.get_cmap("plasma")
        steps = [ln["step"] for ln in info["lines"]]
        for ln in info["lines"]:
            color = cmap(np.log1p(ln["step"]) / np.log1p(max(steps) or 1) * 0.9)
            cv = ln["curve"]
            row_axes[0].plot(cv["alphas"], cv["loss"], color=color, lw=1, label=f"t = {ln['step']}")
            row_axes[1].plot(cv["alphas"], _error(cv), color=color, lw=1)
        row_axes[0].set(title=f"{label}: test loss, θ_t → θ_T", xlabel="α")
        row_axes[1].set(title="test error, θ_t → θ_T", xlabel="α")
        row_axes[0].legend(fontsize=6, ncol=2)
        sel = [r for r in rows if r["model"] == label and r["step"] > 0]
        row_axes[2].plot([r["step"] for r in sel], [r["max_increase_loss"] for r in sel], "o-", label="loss")
        row_axes[2].plot([r["step"] for r in sel], [r["max_increase_error"] for r in sel], "s-", label="error")
        row_axes[2].set(
            xscale="log", xlabel="iteration t", ylabel="max increase above start", title="Figure 3 analogue"
        )
        row_axes[2].legend()
    rep.figure(
        "figs1_3",
        fig,
        "Left and middle: test loss and error along θ_t → θ_T (t = 0 is Figure 1, the others "
        "Figure 2). Right: the largest increase above the start of each line against t (log axis).",
    )
    return rep
