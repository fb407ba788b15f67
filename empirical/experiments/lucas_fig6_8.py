"""Lucas et al. 2021, Figures 6 and 8: unrelated initialisations → an optimum, and all pairs of inits and optima.

Figure 6: for one optimum per training setting, the loss along lines from ``n_random_inits`` fresh
initialisations (seeds ``random_seed_base + i``) to it, mean ± std, beside the original pair. Figure 8: among the
classifiers of the first setting with final loss < ``loss_threshold``, barriers
:math:`\\max_\\alpha L(\\alpha) - \\max(L(0), L(1))` of init↔init and optimum↔optimum lines and min Δ of every
init → optimum line.

References:
    Lucas et al. 2021 (arXiv 2104.11044), §4.3, Figures 6 and 8; Fort & Jastrzebski 2019 (barriers between optima).
"""

from __future__ import annotations

import numpy as np

from empirical.experiments._common import barrier, line_curve, load_data, plt, share
from empirical.report import Claim, Report, Table


def _family(rec) -> str:
    c = rec.config
    bn = "BN" if c.model_options.get("batchnorm") else "no BN"
    return f"{'SGD' if c.optimizer == 'sgd' else c.optimizer.capitalize()} lr {c.lr:g}, {bn}"


def _measured(rec) -> bool:
    return bool(rec.metrics and rec.metrics.get("measures"))


def analyse(ctx) -> Report:
    p = ctx.params
    rep = ctx.new_report()
    families: dict[str, list] = {}
    for rec in ctx.records:
        families.setdefault(_family(rec), []).append(rec)
    names = list(families)

    # ---- Figure 6: random initialisations -> one optimum per family
    fig6_rows, fig6_curves = [], {}
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
        end = chosen.checkpoint("final")
        curves = []
        for i in range(p["n_random_inits"]):
            seed = p["random_seed_base"] + i
            key = {"kind": "random->final", "run": c.hash, "seed": seed, "alphas": c.alphas, "n": len(y)}
            fresh = chosen.build_model(seed=seed).state_dict()
            curves.append(ctx.cached(key, line_curve, chosen, fresh, end, x, y, alphas=c.alphas, device=ctx.device))
        deltas = [cv["min_delta"] for cv in curves]
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
        fig6_curves[fam] = {"original": chosen.curve, "random": curves}
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

    # ---- Figure 8: all pairs among the classifiers of the first family
    first = [r for r in families.get(names[0], []) if _measured(r)]
    classifiers = [r for r in first if r.metrics["measures"]["curve_loss_final"] < p["loss_threshold"]]
    classifiers = classifiers[: p["max_classifiers"]]
    rep.note(
        f"Figure 8 uses {len(classifiers)} classifiers of '{names[0]}' with final training loss < "
        f"{p['loss_threshold']:g} (of {len(first)} trained; the paper used 10 classifiers with loss < 0.01)."
    )
    pairs: dict[str, list[dict]] = {"init↔init": [], "init→optimum": [], "optimum↔optimum": []}
    if len(classifiers) >= 2:
        c0 = classifiers[0].config
        _, x, y = load_data(c0, split="train", n=p["n_pair_examples"])
        inits = {r.config.hash: r.checkpoint("init") for r in classifiers}
        finals = {r.config.hash: r.checkpoint("final") for r in classifiers}
        hs = list(inits)

        def line(kind, a, b, sa, sb):
            key = {"kind": kind, "a": a, "b": b, "alphas": p["pair_alphas"], "n": len(y)}
            cv = ctx.cached(key, line_curve, classifiers[0], sa, sb, x, y, alphas=p["pair_alphas"], device=ctx.device)
            return {"a": a, "b": b, "curve": cv, "barrier": barrier(cv["loss"]), "min_delta": cv["min_delta"]}

        for i, a in enumerate(hs):
            for j, b in enumerate(hs):
                if i < j:
                    pairs["init↔init"].append(line("init-init", a, b, inits[a], inits[b]))
                    pairs["optimum↔optimum"].append(line("final-final", a, b, finals[a], finals[b]))
                pairs["init→optimum"].append(line("init-final", a, b, inits[a], finals[b]))
    bt, dt = p["barrier_threshold"], p["delta_threshold"]
    fig8_rows = []
    for kind, items in pairs.items():
        bars = [it["barrier"] for it in items]
        fig8_rows.append(
            {
                "pairs": kind,
                "count": len(items),
                "mean_barrier": float(np.mean(bars)) if bars else None,
                "max_barrier": max(bars) if bars else None,
                "share_barrier": share(b > bt for b in bars)[0],
                "share_nonmonotone": share(it["min_delta"] > dt for it in items)[0],
            }
        )
    rep.table(
        Table(
            "fig8_pairs",
            "Barriers between initialisations and optima (Figure 8)",
            ["pairs", "count", "mean_barrier", "max_barrier", "share_barrier", "share_nonmonotone"],
            fig8_rows,
            headers={
                "mean_barrier": "mean barrier",
                "max_barrier": "max barrier",
                "share_barrier": f"share with barrier > {bt:g}",
                "share_nonmonotone": f"share with min Δ > {dt:g}",
            },
            note="Barrier: max_α L(α) − max(L(0), L(1)), training loss. init→optimum includes each original pair.",
        )
    )
    rep.numbers["fig6"] = fig6_rows
    rep.numbers["fig8"] = {
        k: [{kk: v for kk, v in it.items() if kk != "curve"} for it in items] for k, items in pairs.items()
    }

    # ---- claims
    agree = []
    for row in fig6_rows:
        nm = row["random_nonmonotone_share"]
        agree.append(nm < 0.5 if row["original_monotone"] else nm >= 0.5)
    has_both = any(r["original_monotone"] for r in fig6_rows) and any(not r["original_monotone"] for r in fig6_rows)
    ok = (all(agree) if has_both else (False if not all(agree) else None)) if fig6_rows else None
    rep.claim(
        Claim(
            "random_inits_like_original",
            "Unrelated random initialisations interpolate to an optimum like its own "
            "initialisation does (monotone stays monotone, non-monotone stays non-monotone)",
            "Lucas et al. 2021, §4.3 and Figure 6",
            Claim.decide(ok),
            "; ".join(
                f"{r['setting']}: original min Δ {r['original_min_delta']:.3g}, random inits non-monotone "
                f"{r['random_nonmonotone_share']:.2f} of {r['random_inits']}"
                for r in fig6_rows
            )
            or "no runs",
            {"rows": fig6_rows},
            reason="" if ok is not None else "no non-monotone original pair at this scale to test the second half",
        )
    )
    row = {r["pairs"]: r for r in fig8_rows}
    ii, io, oo = row["init↔init"], row["init→optimum"], row["optimum↔optimum"]
    enough = len(classifiers) >= 2
    rep.claim(
        Claim(
            "no_barrier_inits",
            "No barriers between pairs of initialisations",
            "Lucas et al. 2021, §4.3 and Figure 8",
            Claim.decide(ii["max_barrier"] <= bt if enough else None),
            f"largest barrier over {ii['count']} pairs: "
            f"{ii['max_barrier'] if ii['max_barrier'] is None else round(ii['max_barrier'], 4)}",
            ii,
        )
    )
    rep.claim(
        Claim(
            "no_barrier_init_optimum",
            "No barriers from initialisations to optima (every init → every optimum monotone)",
            "Lucas et al. 2021, §4.3 and Figure 8",
            Claim.decide(io["share_nonmonotone"] == 0 if enough else None),
            f"{io['count']} init→optimum lines: share with min Δ > {dt:g} = {io['share_nonmonotone']}",
            io,
        )
    )
    rep.claim(
        Claim(
            "barriers_between_optima",
            "Barriers are present between optima",
            "Lucas et al. 2021, §4.3 and Figure 8 (after Fort & Jastrzebski 2019)",
            Claim.decide(oo["share_barrier"] >= 0.5 if enough else None),
            f"{oo['count']} optimum pairs: share with barrier > {bt:g} = {oo['share_barrier']}, mean barrier "
            f"{oo['mean_barrier'] if oo['mean_barrier'] is None else round(oo['mean_barrier'], 4)}",
            oo,
            reason=""
            if not enough or oo["share_barrier"] >= 0.5
            else (
                "small networks trained on a small subsample from different seeds can land in linearly connected optima"
            ),
        )
    )

    # ---- figures
    pyplot = plt()
    if fig6_curves:
        fig, axes = pyplot.subplots(1, len(fig6_curves), figsize=(5.5 * len(fig6_curves), 3.8), squeeze=False)
        for ax, (fam, cv) in zip(axes[0], fig6_curves.items()):
            a = np.asarray(cv["random"][0]["alphas"])
            losses = np.asarray([c["loss"] for c in cv["random"]])
            m, s = losses.mean(0), losses.std(0)
            ax.plot(a, m, color="tab:blue", label=f"{len(losses)} random inits (mean ± std)")
            ax.fill_between(a, m - s, m + s, color="tab:blue", alpha=0.25)
            ax.plot(cv["original"]["alphas"], cv["original"]["loss"], color="k", lw=1.5, label="original init")
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
        for it in items:
            ax.plot(it["curve"]["alphas"], it["curve"]["loss"], lw=0.8, alpha=0.6)
        ax.set(title=f"{kind} ({len(items)})", xlabel="α", ylabel="training loss", yscale="log")
    rep.figure(
        "fig8_pairs",
        fig,
        "Figure 8 analogue: every pair of initialisations (left), every initialisation to "
        "every optimum (middle), every pair of optima (right).",
    )
    return rep
