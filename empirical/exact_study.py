"""The exact tools on trained ReLU networks: pieces, total curvature with corners, MLI decided on the continuum.

``python -m empirical.exact_study --out docs/results/exact_relu`` trains ReLU MLPs like those of the Table 1 /
Figure 5 reproductions (``empirical/experiments/lucas_table1.toml``, small scale: 1 000 MNIST or Fashion-MNIST
training images, pixels in [0, 1], 30 epochs of batch 64, SGD with momentum 0.9 or Adam over a range of learning
rates, one or two hidden layers of 128) and one small CNN, and measures on each interpolation from the initial to
the final parameters, on training examples:

* the exact logit paths ([`mlitheory.piecewise_logit_path`][mlitheory.piecewise.path.piecewise_logit_path]): pieces per
example; * the exact Gauss length with corners
  ([`mlitheory.exact_gauss_length`][mlitheory.piecewise.gauss.exact_gauss_length]) against the two 50-point estimates in
  use: the **kink-blind derivative** estimate (trapezoid rule of ‖T′‖ from exact z′, z″ at 50 α, what autodiff gives on
  a ReLU network: the 2021 authors' estimator) and the **turning polygon** through the logits at 50 α;
* the exact MLI verdict and min Δ of the training cross-entropy
  ([`mlitheory.decide_mli`][mlitheory.piecewise.decide.decide_mli]) against the 50-point sampled ones
  ([`mlitheory.interpolate`][mlitheory.interpolation.interpolate]), and how often the sampled verdict is wrong;
* Theorem 3's certificate for the MSE to the final logits (z* = the end state's logits): does the exact total
  curvature ever fall below π/2 (per example, and for the concatenated curve), and what the exact MSE decision says.

It uses only the public functions of ``empirical.data``, ``empirical.models``, ``empirical.train`` and ``mlitheory``.
Writes ``results.json``, ``report.md`` and figures (PNG and PDF) into ``--out``. ``--quick`` runs a tiny version
(seconds) that the tests execute.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

import mlitheory as mli
from empirical.data import available, load_dataset
from empirical.models import build_model
from empirical.train import train

SAMPLES = 50  # the authors' grid: np.linspace(0, 1, 50)
DELTA_THRESHOLD = 1e-3  # the Table 1 rule: non-monotone when min Δ > 1e-3


@dataclass(frozen=True)
class RunSpec:
    dataset: str
    model: str  # "mlp" or "cnn"
    hidden: tuple
    optimizer: str
    lr: float
    epochs: int
    n_measure: int

    @property
    def name(self) -> str:
        arch = "cnn" if self.model == "cnn" else "mlp-" + "-".join(str(h) for h in self.hidden)
        return f"{self.dataset}/{arch}/{self.optimizer}/lr={self.lr:g}"


def plan(quick: bool) -> tuple[list[RunSpec], dict]:
    """The runs (fixed before any result was seen) and the data sizes."""
    if quick:
        sizes = {"n_train": 200, "batch_size": 32}
        runs = [
            RunSpec("mnist", "mlp", (32,), "sgd", 0.1, 3, 60),
            RunSpec("mnist", "mlp", (16, 16), "adam", 0.01, 3, 30),
            RunSpec("mnist", "cnn", (), "sgd", 0.05, 1, 3),
        ]
        return runs, sizes
    sizes = {"n_train": 1000, "batch_size": 64}
    runs = []
    for ds in ("mnist", "fashion-mnist"):
        for opt, lr in (("sgd", 0.01), ("sgd", 0.1), ("sgd", 1.0), ("adam", 0.001), ("adam", 0.01)):
            runs.append(RunSpec(ds, "mlp", (128,), opt, lr, 30, 500))
        for opt, lr in (("sgd", 0.1), ("adam", 0.001)):
            runs.append(RunSpec(ds, "mlp", (128, 128), opt, lr, 30, 300))
    runs.append(RunSpec("mnist", "cnn", (), "sgd", 0.05, 10, 40))
    return runs, sizes


def _kink_blind_50(pp: mli.PiecewisePath) -> np.ndarray:
    """Trapezoid rule of ‖T′‖ on 50 α from exact z′, z″ (ReLU″ = 0: what autodiff gives there), per example."""
    al = np.linspace(pp.interval[0], pp.interval[1], SAMPLES)
    d1, d2 = pp.evaluate(al, 1), pp.evaluate(al, 2)  # (m, N, k)
    s = np.linalg.norm(d1, axis=-1)
    safe = np.where(s > 0, s, 1.0)
    t = d1 / safe[..., None]
    perp = d2 - (d2 * t).sum(-1, keepdims=True) * t
    f = np.where(s > 0, np.linalg.norm(perp, axis=-1) / safe, 0.0)
    return (0.5 * (f[1:] + f[:-1]) * np.diff(al)[:, None]).sum(0)


def _polygon_50(pp: mli.PiecewisePath) -> np.ndarray:
    """Σ of the turning angles of the polygon through the logits at 50 α, per example."""
    z = pp.evaluate(np.linspace(pp.interval[0], pp.interval[1], SAMPLES))
    d = np.diff(z, axis=0)
    n = np.linalg.norm(d, axis=-1, keepdims=True)
    u = d / np.where(n > 0, n, 1.0)
    a, b = u[1:], u[:-1]
    return (2 * np.arctan2(np.linalg.norm(a - b, axis=-1), np.linalg.norm(a + b, axis=-1))).sum(0)


def measure(spec: RunSpec, sizes: dict, seed: int, device: str) -> dict:
    """Train one network and measure its interpolation exactly and by 50 samples."""
    t0 = time.process_time()
    ds = load_dataset(spec.dataset, n_train=sizes["n_train"], n_test=10, seed=seed, normalize="none")
    if spec.model == "cnn":
        net = build_model("cnn", input_shape=ds.input_shape, channels=(4, 8), hidden=32, seed=seed)
    else:
        net = build_model("mlp", input_shape=ds.input_shape, hidden=list(spec.hidden), seed=seed)
    init = {k: v.detach().clone() for k, v in net.state_dict().items()}
    res = train(
        net,
        (ds.x_train, ds.y_train),
        optimizer=spec.optimizer,
        lr=spec.lr,
        epochs=spec.epochs,
        batch_size=sizes["batch_size"],
        seed=seed,
        device=device,
        progress=False,
    )
    final = {k: v.detach().clone() for k, v in net.state_dict().items()}
    t_train = time.process_time() - t0
    x, y = ds.x_train[: spec.n_measure], ds.y_train[: spec.n_measure]
    t1 = time.process_time()
    sampled = mli.interpolate(net, init, final, (x, y), alphas=SAMPLES, dtype=torch.float64, progress=False)
    t_sampled = time.process_time() - t1
    t2 = time.process_time()
    pp = mli.piecewise_logit_path(net, init, final, x)
    t_pieces = time.process_time() - t2
    t3 = time.process_time()
    ce = mli.decide_mli(net, init, final, (x, y), pieces=pp)
    t_decide = time.process_time() - t3
    t4 = time.process_time()
    g = mli.exact_gauss_length(None, None, None, None, pieces=pp, concatenated=spec.model != "cnn")
    t_gauss = time.process_time() - t4
    mse = mli.decide_mli(
        net, init, final, (x, torch.zeros(len(x), pp.n_outputs)), loss="mse", targets="final", pieces=pp
    )
    kb50, poly50 = _kink_blind_50(pp), _polygon_50(pp)
    s_md = float(sampled.min_delta())
    al_fine = np.linspace(0, 1, 2001)
    return {
        "run": spec.name,
        "dataset": spec.dataset,
        "arch": "cnn" if spec.model == "cnn" else "mlp-" + "-".join(map(str, spec.hidden)),
        "optimizer": spec.optimizer,
        "lr": spec.lr,
        "epochs": spec.epochs,
        "n_measure": spec.n_measure,
        "train_status": res.status,
        "final_train_loss": float(res.final_loss),
        "degree": pp.degree,
        "pieces_mean": float(pp.n_pieces.mean()),
        "pieces_median": float(np.median(pp.n_pieces)),
        "pieces_max": int(pp.n_pieces.max()),
        "pieces_per_example": pp.n_pieces.tolist(),
        "breakpoints_union": ce.n_breakpoints,
        "G_exact_mean": g.mean,
        "G_exact_error_max": float(g.error.max()),
        "G_smooth_mean": float(g.smooth_part.mean()),
        "G_corner_mean": float(g.corner_part.mean()),
        "G_reversal_mean": float(g.reversal_part.mean()),
        "G_kink_blind_50_mean": float(kb50.mean()),
        "G_polygon_50_mean": float(poly50.mean()),
        "G_exact_per_example": g.total.tolist(),
        "G_kink_blind_50_per_example": kb50.tolist(),
        "G_polygon_50_per_example": poly50.tolist(),
        "G_concatenated": g.concatenated,
        "G_concatenated_error": g.concatenated_error,
        "share_examples_G_below_half_pi": float(np.mean(g.total + g.error < math.pi / 2)),
        "min_G_exact": float(g.total.min()),
        "ce_exact_monotone": ce.monotone,
        "ce_exact_strict": ce.strict,
        "ce_exact_min_delta": ce.min_delta,
        "ce_exact_min_delta_error": ce.min_delta_error,
        "ce_exact_tol": ce.tol,
        "ce_witness": ce.witness,
        "ce_sampled_min_delta": s_md,
        "ce_sampled_monotone": bool(s_md <= ce.tol),
        "ce_sampled_wrong": bool((s_md <= ce.tol) != ce.monotone),
        "ce_exact_nonmonotone_1e-3": bool(ce.min_delta > DELTA_THRESHOLD),
        "ce_sampled_nonmonotone_1e-3": bool(s_md > DELTA_THRESHOLD),
        "ce_loss_sampled": sampled.loss.tolist(),
        "ce_loss_exact_fine": ce.loss(al_fine).tolist(),
        "mse_final_exact_monotone": mse.monotone,
        "mse_final_exact_strict": mse.strict,
        "mse_final_min_delta": mse.min_delta,
        "theorem3_certifies_all_examples": bool((g.total + g.error < math.pi / 2).all()),
        "theorem3_certifies_concatenated": bool(g.concatenated + g.concatenated_error < math.pi / 2)
        if math.isfinite(g.concatenated)
        else None,
        "seconds": {
            "train": t_train,
            "sampled_50": t_sampled,
            "pieces": t_pieces,
            "decide_ce": t_decide,
            "gauss": t_gauss,
        },
    }


# ---------------------------------------------------------------------------------------------- report


def _fmt(x, f=".3g"):
    return "-" if x is None or (isinstance(x, float) and not math.isfinite(x)) else format(x, f)


def figures(rows: list[dict], out: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    made = []
    # 1. pieces per example
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for arch in sorted({r["arch"] for r in rows}):
        vals = np.concatenate([r["pieces_per_example"] for r in rows if r["arch"] == arch])
        ax.hist(vals, bins=40, alpha=0.6, label=f"{arch} (mean {vals.mean():.0f})")
    ax.set_xlabel("pieces of the logit path per example")
    ax.set_ylabel("examples")
    ax.legend(fontsize=8)
    fig.tight_layout()
    made += _save(fig, out / "pieces")
    # 2. exact G vs the 50-point estimates (per example, all runs)
    fig, ax = plt.subplots(figsize=(5.2, 4.2))
    ex = np.concatenate([r["G_exact_per_example"] for r in rows])
    kb = np.concatenate([r["G_kink_blind_50_per_example"] for r in rows])
    pl = np.concatenate([r["G_polygon_50_per_example"] for r in rows])
    ax.scatter(ex, kb, s=3, alpha=0.4, label="kink-blind derivative, 50 α")
    ax.scatter(ex, pl, s=3, alpha=0.4, label="turning polygon, 50 α")
    top = max(ex.max(), kb.max(), pl.max()) * 1.05
    ax.plot([0, top], [0, top], "k--", lw=0.8, label="equal")
    ax.axvline(math.pi / 2, color="grey", lw=0.6)
    ax.set_xlabel("exact Gauss length with corners (rad)")
    ax.set_ylabel("50-point estimate (rad)")
    ax.legend(fontsize=8, markerscale=3)
    fig.tight_layout()
    made += _save(fig, out / "gauss_length")
    # 3. exact vs sampled min Δ
    fig, ax = plt.subplots(figsize=(5.2, 4.2))
    e = np.array([r["ce_exact_min_delta"] for r in rows])
    s = np.array([r["ce_sampled_min_delta"] for r in rows])
    floor = 1e-16
    ax.scatter(np.maximum(e, floor), np.maximum(s, floor), s=18)
    lim = [floor, max(1.0, e.max(), s.max()) * 2]
    ax.plot(lim, lim, "k--", lw=0.8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("exact min Δ on the continuum (0 shown at 1e-16)")
    ax.set_ylabel("min Δ on 50 samples")
    fig.tight_layout()
    made += _save(fig, out / "min_delta")
    # 4. the run where the exact and sampled min Δ differ most: the loss on a fine grid and the 50 samples
    r = max(rows, key=lambda q: q["ce_exact_min_delta"] - q["ce_sampled_min_delta"])
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    af = np.linspace(0, 1, len(r["ce_loss_exact_fine"]))
    fine, samp = np.asarray(r["ce_loss_exact_fine"]), np.asarray(r["ce_loss_sampled"])
    a50 = np.linspace(0, 1, SAMPLES)
    for ax in axes:
        ax.plot(af, fine, lw=1, label="exact (pieces), 2 001 points")
        ax.plot(a50, samp, ".", label="50 samples (interpolate)")
        ax.set_xlabel(r"$\alpha$")
    axes[0].set_ylabel("training cross-entropy")
    if r["ce_witness"] is not None:  # zoom on the largest rise: from its start to its end
        a, b = r["ce_witness"][0], r["ce_witness"][1]
        pad = max(0.02, 0.5 * (b - a))
        lo, hi = max(0.0, a - pad), min(1.0, b + pad)
        sel = (af >= lo) & (af <= hi)
        axes[1].set_xlim(lo, hi)
        span = fine[sel].max() - fine[sel].min()
        axes[1].set_ylim(fine[sel].min() - 0.1 * span, fine[sel].max() + 0.1 * span)
        axes[1].axvline(a, color="grey", lw=0.6)
        axes[1].axvline(b, color="grey", lw=0.6)
        axes[1].set_title("zoom on the largest rise (witness α)", fontsize=8)
    axes[0].set_title(
        f"{r['run']}: exact min Δ {r['ce_exact_min_delta']:.2e}, sampled {r['ce_sampled_min_delta']:.2e}", fontsize=8
    )
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    made += _save(fig, out / "curve")
    plt.close("all")
    return made


def _save(fig, stem: Path) -> list[str]:
    fig.savefig(stem.with_suffix(".png"), dpi=130)
    fig.savefig(stem.with_suffix(".pdf"))
    return [stem.with_suffix(".png").name, stem.with_suffix(".pdf").name]


def report_md(rows: list[dict], meta: dict) -> str:
    lines = [
        "# Exact ReLU logit paths: pieces, total curvature with corners, MLI decided on the continuum",
        "",
        f"Regenerate: `python -m empirical.exact_study --out docs/results/exact_relu` ({meta['runtime_minutes']:.1f} "
        f"min of CPU on one thread; seed {meta['seed']}).",
        "",
        "Networks like those of the Table 1 / Figure 5 reproductions at their small scale: "
        f"{meta['sizes']['n_train']} training images (MNIST or Fashion-MNIST, pixels in [0, 1]), batch "
        f"{meta['sizes']['batch_size']}, SGD (momentum 0.9) or Adam, ReLU MLPs with one or two hidden layers "
        "(PyTorch's default initialisation), and one small CNN (two 3×3 conv + max-pool stages of 4 and 8 channels, "
        "a hidden layer of 32). Each interpolation θ_α = (1 − α)θ₀ + αθ_T is measured on the first training examples "
        "(count in the table). Everything exact is computed in float64 from the pieces; the 50-point values use "
        "α = linspace(0, 1, 50).",
        "",
        "## Per run",
        "",
        "| run | final loss | examples | pieces / example (mean, max) | exact G (smooth + corners) | kink-blind 50 | "
        "polygon 50 | exact min Δ | sampled min Δ | sampled verdict wrong |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['run']} | {r['final_train_loss']:.3g} | {r['n_measure']} | "
            f"{r['pieces_mean']:.1f}, {r['pieces_max']} | "
            f"{r['G_exact_mean']:.3f} ({r['G_smooth_mean']:.3f} + {r['G_corner_mean']:.3f}) | "
            f"{r['G_kink_blind_50_mean']:.3f} | {r['G_polygon_50_mean']:.3f} | {r['ce_exact_min_delta']:.3g} | "
            f"{r['ce_sampled_min_delta']:.3g} | {'yes' if r['ce_sampled_wrong'] else 'no'} |"
        )
    n = len(rows)
    wrong = sum(r["ce_sampled_wrong"] for r in rows)
    wrong_thr = sum(r["ce_exact_nonmonotone_1e-3"] != r["ce_sampled_nonmonotone_1e-3"] for r in rows)
    ratio_kb = np.mean([r["G_kink_blind_50_mean"] / r["G_exact_mean"] for r in rows if r["G_exact_mean"] > 0])
    ratio_pl = np.mean([r["G_polygon_50_mean"] / r["G_exact_mean"] for r in rows if r["G_exact_mean"] > 0])
    corner_share = np.mean([r["G_corner_mean"] / r["G_exact_mean"] for r in rows if r["G_exact_mean"] > 0])
    cert_all = sum(bool(r["theorem3_certifies_all_examples"]) for r in rows)
    cert_cat = sum(bool(r["theorem3_certifies_concatenated"]) for r in rows)
    share_half = np.mean([r["share_examples_G_below_half_pi"] for r in rows])
    mse_mono = sum(bool(r["mse_final_exact_monotone"]) for r in rows)
    n_cat = sum(math.isfinite(r["G_concatenated"]) for r in rows)
    lines += [
        "",
        "## Findings",
        "",
        "- **Pieces.** Mean pieces per example: "
        + ", ".join(
            f"{a} {np.mean([r['pieces_mean'] for r in rows if r['arch'] == a]):.0f}"
            for a in sorted({r["arch"] for r in rows})
        )
        + " (in a one-hidden-layer net each neuron flips at most once; deeper layers' neurons can flip many times).",
        f"- **Gauss length.** The corners carry {100 * corner_share:.0f}% of the exact total curvature on average. "
        f"The kink-blind 50-point derivative estimate is {ratio_kb:.2f}× the exact value on average (it misses every "
        f"corner), the 50-point turning polygon {ratio_pl:.2f}×.",
        f"- **MLI verdicts (cross-entropy).** The 50-point sampled verdict (min Δ ≤ the exact decision's tolerance) "
        f"disagrees with the exact decision on {wrong} of {n} runs; with the Table 1 rule (non-monotone when min Δ > "
        f"1e-3) on {wrong_thr} of {n}.",
        f"- **Theorem 3 certificate (MSE to the final logits).** Examples with exact total curvature below π/2: "
        f"{100 * share_half:.1f}% on average; runs where every example is certified: {cert_all} of {n}; runs whose "
        f"concatenated curve has G < π/2: {cert_cat} of {n_cat} measured. The exact MSE-to-final decision is "
        f"monotone on {mse_mono} of {n} runs: MLI holds there without "
        "the certificate.",
        "",
        "## Cost (CPU seconds, one thread)",
        "",
        "| run | train | 50-point interpolate | pieces | decide (CE) | Gauss length |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        s = r["seconds"]
        lines.append(
            f"| {r['run']} | {s['train']:.1f} | {s['sampled_50']:.2f} | {s['pieces']:.2f} | {s['decide_ce']:.2f} | "
            f"{s['gauss']:.2f} |"
        )
    lines += [
        "",
        "Speed against the 50-point curve at 1 000 inputs is measured side by side by `benchmarks/bench_exact.py` "
        "(last run: [bench.md](bench.md)).",
        "",
        "## Figures",
        "",
        "![pieces](pieces.png) ![gauss length](gauss_length.png) ![min delta](min_delta.png) ![curve](curve.png)",
        "",
        "`pieces`: pieces per example. `gauss_length`: the two 50-point estimates against the exact value, per "
        "example. `min_delta`: exact against sampled min Δ per run. `curve`: the run where they differ most.",
        "",
    ]
    return "\n".join(lines)


def _rounded(obj):
    """Floats of long per-example lists to 7 significant digits (results.json stays small); scalars untouched."""
    if isinstance(obj, dict):
        return {k: _rounded(v) for k, v in obj.items()}
    if isinstance(obj, list) and len(obj) > 8 and all(isinstance(v, float) for v in obj):
        return [float(f"{v:.7g}") for v in obj]
    if isinstance(obj, list):
        return [_rounded(v) for v in obj]
    return obj


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m empirical.exact_study",
        description=(
            "Train small ReLU networks on MNIST / Fashion-MNIST and measure their interpolations exactly "
            "(pieces, Gauss length with corners, MLI decided on the continuum) against 50-point samples."
        ),
    )
    p.add_argument("--out", type=Path, required=True, help="folder for results.json, report.md and the figures")
    p.add_argument("--seed", type=int, default=0, help="seed of data subsets, initialisations and batch orders")
    p.add_argument("--quick", action="store_true", help="a tiny version (seconds)")
    p.add_argument("--device", default="cpu", help="training device (the exact tools run where the states are)")
    args = p.parse_args(argv)
    runs, sizes = plan(args.quick)
    missing = sorted({r.dataset for r in runs if not available(r.dataset)[0]})
    if missing:
        print(f"error: data set(s) {', '.join(missing)} not installed: {available(missing[0])[1]}", file=sys.stderr)
        return 2
    torch.set_num_threads(1)
    from tqdm.auto import tqdm

    t0 = time.process_time()
    rows = []
    for spec in tqdm(runs, desc="runs"):
        rows.append(measure(spec, sizes, args.seed, args.device))
        tqdm.write(
            f"{spec.name}: pieces {rows[-1]['pieces_mean']:.1f}, G {rows[-1]['G_exact_mean']:.3f} "
            f"(kink-blind {rows[-1]['G_kink_blind_50_mean']:.3f}), min Δ exact {rows[-1]['ce_exact_min_delta']:.3g} "
            f"sampled {rows[-1]['ce_sampled_min_delta']:.3g}"
        )
    meta = {"seed": args.seed, "quick": args.quick, "sizes": sizes, "runtime_minutes": (time.process_time() - t0) / 60}
    args.out.mkdir(parents=True, exist_ok=True)
    made = figures(rows, args.out)
    (args.out / "results.json").write_text(json.dumps({"meta": meta, "runs": _rounded(rows)}, indent=1))
    (args.out / "report.md").write_text(report_md(rows, meta))
    print(f"wrote {args.out / 'report.md'}, results.json and {len(made)} figure files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
