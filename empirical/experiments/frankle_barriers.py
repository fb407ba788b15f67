"""Frankle 2020, Figures 1–3: interpolation from initialisation and from checkpoints to the final network.

For each run (a batch-norm ResNet and an MNIST MLP): test loss and error from θ_0 → θ_T (the run's own curve) and
from each saved checkpoint θ_t → θ_T ([`mlitheory.studies.checkpoint_barriers`][mlitheory.studies.checkpoint_barriers]);
the maximum increase along each line above its start,
[`mlitheory.studies.max_increase`][mlitheory.studies.max_increase], against t; the α at which the loss (and the error)
has fallen half-way, a measure of the plateau.

References:
    Frankle 2020, "Revisiting 'Qualitatively Characterizing Neural Network Optimization Problems'", arXiv 2012.06898.
    Goodfellow, Vinyals, Saxe 2015, "Qualitatively characterizing neural network optimization problems".
"""

from __future__ import annotations

import math

import numpy as np

from empirical.experiments._common import eval_data, half_drop_alpha, interpolation_options, load_data, plt
from empirical.report import Report, Table
from mlitheory.studies import checkpoint_barriers, max_increase


def _label(rec) -> str:
    c = rec.config
    return f"{c.model} on {c.dataset}" + (f", seed {c.seed}" if c.seed else "")


def analyse(ctx) -> Report:
    p = ctx.params
    rep = ctx.new_report()
    models, rows, summary = {}, [], []
    for rec in ctx.finished():
        c = rec.config
        total = rec.metrics["train"]["steps"]
        _, xt, yt = load_data(c, split="test", n=c.n_measure)
        _, xb, _ = load_data(c, split="train", n=c.n_measure)
        steps = sorted(
            int(name.split("_")[1]) for name in rec.metrics["train"]["checkpoints"] if name.startswith("step_")
        )
        steps = [s for s in steps if s < total]
        if not steps:
            raise ValueError(f"run {c.hash} saved no checkpoint before its last step; set checkpoint_steps")
        key = {"kind": "checkpoints->final", "run": c.hash, "steps": steps, "alphas": c.alphas, "n": len(yt)}
        study = ctx.cached(
            key,
            lambda rec=rec, c=c, xt=xt, yt=yt, xb=xb, steps=steps: checkpoint_barriers(
                rec.build_model(),
                {s: rec.checkpoint(f"step_{s:07d}") for s in steps},
                rec.checkpoint("final"),
                eval_data(c, xt, yt, ctx.device),
                alphas=c.alphas,
                **interpolation_options(c, bn_x=xb, device=ctx.device),
            ),
        )
        init = rec.curve  # the run's own line θ_0 → θ_T, measured on the test split
        lines = [{"step": 0, "alphas": init.alphas, "loss": init["loss"], "error": init["error"]}]
        lines += [
            {"step": int(s), "alphas": study.alphas, "loss": study.loss[i], "error": study.error[i]}
            for i, s in enumerate(study.steps)
        ]
        label = _label(rec)
        rows.append(
            {
                "model": label,
                "step": 0,
                "fraction": 0.0,
                "loss_start": float(init["loss"][0]),
                "max_increase_loss": max_increase(init, "loss"),
                "max_increase_error": max_increase(init, "error"),
                "min_delta": rec.metrics["measures"]["min_delta"],
            }
        )
        for i, s in enumerate(study.steps):
            rows.append(
                {
                    "model": label,
                    "step": int(s),
                    "fraction": s / total,
                    "loss_start": float(study.loss[i, 0]),
                    "max_increase_loss": float(study.loss_increase[i]),
                    "max_increase_error": float(study.error_increase[i]),
                    "min_delta": float(study.loss_delta[i]),
                }
            )
        drop = init["loss"][0] - init["loss"][-1]
        init_delta = rec.metrics["measures"]["min_delta"]
        early = [r for r in rows if r["model"] == label and 0 < r["step"] <= p["early_fraction"] * total]
        summary.append(
            {
                "model": label,
                "steps": total,
                "final_test_error": float(init["error"][-1]),
                "init_min_delta": init_delta,
                "relative_min_delta": init_delta / drop if drop > 0 else None,
                "half_drop_loss": half_drop_alpha(init.alphas, init["loss"]),
                "half_drop_error": half_drop_alpha(init.alphas, init["error"]),
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

    # ---- claims: the pre-registered rules of frankle_barriers.toml (one unit per run)
    datasets = {_label(rec): rec.config.dataset for rec in ctx.finished()}
    units = [
        {
            "model_kind": models[x["model"]]["kind"],
            "dataset": datasets[x["model"]],
            "relative_min_delta": math.nan if x["relative_min_delta"] is None else x["relative_min_delta"],
            "half_drop_loss": math.nan if x["half_drop_loss"] is None else x["half_drop_loss"],
            "early_barrier": bool((x["max_early_increase_loss"] or 0.0) > p["barrier_threshold"]),
        }
        for x in summary
    ]
    ctx.judge(rep, {"runs": units})

    pyplot = plt()
    fig, axes = pyplot.subplots(len(models), 3, figsize=(15, 3.6 * len(models)), squeeze=False)
    for row_axes, (label, info) in zip(axes, models.items()):
        cmap = pyplot.get_cmap("plasma")
        steps = [ln["step"] for ln in info["lines"]]
        for ln in info["lines"]:
            color = cmap(np.log1p(ln["step"]) / np.log1p(max(steps) or 1) * 0.9)
            row_axes[0].plot(ln["alphas"], ln["loss"], color=color, lw=1, label=f"t = {ln['step']}")
            row_axes[1].plot(ln["alphas"], ln["error"], color=color, lw=1)
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
