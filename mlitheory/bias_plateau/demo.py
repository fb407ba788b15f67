"""``python -m mlitheory.bias_plateau``: the last-layer-bias plateau, shown on the toy model and on deep MLPs.

Part 1 trains the diagonal toy model (reference §4) for several degrees ``r`` and prints the learning order, the
final output biases and their gap, and the plateau end of the interpolated error curve: observed on the grid,
predicted by Proposition 1 ($w(0) \\to 0$) and its bounds, under the linear and the homogeneous bias scheme.
Part 2 trains deep ReLU MLPs with small initialisation on a balanced data set (reference §7.2) over a
depth × scale × seed grid and prints the last-layer bias gap and the error-plateau end under the three schemes
(mean ± half-range over seeds). Everything printed is read from the dictionary written to ``results.json``.

Every number of the run goes to ``OUT/results.json``; figures go to ``OUT/*.png`` and ``OUT/*.pdf``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from mlitheory.bias_plateau._io import DataUnavailable, balanced_subset, data_available, load_real_data, prepare_out
from mlitheory.bias_plateau.measures import plateau_end
from mlitheory.bias_plateau.mlp import balanced_gaussian_data, run_mlp_case
from mlitheory.bias_plateau.schemes import SCHEMES
from mlitheory.bias_plateau.theory import exact_error_plateau_length, plateau_constants
from mlitheory.bias_plateau.toy import (
    check_toy_learning,
    escape_times,
    toy_class_thresholds,
    toy_interpolation,
    toy_model,
    train_toy,
    train_toy_many,
)
from mlitheory.cli_args import arg_device, arg_int, arg_positive, one_line, writable_dir
from mlitheory.results import atomic_write_text, jsonable

__all__ = ["NAMED_DATA", "format_report", "load_real_data", "main", "prepare_out", "run_demo"]

#: data sets the command line loads by name through the optional data provider
NAMED_DATA = ("digits", "mnist", "fashion-mnist")

#: files the demo writes into its output folder
OUTPUT_FILES = ("results.json", "toy_dynamics", "toy_interpolation", "mlp_curves", "mlp_plateau")

_DEFAULTS = {
    "depths": (3, 5, 7),
    "scales": (1.0, 0.3, 0.15),
    "seeds": 2,
    "toy_r": (2, 3, 4),
    "toy_steps": 200_000,
    "width": 32,
    "n_per_class": 50,
    "lr": 0.05,
}
_QUICK = {
    "depths": (3, 7),
    "scales": (1.0, 0.3),
    "seeds": 1,
    "toy_r": (2, 4),
    "toy_steps": 20_000,
}


# ---------------------------------------------------------------------------------------------------------------------
# the run


def _stats(values: Sequence[float]) -> dict:
    """Mean and half-range of the finite values (``None`` for both when there is none)."""
    v = np.asarray(values, dtype=np.float64)
    f = v[np.isfinite(v)]
    if f.size == 0:
        return {"mean": None, "spread": None, "values": [None if not math.isfinite(x) else x for x in v.tolist()]}
    return {
        "mean": float(f.mean()),
        "spread": float((f.max() - f.min()) / 2),
        "values": [None if not math.isfinite(x) else x for x in v.tolist()],
    }


def _toy_part(rs, steps, eps, k, seed, progress) -> dict:
    grid = np.linspace(0.0, 1.0, 101)
    models = [toy_model(k, r, eps, seed=seed) for r in rs]
    lr = 0.05
    trajs = train_toy_many(models, method="gd", lr=lr, steps=steps, progress=progress)
    runs = []
    for m, tr in zip(models, trajs):
        chk = check_toy_learning(m, tr)
        flow = train_toy(m, method="flow", lr=lr, steps=steps)
        curves = {
            s: toy_interpolation(m.w0, tr.w_final, tr.b_final, m.r, grid, scheme=s) for s in ("linear", "homogeneous")
        }
        g_T = np.diag(tr.w_final**m.r)
        labels = np.arange(k)
        const = plateau_constants(g_T, tr.b_final, labels, m.r)
        runs.append(
            {
                "r": m.r,
                "learning_steps": tr.learning_steps.tolist(),
                "learning_order": tr.learning_order.tolist(),
                "t_star_steps": (escape_times(m.w0, m.r, k) / lr).tolist(),
                "first_relative_error": chk.first_relative_error,
                "order_holds": chk.order_holds,
                "biases_sorted": chk.biases_sorted,
                "last_is_argmax": chk.last_is_argmax,
                "b_final": tr.b_final.tolist(),
                "w_final_r": (tr.w_final**m.r).tolist(),
                "bias_gap": tr.bias_gap,
                "bias_mean_drift": tr.bias_mean_drift,
                "flow_learning_steps": flow.learning_steps.tolist(),
                "flow_b_final": flow.b_final.tolist(),
                "flow_bias_mean_drift": flow.bias_mean_drift,
                "plateau": {
                    "observed_linear": plateau_end(grid, curves["linear"].error, threshold=1 - 1 / k),
                    "observed_homogeneous": plateau_end(grid, curves["homogeneous"].error, threshold=1 - 1 / k),
                    "predicted": exact_error_plateau_length(g_T, tr.b_final, labels, m.r),
                    "class_thresholds": toy_class_thresholds(tr.w_final, tr.b_final, m.r).tolist(),
                    "alpha_lo": const.alpha_lo,
                    "alpha_hi": const.alpha_hi,
                },
                "curves": {s: {"loss": c.loss.tolist(), "error": c.error.tolist()} for s, c in curves.items()},
                "history": {"steps": (tr.times / lr).tolist(), "b": tr.b.tolist(), "w_r": (tr.w**m.r).tolist()},
            }
        )
    adam_model = models[-1]
    adam = train_toy(adam_model, method="adam", lr=0.01, steps=max(steps // 10, 2000))
    mom = train_toy(adam_model, method="momentum", lr=lr, steps=max(steps // 10, 2000))
    return {
        "k": k,
        "eps": eps,
        "u": models[0].u.tolist(),
        "lr": lr,
        "steps": steps,
        "alphas": grid.tolist(),
        "runs": runs,
        "optimisers": {
            "r": adam_model.r,
            "momentum": {"steps": mom.steps, "bias_mean_drift": mom.bias_mean_drift, "bias_gap": mom.bias_gap},
            "adam": {
                "steps": adam.steps,
                "lr": 0.01,
                "bias_mean_drift": adam.bias_mean_drift,
                "bias_gap": adam.bias_gap,
            },
        },
    }


def run_demo(
    *,
    depths: Sequence[int] = _DEFAULTS["depths"],
    scales: Sequence[float] = _DEFAULTS["scales"],
    seeds: int = _DEFAULTS["seeds"],
    seed: int = 0,
    toy_r: Sequence[int] = _DEFAULTS["toy_r"],
    toy_steps: int = _DEFAULTS["toy_steps"],
    width: int = _DEFAULTS["width"],
    n_per_class: int = _DEFAULTS["n_per_class"],
    lr: float = _DEFAULTS["lr"],
    momentum: float = 0.9,
    loss_tol: float = 1e-3,
    max_steps: int = 30_000,
    data: str | tuple[torch.Tensor, torch.Tensor] = "synthetic",
    device: str = "cpu",
    dtype: torch.dtype = torch.float32,
    progress: bool = True,
) -> dict:
    """Run both parts of the demo and return every number as a JSON-ready dictionary.

    Args:
        depths: MLP depths (number of linear layers, each ``>= 1``).
        scales: initialisation scales (each ``> 0``).
        seeds: number of seeds per cell (``seed, seed + 1, ...``).
        seed: base seed (data, toy ``u``, network weights).
        toy_r: degrees of the toy model.
        toy_steps: gradient steps of the toy model (step 0.05).
        width, n_per_class, lr, momentum, loss_tol, max_steps: MLP set-up
            ([`run_mlp_case`][mlitheory.bias_plateau.mlp.run_mlp_case]).
        data: ``"synthetic"`` (reference §7.2); a pair of tensors ``(x, y)`` (``n_per_class`` points of each
            class are drawn, flattened and standardised); or the name of a data set of the optional data provider
            (``"digits"``, ``"mnist"``, ``"fashion-mnist"``: `mlitheory.bias_plateau._io.data_provider`).
        device: torch device of the MLP runs.
        dtype: dtype of the MLP runs.
        progress: tqdm bars.
    """
    depths = [int(d) for d in depths]
    scales = [float(s) for s in scales]
    if not depths or any(d < 1 for d in depths):
        raise ValueError(f"every depth must be an integer >= 1, got {depths}")
    if not scales or any(not (math.isfinite(s) and s > 0) for s in scales):
        raise ValueError(f"every init scale must be > 0, got {scales}")
    if seeds < 1:
        raise ValueError(f"--seeds must be >= 1, got {seeds}")
    t0 = time.perf_counter()
    if isinstance(data, tuple):
        x, y = balanced_subset(*data, n_per_class, seed=seed, dtype=dtype, device=device)
        data = "tensors"
    elif data == "synthetic":
        x, y = balanced_gaussian_data(4, 20, n_per_class, seed=seed, dtype=dtype, device=device)
    elif data in NAMED_DATA:
        x, y = load_real_data(data, n_per_class, seed=seed, dtype=dtype, device=device)
    else:
        raise ValueError(f"unknown data {data!r}; choose synthetic, {', '.join(NAMED_DATA)}, or pass tensors (x, y)")
    t1 = time.perf_counter()
    toy = _toy_part(list(toy_r), toy_steps, 0.1, 4, seed, progress)
    t_toy = time.perf_counter() - t1
    k = int(y.max()) + 1
    cases = []
    configs = [(d, s, seed + i) for d in depths for s in scales for i in range(seeds)]
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(configs), desc="MLP runs", unit="run")
    for d, s, sd in configs:
        c = run_mlp_case(
            x, y, depth=d, init_scale=s, seed=sd, width=width, lr=lr, momentum=momentum, loss_tol=loss_tol,
            max_steps=max_steps, progress=progress,
        )  # fmt: skip
        cases.append(c)
        if bar is not None:
            bar.update(1)
            bar.set_postfix(L=d, scale=s, gap=f"{c.bias_gap:.2f}", plateau=f"{c.plateau_end['linear']:.2f}")
    if bar is not None:
        bar.close()
    table = []
    for d in depths:
        for s in scales:
            cs = [c for c in cases if c.depth == d and c.init_scale == s]
            table.append(
                {
                    "depth": d,
                    "init_scale": s,
                    "bias_gap": _stats([c.bias_gap for c in cs]),
                    "plateau_end": {sch: _stats([c.plateau_end[sch] for c in cs]) for sch in SCHEMES},
                    "plateau_error": _stats([c.plateau_error for c in cs]),
                    "plateau_loss": _stats([c.plateau_loss for c in cs]),
                    "steps": _stats([c.steps for c in cs]),
                    "converged": all(c.converged for c in cs),
                }
            )
    deep_small = [c for c in cases if c.depth >= 5 and c.init_scale < 1]
    agree = sum(int(np.argmax(c.class_learning_steps) == np.argmax(c.last_bias)) for c in deep_small)
    mlp = {
        "data": data,
        "last_learned_has_largest_bias": {"runs": len(deep_small), "agree": agree},
        "k": k,
        "n": int(y.shape[0]),
        "d": int(x.shape[1]),
        "width": width,
        "lr": lr,
        "momentum": momentum,
        "loss_tol": loss_tol,
        "max_steps": max_steps,
        "dtype": str(dtype).replace("torch.", ""),
        "threshold": cases[0].threshold,
        "log_k": math.log(k),
        "chance_error": 1 - 1 / k,
        "alphas": cases[0].alphas.tolist(),
        "table": table,
        "cases": [
            {
                "depth": c.depth,
                "init_scale": c.init_scale,
                "seed": c.seed,
                "steps": c.steps,
                "converged": c.converged,
                "final_loss": c.final_loss,
                "bias_gap": c.bias_gap,
                "last_bias": c.last_bias.tolist(),
                "bias_mean_drift": c.bias_mean_drift,
                "class_learning_steps": c.class_learning_steps.tolist(),
                "plateau_end": c.plateau_end,
                "plateau_error": None if math.isnan(c.plateau_error) else c.plateau_error,
                "plateau_loss": None if math.isnan(c.plateau_loss) else c.plateau_loss,
                "loss": {s: v.tolist() for s, v in c.loss.items()},
                "error": {s: v.tolist() for s, v in c.error.items()},
            }
            for c in cases
        ],
    }
    return {
        "settings": {
            "depths": depths,
            "scales": scales,
            "seeds": seeds,
            "seed": seed,
            "toy_r": list(toy_r),
            "toy_steps": toy_steps,
            "device": str(device),
        },
        "toy": toy,
        "mlp": mlp,
        "seconds": {"toy": t_toy, "total": time.perf_counter() - t0},
    }


# ---------------------------------------------------------------------------------------------------------------------
# report


def _num(v, fmt: str) -> str:
    return "—" if v is None else f"{v:{fmt}}"


def _pm(s: dict, fmt: str = ".2f") -> str:
    if s["mean"] is None:
        return "—"
    return f"{s['mean']:{fmt}} ± {s['spread']:{fmt}}"


def _table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
    line = lambda cells: "| " + " | ".join(c.rjust(w) for c, w in zip(cells, widths)) + " |"
    return "\n".join([line(head), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *[line(r) for r in rows]])


def format_report(res: dict) -> str:
    """The tables printed by the demo, built only from ``res`` (the dictionary saved as ``results.json``)."""
    toy = res["toy"]
    k = toy["k"]
    out = [
        f"== Toy model (k = {k}, eps = {toy['eps']}, u = ({', '.join(f'{v:.3f}' for v in toy['u'])}), "
        f"GD step {toy['lr']}, {toy['steps']} steps)",
        "",
    ]
    rows = []
    for run in toy["runs"]:
        p = run["plateau"]
        rows.append(
            [
                str(run["r"]),
                ", ".join(f"{s:.0f}" for s in run["learning_steps"]),
                f"{run['t_star_steps'][run['learning_order'][0]]:.0f}",
                ", ".join(f"{b:+.2f}" for b in run["b_final"]),
                f"{run['bias_gap']:.2f}",
                f"{run['bias_mean_drift']:.1e}",
                f"{p['observed_linear']:.2f}",
                f"{p['predicted']:.3f}",
                f"[{_num(p['alpha_lo'], '.3f')}, {_num(p['alpha_hi'], '.3f')}]",
                f"{p['observed_homogeneous']:.2f}",
            ]
        )
    out.append(
        _table(
            [
                "r",
                "learning steps (class 0..)",
                "t*_1",
                "final b_T",
                "gap",
                "mean-b drift",
                "plateau: linear",
                "predicted",
                "[a_lo, a_hi]",
                "homog.",
            ],
            rows,
        )
    )
    opt = toy["optimisers"]
    out += [
        "",
        f"Mean output bias, r = {opt['r']}: drift {opt['momentum']['bias_mean_drift']:.1e} under momentum "
        f"({opt['momentum']['steps']} steps), {opt['adam']['bias_mean_drift']:.1e} under Adam "
        f"({opt['adam']['steps']} steps; gap {opt['adam']['bias_gap']:.2f}): Adam breaks the conservation law.",
        "Plateau = largest alpha with error >= 1 - 1/k on every grid point of (0, alpha] (101-point grid); "
        "predicted = exact end under w(0) -> 0 (Proposition 1 bounds it by [a_lo, a_hi]).",
        "",
    ]
    mlp = res["mlp"]
    out.append(
        f"== Deep ReLU MLPs on {mlp['data']} data (k = {mlp['k']}, n = {mlp['n']}, d = {mlp['d']}, width "
        f"{mlp['width']}, lr {mlp['lr']}, momentum {mlp['momentum']}, until CE < {mlp['loss_tol']:g}); "
        f"mean ± half-range over {res['settings']['seeds']} seed(s)"
    )
    out.append("")
    rows = []
    for row in mlp["table"]:
        rows.append(
            [
                str(row["depth"]),
                f"{row['init_scale']:g}",
                _pm(row["bias_gap"]),
                *(_pm(row["plateau_end"][s]) for s in SCHEMES),
                _pm(row["plateau_error"]),
                _pm(row["plateau_loss"]),
                f"{row['steps']['mean']:.0f}",
            ]
        )
    out.append(
        _table(
            [
                "depth",
                "init scale",
                "bias gap",
                "plateau: linear",
                "homogeneous",
                "eq-last",
                "error on plateau",
                "loss on plateau",
                "steps",
            ],
            rows,
        )
    )
    ll = mlp["last_learned_has_largest_bias"]
    if ll["runs"]:
        out += [
            "",
            f"Depth >= 5, init scale < 1: the last-learned class (per-class accuracy > 0.9) has the largest output "
            f"bias in {ll['agree']} of {ll['runs']} runs (chance 1/k = {1 / mlp['k']:.2f}).",
        ]
    out += [
        "",
        f"Plateau end = largest alpha with training error >= {mlp['threshold']:.2f} on every grid point of (0, alpha]; "
        f"chance error 1 - 1/k = {mlp['chance_error']:.2f}, log k = {mlp['log_k']:.3f}. Error and loss on plateau: "
        "mean of the linear-scheme curve over the grid points of its plateau (— when empty).",
    ]
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------------------------------
# command line


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m mlitheory.bias_plateau",
        description=(
            "The last-layer-bias plateau of monotonic linear interpolation (Wang et al., ICLR 2023). Part 1: the "
            "diagonal toy model learns classes one at a time and ends with different output biases on balanced "
            "data; the interpolated error curve has a plateau at 1 - 1/k that Proposition 1 predicts and the "
            "homogeneous bias scheme removes. Part 2: deep ReLU MLPs with small initialisation on balanced data: "
            "last-layer bias gap and error-plateau length under the linear, homogeneous and eq-last schemes, over "
            "a depth x init-scale x seed grid. Prints tables; writes figures (PNG + PDF) and results.json to --out."
        ),
    )
    p.add_argument("--depth", type=arg_int(1), nargs="+", default=None, help="MLP depths (default 3 5 7)")
    p.add_argument("--init-scale", type=arg_positive, nargs="+", default=None, help="init scales (default 1 0.3 0.15)")
    p.add_argument("--seeds", type=arg_int(1), default=None, help="seeds per cell (default 2)")
    p.add_argument("--seed", type=arg_int(0), default=0, help="base seed (default 0)")
    p.add_argument(
        "--out", type=Path, default=Path("out/bias_plateau"), help="output folder (default out/bias_plateau)"
    )
    p.add_argument("--force", action="store_true", help="write into --out even if it holds other files")
    p.add_argument("--device", type=arg_device, default="cpu", help="torch device of the MLP runs (default cpu)")
    p.add_argument("--quick", action="store_true", help="a small grid and a short toy run (seconds)")
    p.add_argument(
        "--data",
        choices=("synthetic", *NAMED_DATA),
        default="synthetic",
        help="MLP data (default synthetic)",
    )
    p.add_argument(
        "--width", type=arg_int(1), default=_DEFAULTS["width"], help="MLP width (default 32; reference §7.2: 64)"
    )
    p.add_argument(
        "--n-per-class",
        type=arg_int(1),
        default=_DEFAULTS["n_per_class"],
        help="points per class (default 50; reference: 100)",
    )
    p.add_argument(
        "--lr", type=arg_positive, default=_DEFAULTS["lr"], help="MLP step size (default 0.05; reference: 0.01)"
    )
    p.add_argument("--max-steps", type=arg_int(1), default=30_000, help="cap on MLP training steps (default 30000)")
    p.add_argument(
        "--toy-steps", type=arg_int(1), default=None, help="toy-model GD steps (default 200000; quick 20000)"
    )
    p.add_argument("--float64", action="store_true", help="train the MLPs in float64 (default float32)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument(
        "--threads",
        type=arg_int(1),
        default=1,
        help="torch CPU threads (default 1: the networks are small, threads only add overhead)",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    preset = {**_DEFAULTS, **(_QUICK if args.quick else {})}
    depths = args.depth if args.depth is not None else preset["depths"]
    scales = args.init_scale if args.init_scale is not None else preset["scales"]
    seeds = args.seeds if args.seeds is not None else preset["seeds"]
    toy_steps = args.toy_steps if args.toy_steps is not None else preset["toy_steps"]
    problems = []
    if any(d < 1 for d in depths):
        problems.append(f"--depth values must be >= 1 (number of linear layers), got {depths}")
    if any(not (math.isfinite(s) and s > 0) for s in scales):
        problems.append(f"--init-scale values must be > 0, got {scales}")
    if seeds < 1:
        problems.append(f"--seeds must be >= 1, got {seeds}")
    if toy_steps < 1:
        problems.append(f"--toy-steps must be >= 1, got {toy_steps}")
    if problems:
        print("error: " + "; ".join(problems), file=sys.stderr)
        return 2
    if args.threads < 1:
        problems.append(f"--threads must be >= 1, got {args.threads}")
    if problems:
        print("error: " + "; ".join(problems), file=sys.stderr)
        return 2
    torch.set_num_threads(args.threads)
    if args.data != "synthetic":  # the data set must be loadable before any training starts
        try:
            ok, why = data_available(args.data)
        except DataUnavailable as e:
            ok, why = False, str(e)
        if not ok:
            print(f"error: --data {args.data}: {one_line(RuntimeError(why))}", file=sys.stderr)
            return 2
    try:
        writable_dir(args.out, "--out")
        out, note = prepare_out(args.out, force=args.force)
    except (ValueError, OSError) as e:
        print(f"error: {one_line(e)}", file=sys.stderr)
        return 2
    print(note, file=sys.stderr)
    try:
        res = run_demo(
            depths=depths,
            scales=scales,
            seeds=seeds,
            seed=args.seed,
            toy_r=preset["toy_r"],
            toy_steps=toy_steps,
            width=args.width,
            n_per_class=args.n_per_class,
            lr=args.lr,
            max_steps=args.max_steps,
            data=args.data,
            device=args.device,
            dtype=torch.float64 if args.float64 else torch.float32,
            progress=not args.no_progress,
        )
    except DataUnavailable as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    res = jsonable(res, nonfinite="null")  # strict JSON: a non-finite number is null
    res["settings"]["quick"] = bool(args.quick)
    res["settings"]["out"] = str(out)
    report = format_report(res)
    print(report)
    atomic_write_text(out / "results.json", json.dumps(res, indent=1, allow_nan=False))
    from mlitheory.bias_plateau._figures import save_figures

    files = save_figures(res, out)
    print(f"\nwrote {out / 'results.json'} and {len(files)} figure files in {out} ({res['seconds']['total']:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
