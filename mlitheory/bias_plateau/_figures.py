"""Figures of the bias-plateau demo (matplotlib, Agg backend), drawn only from the demo's result dictionary."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

_COLORS = {"linear": "C3", "homogeneous": "C0", "eq-last": "C2"}


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, out: Path, name: str) -> list[Path]:
    paths = []
    for ext in ("png", "pdf"):
        p = out / f"{name}.{ext}"
        fig.savefig(p, dpi=90 if ext == "png" else None, bbox_inches="tight")
        paths.append(p)
    return paths


def _toy_dynamics(res, plt, out):
    toy = res["toy"]
    run = toy["runs"][-1]
    steps = np.asarray(run["history"]["steps"])
    b = np.asarray(run["history"]["b"])
    wr = np.asarray(run["history"]["w_r"])
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    keep = steps > 0
    for c in range(b.shape[1]):
        axes[0].plot(steps[keep], wr[keep, c], color=f"C{c}", label=f"class {c} (u = {toy['u'][c]:.2f})")
        axes[1].plot(steps[keep], b[keep, c], color=f"C{c}")
        for ax in axes:
            ax.axvline(run["learning_steps"][c], color=f"C{c}", lw=0.8, ls=":")
    axes[0].set(xscale="log", yscale="log", xlabel="GD step", ylabel=r"$w_c^r$", title=f"toy model, r = {run['r']}")
    axes[1].set(xscale="log", xlabel="GD step", ylabel=r"output bias $b_c$", title="biases (mean conserved)")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    paths = _save(fig, out, "toy_dynamics")
    plt.close(fig)
    return paths


def _toy_interpolation(res, plt, out):
    toy = res["toy"]
    a = np.asarray(toy["alphas"])
    runs = [r for r in toy["runs"] if r["r"] >= 3] or toy["runs"]
    fig, axes = plt.subplots(2, len(runs), figsize=(4.2 * len(runs), 5.2), squeeze=False)
    for j, run in enumerate(runs):
        for s, style in (("linear", "-"), ("homogeneous", "--")):
            axes[0, j].plot(a, run["curves"][s]["error"], style, color=_COLORS[s], label=s)
            axes[1, j].plot(a, run["curves"][s]["loss"], style, color=_COLORS[s], label=s)
        p = run["plateau"]
        for ax in axes[:, j]:
            ax.axvline(p["predicted"], color="k", lw=0.8, ls=":", label="predicted plateau end")
        axes[0, j].axhline(1 - 1 / toy["k"], color="0.6", lw=0.6)
        axes[1, j].axhline(math.log(toy["k"]), color="0.6", lw=0.6)
        axes[0, j].set(title=f"toy model, r = {run['r']} (gap {run['bias_gap']:.2f})", ylabel="error")
        axes[1, j].set(xlabel=r"$\alpha$", ylabel="loss")
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    paths = _save(fig, out, "toy_interpolation")
    plt.close(fig)
    return paths


def _mlp_curves(res, plt, out):
    mlp = res["mlp"]
    a = np.asarray(mlp["alphas"])
    dmax = max(res["settings"]["depths"])
    smin = min(res["settings"]["scales"])
    smax = max(res["settings"]["scales"])
    picks = [c for c in mlp["cases"] if c["depth"] == dmax and c["init_scale"] in (smin, smax)]
    picks = sorted({(c["init_scale"]): c for c in reversed(picks)}.values(), key=lambda c: -c["init_scale"])
    fig, axes = plt.subplots(2, len(picks), figsize=(4.2 * len(picks), 5.2), squeeze=False)
    for j, c in enumerate(picks):
        for s in ("linear", "homogeneous", "eq-last"):
            axes[0, j].plot(a, c["error"][s], color=_COLORS[s], label=s)
            axes[1, j].plot(a, c["loss"][s], color=_COLORS[s], label=s)
        axes[0, j].axhline(mlp["chance_error"], color="0.6", lw=0.6, label="1 - 1/k")
        axes[0, j].axhline(mlp["threshold"], color="0.6", lw=0.6, ls=":", label="plateau threshold")
        axes[1, j].axhline(mlp["log_k"], color="0.6", lw=0.6, label="log k")
        axes[0, j].set(
            title=f"MLP depth {c['depth']}, init scale {c['init_scale']:g}, seed {c['seed']} (gap {c['bias_gap']:.2f})",
            ylabel="training error",
        )
        axes[1, j].set(xlabel=r"$\alpha$", ylabel="training loss", ylim=(0, max(2.5, mlp["log_k"] * 1.3)))
    axes[0, 0].legend(fontsize=7)
    for ax in axes[0]:
        ax.title.set_fontsize(9)
    fig.tight_layout()
    paths = _save(fig, out, "mlp_curves")
    plt.close(fig)
    return paths


def _mlp_plateau(res, plt, out):
    mlp = res["mlp"]
    depths = res["settings"]["depths"]
    scales = sorted(res["settings"]["scales"])
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.3))
    for i, d in enumerate(depths):
        rows = {r["init_scale"]: r for r in mlp["table"] if r["depth"] == d}
        for s, style in (("linear", "-o"), ("homogeneous", "--s")):
            m = [rows[x]["plateau_end"][s]["mean"] for x in scales]
            e = [rows[x]["plateau_end"][s]["spread"] for x in scales]
            axes[0].errorbar(scales, m, yerr=e, fmt=style, color=f"C{i}", ms=4, capsize=2, label=f"L = {d}, {s}")
        g = [rows[x]["bias_gap"]["mean"] for x in scales]
        ge = [rows[x]["bias_gap"]["spread"] for x in scales]
        axes[1].errorbar(scales, g, yerr=ge, fmt="-o", color=f"C{i}", ms=4, capsize=2, label=f"L = {d}")
    axes[0].set(xscale="log", xlabel="init scale", ylabel="error-plateau end", title="plateau end (mean ± half-range)")
    axes[1].set(xscale="log", xlabel="init scale", ylabel="last-layer bias gap", title="bias gap")
    from matplotlib.ticker import FixedLocator, NullLocator, ScalarFormatter

    for ax in axes:
        ax.xaxis.set_major_locator(FixedLocator(scales))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.xaxis.set_major_formatter(ScalarFormatter())
    axes[0].legend(fontsize=6, ncol=2)
    axes[1].legend(fontsize=7)
    fig.tight_layout()
    paths = _save(fig, out, "mlp_plateau")
    plt.close(fig)
    return paths


def save_figures(res: dict, out: Path) -> list[Path]:
    """Write the four figures (PNG and PDF each) into ``out``; returns the paths written."""
    plt = _plt()
    out = Path(out)
    paths = []
    for fn in (_toy_dynamics, _toy_interpolation, _mlp_curves, _mlp_plateau):
        paths += fn(res, plt, out)
    return paths
