"""Vlaar & Frankle 2022: layer-wise interpolation of a ResNet, and partial re-initialisation then retraining.

Layer-wise path of group :math:`\\ell` (other parameters at their final values):

.. math::
    \\theta^{(\\ell)}_\\alpha = (1-\\alpha)\\,\\theta^{(\\ell)}_0 + \\alpha\\,\\theta^{(\\ell)}_T, \\qquad
    \\theta^{(k)}_\\alpha = \\theta^{(k)}_T \\quad (k \\ne \\ell).

Partial re-initialisation ("T-All but RI-k"): a run warm-started from the trained network (``init_from``) with
the parameters of stage ``k`` freshly initialised (``init_reset``), retrained with the same budget.

References:
    Vlaar, Frankle. What can linear interpolation of neural network loss landscapes tell us? ICML 2022
    (arXiv 2106.16004); Chatterji, Neyshabur, Sedghi 2020 (layer-wise robustness to re-initialisation).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from empirical.experiments._common import barrier, eval_batches, load_data, plt, rank_correlation
from empirical.pathcurves import layerwise_path, path_curve
from empirical.report import Claim, Report, Table
from empirical.runs import RunConfig
from empirical.train import loss_function


def resnet_groups(keys: list[str], depth: int, by: str = "block") -> dict[str, list[str]]:
    """Group the state-dict keys of a :class:`empirical.models.CifarResNet` of ``depth``.

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


def _layerwise_curve(model, start, end, path, data, alphas, bn, device) -> dict:
    cv = path_curve(
        model, start, end, path, data, alphas=alphas, loss=loss_function("cross_entropy"), bn=bn, device=device
    )
    return cv.to_json()


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
        start, end = rec.checkpoint("init"), rec.checkpoint("final")
        _, x, y = load_data(c, split="train", n=c.n_measure)
        data = eval_batches(x, y, 256, ctx.device)
        model = rec.build_model()
        floats = [k for k, v in end.items() if v.is_floating_point() and "running_" not in k]
        for g, keys in resnet_groups(floats, _depth(c), p["layerwise_by"]).items():
            key = {"kind": "layerwise", "run": c.hash, "group": g, "keys": keys, "alphas": c.alphas, "n": len(y)}
            path = layerwise_path(end, keys, label=g)

            cv = ctx.cached(key, _layerwise_curve, model, start, end, path, data, c.alphas, c.bn, ctx.device)
            lw_curves[(c.seed, g)] = cv
            lw_rows.append(
                {
                    "seed": c.seed,
                    "group": g,
                    "parameters": int(sum(end[k].numel() for k in keys)),
                    "loss_group_at_init": cv["loss"][0],
                    "loss_final": cv["loss"][-1],
                    "increase": cv["loss"][0] - cv["loss"][-1],
                    "accuracy_group_at_init": cv["accuracy"][0],
                    "min_delta": cv["min_delta"],
                    "barrier": barrier(cv["loss"]),
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
            note="Barrier: max_α L(α) − max(L(0), L(1)).",
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

    # ---- claims
    incs = [r["increase"] for r in lw_rows if r["seed"] == p["layerwise_seeds"][0]]
    ok = None
    if len(incs) >= 2:
        lo = max(min(incs), 1e-12)
        ok = max(incs) / lo >= p["sensitivity_ratio"]
    rep.claim(
        Claim(
            "layers_differ",
            "Layers differ widely in their sensitivity to being returned to initialisation",
            "Vlaar & Frankle 2022, layer-wise linear interpolation",
            Claim.decide(ok),
            "loss increase with one group at its initial value (others final): "
            + ", ".join(f"{r['group']} {r['increase']:.3g}" for r in lw_rows if r["seed"] == p["layerwise_seeds"][0])
            + f" (supported when the largest is ≥ {p['sensitivity_ratio']:g}× the smallest)",
            {"increases": incs},
        )
    )
    scratch = rt_rows[0]["test_accuracy_mean"]
    ri = [r for r in rt_rows if r["method"].startswith("T-All") and r["test_accuracy_mean"] is not None]
    worse = [r for r in ri if scratch is not None and r["test_accuracy_mean"] < scratch]
    ok = None if scratch is None or not ri else bool(worse)
    rep.claim(
        Claim(
            "partial_reinit_worse",
            "Re-initialising one stage of a trained network and retraining can end worse than training from scratch",
            "Vlaar & Frankle 2022, 'the adversarial effect of partial pre-training'",
            Claim.decide(ok),
            f"test accuracy from scratch {scratch if scratch is None else round(scratch, 4)}; "
            + ", ".join(f"{r['method']} {r['test_accuracy_mean']:.4f}" for r in ri),
            {"scratch": scratch, "reinit": {r["method"]: r["test_accuracy_mean"] for r in ri}},
            reason="" if ok is not False else "at this scale the warm-started runs effectively train twice as long",
        )
    )
    all_runs = [r for r in base + retrained if r.metrics and r.metrics.get("measures")]
    rho = rank_correlation([r.metrics["measures"]["min_delta"] for r in all_runs], [acc(r) for r in all_runs])
    ok = None if rho is None or len(all_runs) < 5 else abs(rho) < 0.5
    rep.claim(
        Claim(
            "shape_not_accuracy",
            "The shape of the init → final path (its min Δ) is not a reliable indicator of test accuracy",
            "Vlaar & Frankle 2022, findings",
            Claim.decide(ok),
            f"Spearman(min Δ, test accuracy) over {len(all_runs)} networks: {rho if rho is None else round(rho, 3)} "
            "(supported when |ρ| < 0.5)",
            {"spearman": rho, "n": len(all_runs)},
            reason="" if ok is not None else "fewer than 5 networks, or min Δ constant (all monotone)",
        )
    )

    pyplot = plt()
    seed0 = p["layerwise_seeds"][0]
    groups = [g for (s, g) in lw_curves if s == seed0]
    if groups:
        fig, ax = pyplot.subplots(figsize=(6.5, 4))
        cmap = pyplot.get_cmap("viridis")
        for i, g in enumerate(groups):
            cv = lw_curves[(seed0, g)]
            ax.plot(cv["alphas"], cv["loss"], color=cmap(i / max(1, len(groups) - 1)), label=g)
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
