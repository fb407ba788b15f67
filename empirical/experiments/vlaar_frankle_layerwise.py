"""Vlaar & Frankle 2022: layer-wise interpolation of a ResNet, and partial re-initialisation then retraining.

Layer-wise path of group $\\ell$ (other parameters at their final values):

$$
\\theta^{(\\ell)}_\\alpha = (1-\\alpha)\\,\\theta^{(\\ell)}_0 + \\alpha\\,\\theta^{(\\ell)}_T, \\qquad
\\theta^{(k)}_\\alpha = \\theta^{(k)}_T \\quad (k \\ne \\ell).
$$

Partial re-initialisation ("T-All but RI-k"): a run warm-started from the trained network (``init_from``) with
the parameters of stage ``k`` freshly initialised (``init_reset``), retrained with the same budget.

References:
    Vlaar, Frankle. What can linear interpolation of neural network loss landscapes tell us? ICML 2022
    (arXiv 2106.16004); Chatterji, Neyshabur, Sedghi 2020 (layer-wise robustness to re-initialisation).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from empirical.experiments._common import eval_data, interpolation_options, load_data, plt
from empirical.measure import curve_min_delta
from empirical.report import Report, Table
from empirical.runs import RunConfig
from mlitheory.studies import end_barrier, layerwise_interpolation


def resnet_groups(keys: list[str], depth: int, by: str = "block") -> dict[str, list[str]]:
    """Group the state-dict keys of a [`empirical.models.CifarResNet`][empirical.models.CifarResNet] of ``depth``.

    ``by="block"``: ``stem`` (first convolution, its batch norm or bias), ``block0`` … (each residual block),
    ``head`` (classifier). ``by="stage"``: ``stem``, ``stage1``–``stage3`` (the blocks of each width), ``head``.

    Returns:
        group name → keys (in ``keys``' order); every key belongs to exactly one group.
    """
    if by not in ("block", "stage"):
        raise ValueError(f"by={by!r}; use 'block' or 'stage'")
    n = (depth - 2) // 6
    groups: dict[str, list[str]] = {}
    for k in keys:
        head = k.split(".")[0]
        if head == "blocks":
            i = int(k.split(".")[1])
            name = f"block{i}" if by == "block" else f"stage{i // n + 1}"
        elif head in ("fc", "fc_bias"):
            name = "head"
        else:
            name = "stem"
        groups.setdefault(name, []).append(k)
    order = [
        "stem",
        *sorted((g for g in groups if g not in ("stem", "head")), key=lambda g: int(g.strip("blockstage"))),
        "head",
    ]
    return {g: groups[g] for g in order if g in groups}


def reset_prefixes(group: str, depth: int) -> list[str]:
    """The ``init_reset`` key prefixes of a stage group (``stem``, ``stage1``–``stage3``, ``head``)."""
    n = (depth - 2) // 6
    if group == "stem":
        return ["conv", "bn", "stem_bias"]
    if group == "head":
        return ["fc", "fc_bias"]
    if group.startswith("stage") and group[5:].isdigit() and 1 <= int(group[5:]) <= 3:
        s = int(group[5:]) - 1
        return [f"blocks.{i}" for i in range(s * n, (s + 1) * n)]
    raise ValueError(f"unknown group {group!r}; valid: stem, stage1, stage2, stage3, head")


def _depth(c: RunConfig) -> int:
    return int(c.model.removeprefix("resnet"))


def analyse(ctx) -> Report:
    p = ctx.params
    rep = ctx.new_report()
    base = ctx.finished()

    # ---- layer-wise curves
    lw_rows, lw_curves = [], {}
    for rec in base:
        c = rec.config
        if c.seed not in p["layerwise_seeds"]:
            continue
        end = rec.checkpoint("final")
        _, x, y = load_data(c, split="train", n=c.n_measure)
        floats = [k for k, v in end.items() if v.is_floating_point() and "running_" not in k]
        groups = resnet_groups(floats, _depth(c), p["layerwise_by"])
        key = {"kind": "layerwise", "run": c.hash, "groups": groups, "alphas": c.alphas, "n": len(y)}
        study = ctx.cached(
            key,
            lambda rec=rec, c=c, x=x, y=y, end=end, groups=groups: layerwise_interpolation(
                rec.build_model(),
                rec.checkpoint("init"),
                end,
                eval_data(c, x, y, ctx.device),
                groups=groups,
                rest="end",
                alphas=c.alphas,
                **interpolation_options(c, bn_x=x, device=ctx.device),
            ),
        )
        for g, keys in groups.items():
            cv = study[g]
            lw_curves[(c.seed, g)] = cv
            lw_rows.append(
                {
                    "seed": c.seed,
                    "group": g,
                    "parameters": int(sum(end[k].numel() for k in keys)),
                    "loss_group_at_init": float(cv["loss"][0]),
                    "loss_final": float(cv["loss"][-1]),
                    "increase": float(cv["loss"][0] - cv["loss"][-1]),
                    "accuracy_group_at_init": float(cv["accuracy"][0]),
                    "min_delta": curve_min_delta(cv),
                    "barrier": end_barrier(cv),
                }
            )
    rep.table(
        Table(
            "layerwise",
            "Layer-wise interpolation: one group moves from initial to final, the rest stay final",
            [
                "seed",
                "group",
                "parameters",
                "loss_group_at_init",
                "accuracy_group_at_init",
                "loss_final",
                "min_delta",
                "barrier",
            ],
            lw_rows,
            headers={
                "loss_group_at_init": "train loss, group at init (α=0)",
                "accuracy_group_at_init": "train accuracy, α=0",
                "loss_final": "train loss, α=1",
                "min_delta": "min Δ",
                "barrier": "barrier",
            },
            note="Barrier: max_α L(α) − max(L(0), L(1)) (mlitheory.studies.end_barrier).",
        )
    )

    # ---- partial re-initialisation and retraining
    derived = []
    for rec in base:
        c = rec.config
        for g in p["reinit_groups"]:
            derived.append(
                (
                    rec,
                    g,
                    dataclasses.replace(
                        c,
                        init_from=c.hash,
                        init_reset=tuple(reset_prefixes(g, _depth(c))),
                        seed=c.seed + p["reinit_seed_offset"],
                    ),
                )
            )
    retrained = ctx.run([d[2] for d in derived])
    acc = lambda r: (r.metrics or {}).get("train", {}).get("test_accuracy")
    methods = {"train from scratch": [acc(r) for r in base]}
    for (_, g, _), r in zip(derived, retrained):
        methods.setdefault(f"T-All but RI-{g}", []).append(acc(r))
    rt_rows = []
    for name, vals in methods.items():
        v = [x for x in vals if x is not None]
        rt_rows.append(
            {
                "method": name,
                "runs": len(v),
                "test_accuracy_mean": float(np.mean(v)) if v else None,
                "test_accuracy_std": float(np.std(v)) if len(v) > 1 else None,
            }
        )
    rt_rows.append(
        {
            "method": "paper: train from scratch (ResNet-18, CIFAR-10)",
            "runs": None,
            "test_accuracy_mean": 0.922,
            "test_accuracy_std": 0.002,
        }
    )
    for k, (m, s) in enumerate([(0.918, 0.002), (0.918, 0.002), (0.924, 0.002), (0.910, 0.003)], start=1):
        rt_rows.append(
            {"method": f"paper: T-All but RI-{k}", "runs": None, "test_accuracy_mean": m, "test_accuracy_std": s}
        )
    rep.table(
        Table(
            "retrain",
            "Trained network with one stage reset to a fresh initialisation, then retrained: test accuracy",
            ["method", "runs", "test_accuracy_mean", "test_accuracy_std"],
            rt_rows,
            headers={"test_accuracy_mean": "test accuracy (mean)", "test_accuracy_std": "std over seeds"},
            note="Rows marked 'paper' are the Vlaar & Frankle 2022 poster's table (ResNet-18 on CIFAR-10, its stages "
            "1–4), typed in for comparison; ours reset the stages of a CIFAR ResNet (stage1–stage3) and retrain with "
            "the original budget.",
        )
    )
    rep.numbers.update({"layerwise": lw_rows, "retrain": rt_rows})

    # ---- claims: the pre-registered rules of vlaar_frankle_layerwise.toml
    seeds = []
    for seed in sorted({r["seed"] for r in lw_rows}):
        incs = [max(r["increase"], 0.0) for r in lw_rows if r["seed"] == seed]
        if len(incs) >= 2:
            seeds.append(
                {
                    "seed": seed,
                    "dataset": base[0].config.dataset if base else "",
                    "sensitivity_ratio": max(incs) / max(min(incs), 1e-12),
                }
            )
    last = f"T-All but RI-{p['reinit_groups'][-1]}" if p["reinit_groups"] else None
    retrain_units = []
    for rec in base:
        mine = [
            r
            for (b, g, _), r in zip(derived, retrained)
            if b.config.hash == rec.config.hash and f"T-All but RI-{g}" == last
        ]
        if mine and acc(rec) is not None and acc(mine[0]) is not None:
            retrain_units.append(
                {
                    "seed": rec.config.seed,
                    "dataset": rec.config.dataset,
                    "scratch_accuracy": acc(rec),
                    "last_stage_accuracy": acc(mine[0]),
                }
            )
    all_runs = [r for r in base + retrained if r.metrics and r.metrics.get("measures")]
    networks = [
        {"dataset": r.config.dataset, "min_delta": r.metrics["measures"]["min_delta"], "test_accuracy": acc(r)}
        for r in all_runs
        if acc(r) is not None
    ]
    ctx.judge(rep, {"seeds": seeds, "retrain": retrain_units, "networks": networks})

    pyplot = plt()
    seed0 = p["layerwise_seeds"][0]
    groups = [g for (s, g) in lw_curves if s == seed0]
    if groups:
        fig, ax = pyplot.subplots(figsize=(6.5, 4))
        cmap = pyplot.get_cmap("viridis")
        for i, g in enumerate(groups):
            cv = lw_curves[(seed0, g)]
            ax.plot(cv.alphas, cv["loss"], color=cmap(i / max(1, len(groups) - 1)), label=g)
        ax.set(
            xlabel="α (the group moves from its initial to its final value)",
            ylabel="training loss",
            yscale="log",
            title=f"layer-wise interpolation (seed {seed0})",
        )
        ax.legend(fontsize=8)
        rep.figure(
            "layerwise_curves",
            fig,
            "Training loss along the layer-wise paths: each curve moves one group "
            "(stem, a residual block, the classifier) with every other parameter at its final value.",
        )
    return rep
