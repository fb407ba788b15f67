"""Lucas et al. 2021, Figures 6 and 8: unrelated initialisations → an optimum, and all pairs of inits and optima.

Figure 6: for one optimum per training setting, the loss along lines from ``n_random_inits`` fresh
initialisations (seeds ``random_seed_base + i``) to it, mean ± std, beside the original pair
([`mlitheory.studies.unrelated_initializations`][mlitheory.studies.unrelated_initializations]). Figure 8: among the
classifiers of the first setting with final loss < ``loss_threshold``, the barriers
[`mlitheory.studies.end_barrier`][mlitheory.studies.end_barrier], $(\\max_\\alpha L(\\alpha) - \\max(L(0), L(1)))_+$, of
init↔init and optimum↔optimum lines and min Δ of every init → optimum line
([`mlitheory.studies.pairwise_interpolations`][mlitheory.studies.pairwise_interpolations]).

References:
    Lucas et al. 2021 (arXiv 2104.11044), §4.3, Figures 6 and 8; Fort & Jastrzebski 2019 (barriers between optima).
"""

from __future__ import annotations

import numpy as np

from empirical.experiments._common import (
    EXACT_EXAMPLES,
    eval_data,
    exact_line,
    exact_mli,
    exact_table,
    interpolation_options,
    load_data,
    plt,
    share,
)
from empirical.report import Report, Table
from mlitheory.studies import pairwise_interpolations, unrelated_initializations


def _family(rec) -> str:
    c = rec.config
    bn = "BN" if c.model_options.get("batchnorm") else "no BN"
    return f"{'SGD' if c.optimizer == 'sgd' else c.optimizer.capitalize()} lr {c.lr:g}, {bn}"


def _measured(rec) -> bool:
    return bool(rec.metrics and rec.metrics.get("measures"))


def exact_pair_lines(ctx, p, classifiers, n: int = EXACT_EXAMPLES) -> list[tuple[str, dict]]:
    """The disjoint pairs' three lines (init ↔ init, init → optimum, optimum ↔ optimum of classifiers 2k, 2k + 1)
    decided exactly (`exact_line` (in `empirical.experiments._common`)) on the first ``n`` examples of the
    pairs' data, with their α grid (cached)."""
    alphas = np.linspace(0.0, 1.0, p["pair_alphas"]) if isinstance(p["pair_alphas"], int) else p["pair_alphas"]
    ends = {"init ↔ init": ("init", "init"), "init → optimum": ("init", "final")}
    ends["optimum ↔ optimum"] = ("final", "final")
    out = []
    for k in range(len(classifiers) // 2):
        ra, rb = classifiers[2 * k], classifiers[2 * k + 1]
        m = min(n, p["n_pair_examples"], ra.config.n_train)  # the examples the line is decided on
        for kind, (s, e) in ends.items():

            def compute(ra=ra, rb=rb, s=s, e=e):  # data and checkpoints read only when not stored yet
                _, x, y = load_data(ra.config, split="train", n=p["n_pair_examples"])
                return exact_line(ra, ra.checkpoint(s), rb.checkpoint(e), x[:n], y[:n], alphas, ctx.device)

            key = {"kind": f"exact {kind}", "runs": [ra.config.hash, rb.config.hash], "n": m, "version": 2}
            out.append((f"{kind}, seeds {ra.config.seed} and {rb.config.seed}", ctx.cached(key, compute)))
    return out


def disjoint_pairs(ctx, p, classifiers) -> list[dict]:
    """The pre-registered independent Figure 8 lines: for classifiers 2k and 2k + 1 (in the given order), their two
    initialisations, their two optima, and the initialisation of 2k to the optimum of 2k + 1 (cached)."""
    bt, dt = p["barrier_threshold"], p["delta_threshold"]
    out = []
    for k in range(len(classifiers) // 2):
        ra, rb = classifiers[2 * k], classifiers[2 * k + 1]
        c = ra.config
        _, x, y = load_data(c, split="train", n=p["n_pair_examples"])
        key = {
            "kind": "disjoint pair",
            "runs": [ra.config.hash, rb.config.hash],
            "alphas": p["pair_alphas"],
            "n": len(y),
        }
        study = ctx.cached(
            key,
            lambda ra=ra, rb=rb, c=c, x=x, y=y: pairwise_interpolations(
                ra.build_model(),
                [ra.checkpoint("init"), rb.checkpoint("init")],
                [ra.checkpoint("final"), rb.checkpoint("final")],
                eval_data(c, x, y, ctx.device),
                alphas=p["pair_alphas"],
                **interpolation_options(c, bn_x=x, device=ctx.device),
            ),
        )
        for kind, g in (("init-init", "init_init"), ("init-optimum", "init_opt"), ("optimum-optimum", "opt_opt")):
            i = [tuple(int(v) for v in pair) for pair in study.pairs[g]].index((0, 1))
            b, d = float(study.end_barrier[g][i]), float(study.min_delta[g][i])
            out.append(
                {
                    "kind": kind,
                    "disjoint": True,
                    "dataset": c.dataset,
                    "a": ra.config.hash,
                    "b": rb.config.hash,
                    "barrier": b,
                    "min_delta": d,
                    "barrier_present": b > bt,
                    "nonmonotone": d > dt,
                }
            )
    return out


def analyse(ctx) -> Report:
    p = ctx.params
    rep = ctx.new_report()
    families: dict[str, list] = {}
    for rec in ctx.records:
        families.setdefault(_family(rec), []).append(rec)
    names = list(families)

    # ---- Figure 6: random initialisations -> one optimum per family
    fig6_rows, fig6_curves, random_units = [], {}, []
    for fam in names:
        done = [r for r in families[fam] if _measured(r)]
        if not done:
            continue
        if fam == names[0]:
            mono = [r for r in done if r.metrics["measures"]["min_delta"] <= p["delta_threshold"]]
            chosen = (mono or done)[0]
        else:
            chosen = max(done, key=lambda r: r.metrics["measures"]["min_delta"])
        c = chosen.config
        _, x, y = load_data(c, split="train", n=c.n_measure)
        seeds = [p["random_seed_base"] + i for i in range(p["n_random_inits"])]
        key = {"kind": "random->final", "run": c.hash, "seeds": seeds, "alphas": c.alphas, "n": len(y)}
        study = ctx.cached(
            key,
            lambda chosen=chosen, c=c, x=x, y=y, seeds=seeds: unrelated_initializations(
                chosen.build_model(),
                chosen.checkpoint("final"),
                [chosen.build_model(seed=seed).state_dict() for seed in seeds],
                eval_data(c, x, y, ctx.device),
                alphas=c.alphas,
                **interpolation_options(c, bn_x=x, device=ctx.device),
            ),
        )
        deltas = [float(d) for d in study.min_delta]
        orig_delta = chosen.metrics["measures"]["min_delta"]
        nm_share, n = share(d > p["delta_threshold"] for d in deltas)
        fig6_rows.append(
            {
                "setting": fam,
                "run": c.hash,
                "original_min_delta": orig_delta,
                "original_monotone": orig_delta <= p["delta_threshold"],
                "random_inits": n,
                "random_nonmonotone_share": nm_share,
                "random_mean_min_delta": float(np.mean(deltas)),
            }
        )
        fig6_curves[fam] = {"original": chosen.curve, "random": study}
        original = "monotone" if orig_delta <= p["delta_threshold"] else "non-monotone"
        for d in deltas:
            random_units.append(
                {
                    "setting": fam,
                    "dataset": c.dataset,
                    "original": original,
                    "min_delta": d,
                    "matches": (d > p["delta_threshold"]) == (original == "non-monotone"),
                }
            )
    rep.table(
        Table(
            "fig6_random_inits",
            "Unrelated random initialisations → an optimum of each setting (Figure 6)",
            [
                "setting",
                "original_min_delta",
                "original_monotone",
                "random_inits",
                "random_nonmonotone_share",
                "random_mean_min_delta",
            ],
            fig6_rows,
            headers={
                "original_min_delta": "min Δ, original pair",
                "original_monotone": "original monotone",
                "random_inits": "random inits",
                "random_nonmonotone_share": "share non-monotone, random inits",
                "random_mean_min_delta": "mean min Δ, random inits",
            },
            note=f"Non-monotone: min Δ > {p['delta_threshold']:g}. The optimum of the first setting is its "
            "first monotone "
            "run; that of the second is its most non-monotone run.",
        )
    )

    # ---- Figure 8: among the classifiers of the first family below the loss filter
    first = sorted((r for r in families.get(names[0], []) if _measured(r)), key=lambda r: r.config.seed)

    def below(threshold: float) -> list:
        sel = [r for r in first if r.metrics["measures"]["curve_loss_final"] < threshold]
        return sel[: p["max_classifiers"]]

    classifiers = below(p["loss_threshold"])
    rep.note(
        f"Figure 8 uses {len(classifiers)} classifiers of '{names[0]}' with final training loss < "
        f"{p['loss_threshold']:g} (of {len(first)} trained; the paper used 10 classifiers with loss < 0.01); the "
        f"claims are tested on the {len(classifiers) // 2} disjoint pairs among them (classifiers 2k and 2k + 1 in "
        "seed order), which are independent."
    )
    units = {"random_inits": random_units, "pairs": disjoint_pairs(ctx, p, classifiers)}

    groups = {"init↔init": "init_init", "init→optimum": "init_opt", "optimum↔optimum": "opt_opt"}
    pairs: dict[str, list[dict]] = {kind: [] for kind in groups}
    pair_curves: dict[str, np.ndarray] = {kind: np.zeros((0, 0)) for kind in groups}
    pair_alphas = np.zeros(0)
    shown = classifiers[: p["all_pairs_max"]]
    if len(shown) >= 2:
        c0 = shown[0].config
        _, x, y = load_data(c0, split="train", n=p["n_pair_examples"])
        hs = [r.config.hash for r in shown]
        key = {"kind": "all pairs", "runs": hs, "alphas": p["pair_alphas"], "n": len(y)}
        study = ctx.cached(
            key,
            lambda: pairwise_interpolations(
                shown[0].build_model(),
                [r.checkpoint("init") for r in shown],
                [r.checkpoint("final") for r in shown],
                eval_data(c0, x, y, ctx.device),
                alphas=p["pair_alphas"],
                **interpolation_options(c0, bn_x=x, device=ctx.device),
            ),
        )
        pair_alphas = study.alphas
        for kind, g in groups.items():
            pair_curves[kind] = study.loss[g]
            pairs[kind] = [
                {"a": hs[i], "b": hs[j], "barrier": float(b), "min_delta": float(d)}
                for (i, j), b, d in zip(study.pairs[g], study.end_barrier[g], study.min_delta[g])
            ]
    bt, dt = p["barrier_threshold"], p["delta_threshold"]
    fig8_rows = []
    kinds = {"init↔init": "init-init", "init→optimum": "init-optimum", "optimum↔optimum": "optimum-optimum"}
    for kind, items in pairs.items():
        bars = [it["barrier"] for it in items]
        dis = [u for u in units["pairs"] if u["kind"] == kinds[kind]]
        fig8_rows.append(
            {
                "pairs": kind,
                "count": len(items),
                "mean_barrier": float(np.mean(bars)) if bars else None,
                "max_barrier": max(bars) if bars else None,
                "share_barrier": share(b > bt for b in bars)[0],
                "share_nonmonotone": share(it["min_delta"] > dt for it in items)[0],
                "disjoint": len(dis),
                "disjoint_barrier": sum(u["barrier_present"] for u in dis),
                "disjoint_nonmonotone": sum(u["nonmonotone"] for u in dis),
            }
        )
    rep.table(
        Table(
            "fig8_pairs",
            "Barriers between initialisations and optima (Figure 8)",
            [
                "pairs",
                "count",
                "mean_barrier",
                "max_barrier",
                "share_barrier",
                "share_nonmonotone",
                "disjoint",
                "disjoint_barrier",
                "disjoint_nonmonotone",
            ],
            fig8_rows,
            headers={
                "count": f"all pairs of the first {len(shown)}",
                "mean_barrier": "mean barrier",
                "max_barrier": "max barrier",
                "share_barrier": f"share with barrier > {bt:g}",
                "share_nonmonotone": f"share with min Δ > {dt:g}",
                "disjoint": "disjoint pairs (tested)",
                "disjoint_barrier": f"of them with barrier > {bt:g}",
                "disjoint_nonmonotone": f"of them with min Δ > {dt:g}",
            },
            note="Barrier: max_α L(α) − max(L(0), L(1)), training loss. init→optimum includes each original pair "
            "among all pairs; the disjoint init → optimum lines join the initialisation of classifier 2k to the "
            "optimum of classifier 2k + 1.",
        )
    )
    rep.numbers["fig6"] = fig6_rows
    rep.numbers["fig8"] = pairs

    # ---- claims: the pre-registered rules of lucas_fig6_8.toml; other loss filters as sensitivity analyses
    ctx.judge(rep, units)
    # the classifiers' own lines θ_0 → θ_T decided on the continuum of α, beside their sampled verdicts
    own = [r for rec_list in families.values() for r in rec_list if _measured(r)]
    exact_table(rep, [(f"{_family(r)}, seed {r.config.seed}", exact_mli(ctx, r)) for r in own], p["delta_threshold"])
    # and the Figure 8 lines of the disjoint pairs (the judged ones), on the first examples of their own data
    exact_table(
        rep,
        exact_pair_lines(ctx, p, classifiers),
        p["delta_threshold"],
        name="exact_vs_sampled_pairs",
        what="Figure 8 lines",
    )
    pair_rules = [r for r in ctx.spec.rules if r.units == "pairs"]
    for t in p.get("sensitivity_thresholds", []):
        if t == p["loss_threshold"]:
            continue
        other = below(t)
        rep.sensitivity_analysis(
            f"Figure 8 with the loss filter {t:g} ({len(other)} classifiers, {len(other) // 2} disjoint pairs)",
            pair_rules,
            {"pairs": disjoint_pairs(ctx, p, other)},
            ctx.spec.verdicts,
        )

    # ---- figures
    pyplot = plt()
    if fig6_curves:
        fig, axes = pyplot.subplots(1, len(fig6_curves), figsize=(5.5 * len(fig6_curves), 3.8), squeeze=False)
        for ax, (fam, cv) in zip(axes[0], fig6_curves.items()):
            rnd = cv["random"]
            a, m, s = rnd.alphas, rnd.mean, rnd.std
            ax.plot(a, m, color="tab:blue", label=f"{len(rnd.loss)} random inits (mean ± std)")
            ax.fill_between(a, m - s, m + s, color="tab:blue", alpha=0.25)
            ax.plot(cv["original"].alphas, cv["original"]["loss"], color="k", lw=1.5, label="original init")
            ax.set(title=fam, xlabel="α", ylabel="training loss", yscale="log")
            ax.legend(fontsize=8)
        rep.figure(
            "fig6_random_inits",
            fig,
            "Figure 6 analogue: training loss from unrelated random initialisations to "
            "an optimum (band: mean ± one standard deviation) and from the optimum's own initialisation.",
        )
    fig, axes = pyplot.subplots(1, 3, figsize=(14, 3.8))
    for ax, (kind, items) in zip(axes, pairs.items()):
        for row in pair_curves[kind]:
            ax.plot(pair_alphas, row, lw=0.8, alpha=0.6)
        ax.set(title=f"{kind} ({len(items)})", xlabel="α", ylabel="training loss", yscale="log")
    rep.figure(
        "fig8_pairs",
        fig,
        "Figure 8 analogue: every pair of initialisations (left), every initialisation to "
        "every optimum (middle), every pair of optima (right).",
    )
    return rep
