"""Cost of the exact tools against the 50-point sampled curve, measured side by side in one run.

For ReLU MLPs trained briefly on MNIST (2 000 images, 3 epochs of SGD; Gaussian data of the same shape when MNIST is
not installed), on ``--n`` training inputs:

* **sampled**: ``mlitheory.interpolate`` at 50 α (the authors' grid), in the model's float32 and in float64;
* **exact**: ``piecewise_logit_path`` (the pieces), ``decide_mli`` (cross-entropy, on those pieces) and
  ``exact_gauss_length`` (per example, on those pieces), all float64 — their sum as a ratio to the sampled curve.

Goals of the issue: ≤ 1× for 784-128-10, ≤ 5× for 784-512-512-10. Then how the cost and the number of pieces
grow with width (one hidden layer), depth (width 128) and N. Timings are the best of ``--repeats`` interleaved runs
in process CPU time on one thread.

    python benchmarks/bench_exact.py [--quick] [--goals-only] [--n 1000] [--repeats 3] [--out FILE.md]
"""

from __future__ import annotations

import argparse
import builtins
import time
from pathlib import Path

import torch

import mlitheory as mli
from empirical.data import available, load_dataset
from empirical.models import build_model
from empirical.train import train

CLOCK = time.process_time


def data(n_train: int):
    if available("mnist")[0]:
        ds = load_dataset("mnist", n_train=n_train, n_test=10, seed=0, normalize="none")
        return ds.x_train, ds.y_train, "MNIST"
    g = torch.Generator().manual_seed(0)
    x = torch.rand(n_train, 1, 28, 28, generator=g)
    y = torch.randint(0, 10, (n_train,), generator=g)
    return x, y, "uniform noise (MNIST not installed)"


def trained(hidden, x, y, epochs: int):
    net = build_model("mlp", input_shape=(1, 28, 28), hidden=list(hidden), seed=0)
    init = {k: v.clone() for k, v in net.state_dict().items()}
    train(net, (x, y), optimizer="sgd", lr=0.1, epochs=epochs, batch_size=64, seed=0, progress=False)
    return net, init, {k: v.clone() for k, v in net.state_dict().items()}


def measure(net, init, final, x, y, repeats: int) -> dict:
    def sampled32():
        return mli.interpolate(net, init, final, (x, y), alphas=50, progress=False)

    def sampled64():
        return mli.interpolate(net, init, final, (x, y), alphas=50, dtype=torch.float64, progress=False)

    best = {k: float("inf") for k in ("sampled32", "sampled64", "pieces", "decide", "gauss")}
    info = {}
    for _ in range(repeats):
        for name, fn in (("sampled32", sampled32), ("sampled64", sampled64)):
            t = CLOCK()
            fn()
            best[name] = min(best[name], CLOCK() - t)
        t = CLOCK()
        pp = mli.piecewise_logit_path(net, init, final, x)
        best["pieces"] = min(best["pieces"], CLOCK() - t)
        t = CLOCK()
        d = mli.decide_mli(net, init, final, (x, y), pieces=pp)
        best["decide"] = min(best["decide"], CLOCK() - t)
        t = CLOCK()
        g = mli.exact_gauss_length(None, None, None, None, pieces=pp, concatenated=False)
        best["gauss"] = min(best["gauss"], CLOCK() - t)
        info = {"pieces_per_example": float(pp.n_pieces.mean()), "monotone": d.monotone, "G": g.mean}
    best["exact"] = best["pieces"] + best["decide"] + best["gauss"]
    best["ratio"] = best["exact"] / best["sampled32"]
    best["ratio64"] = best["exact"] / best["sampled64"]
    return {**best, **info}


def row(label: str, r: dict) -> str:
    return (
        f"| {label} | {r['pieces_per_example']:.1f} | {r['sampled32']:.3f} | {r['sampled64']:.3f} | "
        f"{r['pieces']:.3f} | "
        f"{r['decide']:.3f} | {r['gauss']:.3f} | {r['exact']:.3f} | **{r['ratio']:.1f}×** ({r['ratio64']:.1f}× f64) |"
    )


HEAD = (
    "| network, N | pieces / example | sampled 50 α (f32) | sampled (f64) | pieces | decide_mli | exact_gauss_length | "
    "exact total | exact / sampled |\n|---|---|---|---|---|---|---|---|---|"
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (a minute)")
    ap.add_argument("--n", type=int, default=1000, help="inputs for the two goal networks (default 1000)")
    ap.add_argument("--repeats", type=int, default=3, help="interleaved repeats; the best is kept")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--goals-only", action="store_true", help="only the two goal networks (no growth tables)")
    ap.add_argument("--out", type=Path, default=None, help="also write the tables to this Markdown file")
    args = ap.parse_args()
    lines: list[str] = []

    def print(*a):  # every table line also goes to --out
        text = " ".join(str(v) for v in a)
        lines.append(text)
        builtins.print(text, flush=True)

    torch.set_num_threads(args.threads)
    n = 200 if args.quick else args.n
    reps = 1 if args.quick else args.repeats
    x, y, source = data(2000)
    xs, ys = x[:n], y[:n]
    print(f"data: {source}; N = {n}; CPU time, {args.threads} thread(s), best of {reps}\n")
    print("## Goals\n")
    print(HEAD)
    goals = {"784-128-10": ((128,), 1.0), "784-512-512-10": ((512, 512), 5.0)}
    for name, (hidden, goal) in goals.items():
        net, init, final = trained(hidden, x, y, 3)
        r = measure(net, init, final, xs, ys, reps)
        print(row(f"{name}, {n}", r) + f" goal ≤ {goal:g}× {'met' if r['ratio'] <= goal else 'missed'}")
    if args.goals_only:
        _write(args.out, lines)
        return
    print(f"\n## Growth: width (one hidden layer), N = {n // 2}\n")
    print(HEAD)
    for w in (32, 64, 128, 256) if args.quick else (64, 128, 256, 512, 1024):
        net, init, final = trained((w,), x, y, 1)
        print(row(f"784-{w}-10, {n // 2}", measure(net, init, final, xs[: n // 2], ys[: n // 2], reps)))
    print(f"\n## Growth: depth (width 128), N = {n // 4}\n")
    print(HEAD)
    for depth in (1, 2, 3) if args.quick else (1, 2, 3, 4):
        net, init, final = trained((128,) * depth, x, y, 1)
        label = "784-" + "-".join(["128"] * depth) + "-10"
        print(row(f"{label}, {n // 4}", measure(net, init, final, xs[: n // 4], ys[: n // 4], reps)))
    print("\n## Growth: N (784-128-10)\n")
    print(HEAD)
    net, init, final = trained((128,), x, y, 3)
    for m in (n // 8, n // 4, n // 2, n):
        print(row(f"784-128-10, {m}", measure(net, init, final, x[:m], y[:m], reps)))
    _write(args.out, lines)


def _write(out: Path | None, lines: list[str]) -> None:
    if out is not None:
        out.write_text("# bench_exact: exact tools against the 50-point sampled curve\n\n" + "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
