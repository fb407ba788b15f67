"""Speed of interpolation and of logit-path derivatives, as ratios to plain forward passes (one run, one table).

Part 1, loss along the path (MLP 784-512-512-10, float32, 50 alphas), as a ratio to the floor of 50 plain
forward passes of a fixed model:
  * a hand-written ``functional_call`` loop (the textbook functional way);
  * ``mlitheory.interpolate`` without and with first-layer reuse;
  * ``loss_landscapes.linear_interpolation`` 3.0.6 (optional, ``pip install loss-landscapes==3.0.6``);
  * ``vmap`` over α in chunks of 10 (kept for the record: slower than the loop on a CPU).

Part 2, z' and z'' of the logit path at one alpha (tanh MLP 784-512-512-10), as a ratio to one forward pass:
  * nested ``torch.func.jvp`` through ``functional_call``;
  * the double-backward "R-op" (reverse mode twice per derivative, as in the 2021 authors' code; written here
    only for comparison);
  * Taylor mode (``mlitheory.taylor``), cold (first alpha: the first layer's endpoint outputs are computed) and
    warm (per further alpha, as inside the Gauss-length quadrature).
  Agreement of the three is checked in float64 on a small batch (must be within 1e-12 relative).

Default: 2 000 inputs for both parts (about 1-2 minutes on one thread). ``--full``: 10 000 inputs for part 1
and 2 000 for part 2, the sizes of the issue. Timings are the best of ``--repeats`` interleaved runs, in process
CPU time on one CPU thread (steady on a shared machine), else wall time (``--wall``, GPUs, several threads).

    python benchmarks/bench_interpolate.py [--full] [--repeats 3] [--threads 1] [--device cpu]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from mlitheory import interpolate
from mlitheory.paths import linear_path
from mlitheory.taylor import TaylorForward, nested_jvp_outputs


def mlp(act: type[nn.Module], seed: int, dtype=torch.float32) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(784, 512), act(), nn.Linear(512, 512), act(), nn.Linear(512, 10)).to(dtype)


CLOCK = time.process_time  # CPU time of this process: steadier than wall time on a shared machine


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


def rop_derivatives(model: nn.Module, start: dict, end: dict, x: torch.Tensor, alpha: float):
    """z, z', z'' by the double-backward R-op: each forward derivative from two reverse passes."""
    a = torch.tensor(alpha, dtype=x.dtype, requires_grad=True)
    state = {k: start[k] + a * (end[k] - start[k]) for k in start}
    z = torch.func.functional_call(model, state, (x,))

    def rop(y: torch.Tensor) -> torch.Tensor:  # dy/dα via u ↦ ⟨u, dy/dα⟩, differentiated in u
        u = torch.zeros_like(y, requires_grad=True)
        (g,) = torch.autograd.grad(y, a, grad_outputs=u, create_graph=True)
        (jv,) = torch.autograd.grad(g, u, create_graph=True)
        return jv

    dz = rop(z)
    d2z = rop(dz)
    return z.detach(), dz.detach(), d2z.detach()


def part1(n: int, repeats: int, device: torch.device) -> list[tuple[str, float, str]]:
    m0, m1 = mlp(nn.ReLU, 0).to(device), mlp(nn.ReLU, 1).to(device)
    model = mlp(nn.ReLU, 2).to(device)
    g = torch.Generator().manual_seed(0)
    x = torch.rand(n, 784, generator=g).to(device)
    y = torch.randint(0, 10, (n,), generator=g).to(device)
    s0, s1 = m0.state_dict(), m1.state_dict()
    alphas = np.linspace(0.0, 1.0, 50)

    def floor():
        with torch.no_grad():
            return [float(F.cross_entropy(m1(x), y)) for _ in alphas]

    def loop():
        with torch.no_grad():
            out = []
            for a in alphas:
                st = {k: torch.lerp(s0[k], s1[k], float(a)) for k in s0}
                out.append(float(F.cross_entropy(torch.func.functional_call(model, st, (x,)), y)))
            return out

    def vmap10():
        keys = list(s0)

        def one(a):
            st = {k: s0[k] + a * (s1[k] - s0[k]) for k in keys}
            return F.cross_entropy(torch.func.functional_call(model, st, (x,)), y)

        with torch.no_grad():
            t = torch.tensor(alphas, dtype=torch.float32, device=device)
            return torch.func.vmap(one, chunk_size=10)(t).tolist()

    def ours(reuse: bool):
        return lambda: interpolate(
            model, s0, s1, (x, y), alphas=alphas, metrics=("loss",), progress=False, reuse_first_layer=reuse
        ).loss.tolist()

    methods = {
        "floor: 50 plain forward passes": floor,
        "functional_call loop (hand-written)": loop,
        "interpolate, no first-layer reuse": ours(False),
        "interpolate (first-layer reuse)": ours(True),
        "vmap over alpha, chunk 10": vmap10,
    }
    try:
        import copy

        from loss_landscapes import linear_interpolation
        from loss_landscapes.metrics import Loss

        metric = Loss(F.cross_entropy, x, y)

        def ll():
            with torch.no_grad():
                return list(linear_interpolation(copy.deepcopy(m0), m1, metric, steps=50, deepcopy_model=True))

        methods["loss_landscapes.linear_interpolation 3.0.6"] = ll
    except ImportError:
        print("(loss-landscapes not installed: pip install loss-landscapes==3.0.6 for its row)")
    res = interleaved(methods, repeats)
    base = res["floor: 50 plain forward passes"][0]
    ref = np.array(res["functional_call loop (hand-written)"][1])
    rows = []
    targets = {
        "interpolate, no first-layer reuse": "<= 1.05",
        "interpolate (first-layer reuse)": "<= 0.55",
    }
    for name, (t, out) in res.items():
        note = targets.get(name, "")
        if name.startswith("interpolate"):
            note += f"  (max |dL| vs loop {np.max(np.abs(np.array(out) - ref)):.1e})"
        rows.append((name, t, f"{t / base:6.3f}x  {note}"))
    return rows


def part2(n: int, repeats: int, device: torch.device) -> list[tuple[str, float, str]]:
    m0, m1 = mlp(nn.Tanh, 0).to(device), mlp(nn.Tanh, 1).to(device)
    g = torch.Generator().manual_seed(1)
    x = torch.rand(n, 784, generator=g).to(device)
    s0, s1 = m0.state_dict(), m1.state_dict()
    path = linear_path(s0, s1)
    alpha = 0.37

    def fwd():
        with torch.no_grad():
            return m0(x)

    def jvp():
        return nested_jvp_outputs(m0, path, x, alpha)

    def rop():
        return rop_derivatives(m0, s0, s1, x, alpha)

    def taylor_cold():
        tf = TaylorForward(m0, path)
        return tf(x, alpha).dense()

    tf_warm = TaylorForward(m0, path)
    tf_warm(x, 0.5)

    def taylor_warm():
        return tf_warm(x, alpha).dense()

    res = interleaved(
        {
            "forward pass (fixed model)": fwd,
            "nested torch.func.jvp": jvp,
            "double-backward R-op": rop,
            "Taylor mode, first alpha (cold)": taylor_cold,
            "Taylor mode, per further alpha (warm)": taylor_warm,
        },
        repeats,
    )
    base = res["forward pass (fixed model)"][0]
    rows = []
    for name, (t, _) in res.items():
        note = {"Taylor mode, per further alpha (warm)": "<= 4", "Taylor mode, first alpha (cold)": ""}.get(name, "")
        rows.append((name, t, f"{t / base:6.3f}x  {note}"))
    rop_t = res["double-backward R-op"][0]
    warm_t = res["Taylor mode, per further alpha (warm)"][0]
    rows.append(("R-op / Taylor (warm): speed-up", 0.0, f"{rop_t / warm_t:6.2f}x  >= 2"))
    return rows


def agreement() -> str:
    """Relative disagreement of the three methods in float64 on a small tanh MLP."""
    m0, m1 = mlp(nn.Tanh, 0, torch.float64), mlp(nn.Tanh, 1, torch.float64)
    x = torch.rand(64, 784, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    s0, s1 = m0.state_dict(), m1.state_dict()
    path = linear_path(s0, s1)
    a = nested_jvp_outputs(m0, path, x, 0.37)
    b = rop_derivatives(m0, s0, s1, x, 0.37)
    c = TaylorForward(m0, path)(x, 0.37).dense()
    worst = 0.0
    for u, v, w in zip(a, b, c):
        scale = float(u.abs().max())
        worst = max(worst, float((u - v).abs().max()) / scale, float((u - w).abs().max()) / scale)
    return f"float64 agreement of nested jvp, R-op and Taylor mode (max relative difference): {worst:.2e}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--full", action="store_true", help="10 000 inputs in part 1 (the issue's size)")
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
    n1 = 10_000 if args.full else 2_000
    clock = "process CPU time" if CLOCK is time.process_time else "wall time"
    print(f"torch {torch.__version__}, {args.threads} thread(s), device {device}, best of {args.repeats}, {clock}\n")
    print(f"Part 1: loss along the path, MLP 784-512-512-10 (ReLU), float32, {n1} inputs, 50 alphas")
    rows = part1(n1, args.repeats, device)
    w = max(len(r[0]) for r in rows)
    print(f"  {'method':<{w}}  {'seconds':>8}  ratio to floor / target")
    for name, t, note in rows:
        print(f"  {name:<{w}}  {t:8.3f}  {note}")
    print("\nPart 2: z' and z'' of the logit path at one alpha, tanh MLP 784-512-512-10, float32, 2000 inputs")
    rows = part2(2_000, args.repeats, device)
    w = max(len(r[0]) for r in rows)
    print(f"  {'method':<{w}}  {'seconds':>8}  ratio to one forward / target")
    for name, t, note in rows:
        print(f"  {name:<{w}}  {t:8.3f}  {note}" if t else f"  {name:<{w}}  {'':>8}  {note}")
    print("\n" + agreement())


if __name__ == "__main__":
    main()
