"""Speed of a 21 x 21 loss plane along two directions, as ratios to plain forward passes (one run, one table).

MLP 784-512-512-10 (ReLU, float32), ``--n`` inputs in one batch, two filter-normalised random directions
(:func:`mlitheory.random_direction`) around a fixed state. Every method evaluates 441 points; the ratios are to
the floor of 441 plain forward passes of a fixed model, timed side by side (interleaved, best of ``--repeats``):

  * a hand-written loop: build θ_c + a·d1 + b·d2 for every key and call ``functional_call``;
  * ``mlitheory.loss_plane(..., directions=...)`` without first-layer reuse (goal <= 1.05x);
  * ``mlitheory.loss_plane`` with first-layer reuse: W(a, b)x = W_c x + a D1 x + b D2 x, the three products
    computed once per batch (goal <= 0.6x);
  * ``loss_landscapes.random_plane`` 3.0.6 (optional, ``pip install loss-landscapes==3.0.6``, the ``bench``
    extra), made to use the same two directions (its direction generators replaced, ``normalization=None``;
    it rescales them itself) and evaluated on a deep copy of the model.

Agreement: the largest loss difference of each mlitheory method to the hand-written loop, and of
loss-landscapes to ``loss_plane`` evaluated at the very coordinates loss-landscapes visits. Those coordinates
are printed: with ``steps=21`` it walks the grid in place in a boustrophedon and visits the first direction at
offsets -10.5 .. 9.5 steps and the second at -9.5 .. 10.5 on even columns but -10.5 .. 9.5 on odd ones, so the
centre itself is never evaluated.

Timings are process CPU time on one thread (steady on a shared machine), else wall time (``--wall``, GPUs,
several threads).

    python benchmarks/bench_plane.py [--n 1000] [--repeats 3] [--threads 1] [--device cpu]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from mlitheory import loss_plane, random_direction

STEPS = 21
CLOCK = time.process_time


def mlp(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))


def interleaved(methods: dict, repeats: int) -> dict[str, tuple[float, object]]:
    res = {k: (float("inf"), None) for k in methods}
    for _ in range(repeats):
        for name, fn in methods.items():
            t = CLOCK()
            out = fn()
            dt = CLOCK() - t
            if dt < res[name][0]:
                res[name] = (dt, out)
    return res


def loss_landscapes_methods(model, centre, d1, d2, x, y):
    """``random_plane`` of loss-landscapes 3.0.6 on our directions, and the coordinates it visits; or None."""
    try:
        import loss_landscapes
        import loss_landscapes.main as llm
        from loss_landscapes.metrics import Loss
        from loss_landscapes.model_interface.model_parameters import ModelParameters
    except ImportError:
        return None
    version = getattr(loss_landscapes, "__version__", "3.0.6")
    keys = [k for k, _ in model.named_parameters()]
    metric = Loss(F.cross_entropy, x, y)

    def run():
        saved = llm.rand_u_like, llm.orthogonal_to
        llm.rand_u_like = lambda example: ModelParameters([d1[k].clone() for k in keys])
        llm.orthogonal_to = lambda vector: ModelParameters([d2[k].clone() for k in keys])
        try:
            with torch.no_grad():
                return llm.random_plane(model, metric, distance=1, steps=STEPS, normalization=None, deepcopy_model=True)
        finally:
            llm.rand_u_like, llm.orthogonal_to = saved

    # its scaling: each direction gets norm ||θ|| / (distance · steps); offsets in those steps (see the docstring)
    norm = lambda s: float(torch.sqrt(sum((s[k].double() ** 2).sum() for k in keys)))
    step = norm(centre) / STEPS
    k1, k2 = step / norm(d1), step / norm(d2)
    half = STEPS / 2
    col = np.arange(STEPS) - half  # first direction, column i
    even = np.arange(1, STEPS + 1) - half  # second direction on even columns
    odd = np.arange(STEPS) - half  # and on odd columns
    return version, run, (k1 * col, k2 * even, k2 * odd), (col, even, odd)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1000, help="inputs (one batch)")
    ap.add_argument("--repeats", type=int, default=3, help="interleaved repetitions; the best time counts")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1 gives the steadiest ratios)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--wall", action="store_true", help="wall-clock time instead of process CPU time")
    args = ap.parse_args()
    global CLOCK
    if args.wall or args.device != "cpu" or args.threads != 1:
        CLOCK = time.perf_counter
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    model = mlp(0).to(device)
    centre = {k: v.detach().clone() for k, v in model.state_dict().items()}
    g = torch.Generator().manual_seed(0)
    d1, d2 = random_direction(centre, seed=g), random_direction(centre, seed=g)
    gx = torch.Generator().manual_seed(1)
    x = torch.rand(args.n, 784, generator=gx).to(device)
    y = torch.randint(0, 10, (args.n,), generator=gx).to(device)
    axis = np.linspace(-1.0, 1.0, STEPS)
    axis[STEPS // 2] = 0.0
    points = [(float(a), float(b)) for b in axis for a in axis]

    def floor():
        with torch.no_grad():
            return [float(F.cross_entropy(model(x), y)) for _ in points]

    def loop():
        with torch.no_grad():
            out = []
            for a, b in points:
                st = {k: c + a * d1[k] + b * d2[k] for k, c in centre.items()}
                out.append(float(F.cross_entropy(torch.func.functional_call(model, st, (x,)), y)))
            return np.array(out).reshape(STEPS, STEPS)

    def ours(reuse: bool):
        return lambda: loss_plane(
            model, centre, (x, y), directions=(d1, d2), u=axis, v=axis, metrics=("loss",), reuse_first_layer=reuse,
            progress=False,
        ).loss  # fmt: skip

    methods = {
        "floor: 441 plain forward passes": floor,
        "functional_call loop (hand-written)": loop,
        "loss_plane, no first-layer reuse": ours(False),
        "loss_plane (first-layer reuse)": ours(True),
    }
    ll = loss_landscapes_methods(model, centre, d1, d2, x, y)
    ll_name = ""
    if ll is None:
        print("(loss-landscapes not installed: pip install loss-landscapes==3.0.6 for its row)")
    else:
        ll_name = f"loss_landscapes.random_plane {ll[0]}"
        methods[ll_name] = ll[1]
    clock = "process CPU time" if CLOCK is time.process_time else "wall time"
    print(f"torch {torch.__version__}, {args.threads} thread(s), device {device}, best of {args.repeats}, {clock}")
    print(f"MLP 784-512-512-10 (ReLU), float32, {args.n} inputs, {STEPS} x {STEPS} grid on [-1, 1]^2\n")
    res = interleaved(methods, args.repeats)
    base = res["floor: 441 plain forward passes"][0]
    ref = res["functional_call loop (hand-written)"][1]
    targets = {"loss_plane, no first-layer reuse": "<= 1.05", "loss_plane (first-layer reuse)": "<= 0.60"}
    w = max(len(k) for k in res)
    print(f"  {'method':<{w}}  {'seconds':>8}  ratio to floor / goal")
    for name, (t, out) in res.items():
        note = targets.get(name, "")
        if name.startswith("loss_plane"):
            note += f"  (max |dL| vs loop {np.max(np.abs(out - ref)):.1e})"
        print(f"  {name:<{w}}  {t:8.3f}  {t / base:6.3f}x  {note}")
    if ll is not None:
        cols, even, odd = ll[2]
        vs = np.union1d(even, odd)
        ours_there = loss_plane(
            model, centre, (x, y), directions=(d1, d2), u=cols, v=vs, metrics=("loss",), progress=False
        ).loss  # (v, u)
        theirs = np.asarray(res[ll_name][1])  # (column i along d1, row j along d2)
        worst = 0.0
        for i in range(STEPS):
            rows = np.searchsorted(vs, even if i % 2 == 0 else odd)
            worst = max(worst, float(np.max(np.abs(theirs[i] - ours_there[rows, i]))))
        c, e, o = ll[3]
        print(
            f"\nloss-landscapes visits the first direction at {c[0]:+.1f} .. {c[-1]:+.1f} steps, the second at"
            f" {e[0]:+.1f} .. {e[-1]:+.1f} (even columns) and {o[0]:+.1f} .. {o[-1]:+.1f} (odd columns): not the centre"
        )
        print(f"max |dL| of loss-landscapes vs loss_plane at those coordinates: {worst:.1e} (in-place drift, float32)")


if __name__ == "__main__":
    main()
