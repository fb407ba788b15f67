"""``python -m empirical landscape RUN_DIR``: the loss landscape around a finished run, from its checkpoints.

Reads a run folder written by [`empirical.runs.execute_run`][empirical.runs.execute_run] (``config.json`` and
``checkpoints/*.pt``) and evaluates the training loss on a plane through the final state:

* ``--directions pca`` (default): the two principal directions of the trajectory
  $\\{\\theta_t - \\theta_{\\text{final}}\\}$ over the checkpoints before the final one (Li et al. 2018, §7;
  [`mlitheory.trajectory_directions`][mlitheory.directions.trajectory_directions]), on the trajectory's bounding box
  widened by ``--margin``;
* ``--directions random``: two filter-normalised Gaussian directions (Li et al. 2018, §4;
  [`mlitheory.random_direction`][mlitheory.directions.random_direction], seeded by ``--seed``) on $[-s, s]^2$
  (``--span``).

The checkpoints are projected onto the plane. Written into ``--out`` (default ``RUN_DIR/landscape``):
``landscape_<kind>.json/.npz`` (the [`PlaneSurface`][mlitheory.plane.PlaneSurface]), ``trajectory_pca.json/.npz`` (the
[`TrajectoryDirections`][mlitheory.directions.TrajectoryDirections]), and the figures ``landscape_<kind>_contour``
(trajectory and straight init → final path overlaid) and ``landscape_<kind>_surface`` as PNG and PDF (into ``--figures``
when given). Earlier outputs of the command are replaced. The loss is the run's own (cross-entropy, or squared error for
autoencoders) on ``--n-data`` training examples (the run's measurement subset when equal to its ``n_measure``);
batch-norm statistics follow the run's ``bn`` policy unless ``--bn`` is given.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

__all__ = ["add_parser", "checkpoint_names", "main"]

_BATCH = 256


class _Refused(Exception):
    """An input the command cannot work with: printed as one ``error:`` line, exit status 2."""


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Add the ``landscape`` sub-command to an ``argparse`` sub-parsers object."""
    p = sub.add_parser(
        "landscape",
        help="loss landscape around a finished run: PCA or random plane, figures",
        description=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("run", type=Path, help="run folder (holds config.json and checkpoints/)")
    p.add_argument("--out", type=Path, default=None, help="output folder (default RUN_DIR/landscape)")
    p.add_argument("--figures", type=Path, default=None, help="folder for the figures (default: --out)")
    p.add_argument("--directions", choices=["pca", "random"], default="pca")
    p.add_argument("--grid", type=int, default=21, help="points per axis (default 21)")
    p.add_argument("--margin", type=float, default=0.25, help="PCA: widening of the trajectory's box (fraction)")
    p.add_argument("--span", type=float, default=1.0, help="random: coordinates in [-span, span] (default 1)")
    p.add_argument("--normalize", choices=["filter", "layer", "none"], default="filter", help="random directions")
    p.add_argument("--biases", choices=["zero", "keep"], default="zero", help="random directions: 1-D parameters")
    p.add_argument("--seed", type=int, default=0, help="seed of the random directions (default 0)")
    p.add_argument("--n-data", type=int, default=1000, help="training examples for the loss (default 1000)")
    p.add_argument("--bn", choices=["recompute", "interpolate", "batch", "none"], default=None)
    p.add_argument("--log", action="store_true", help="contour levels of log10 loss")
    p.add_argument("--clip", type=float, default=None, help="cap the loss at this value in the figures")
    p.add_argument("--format", action="append", choices=["png", "pdf", "svg"], default=None, help="repeatable")
    p.add_argument("--quick", action="store_true", help="grid 7 and 256 examples unless given")
    p.add_argument("--device", default=None, help="cpu (default), cuda, mps")
    p.add_argument("--threads", type=int, default=None, help="torch threads")
    p.add_argument("--no-progress", action="store_true")
    return p


def checkpoint_names(folder: Path, metrics: dict | None) -> list[str]:
    """Names of the run's checkpoints in the order training wrote them (``init`` first, ``final`` last).

    The order comes from ``metrics.json`` when the run finished; otherwise: ``init``, the ``epoch_*`` files,
    the ``step_*`` files (each by number), ``final``.
    """
    have = {p.stem for p in (folder / "checkpoints").glob("*.pt")}
    listed = list(((metrics or {}).get("train") or {}).get("checkpoints") or {})
    names = [n for n in listed if n in have]
    rest = sorted(have - set(names), key=lambda n: (n != "init", n == "final", n.split("_")[0], n))
    return names + [n for n in rest if n not in names]


def _load(args: argparse.Namespace):
    from empirical.runs import CorruptRun, load_run

    folder: Path = args.run
    if not (folder / "config.json").is_file():
        raise _Refused(f"{folder} is not a run folder (no config.json); pass a folder written by `train` or `sweep`")
    names = checkpoint_names(folder, None)
    if not names:
        raise _Refused(f"{folder} has no checkpoints (no checkpoints/*.pt); the run did not get far enough, rerun it")
    if "final" not in names:
        raise _Refused(f"{folder} has no checkpoints/final.pt (training did not finish); finish the run first")
    try:
        rec = load_run(folder)
    except CorruptRun as e:
        raise _Refused(f"{e}; the run folder is damaged: rerun it (a sweep quarantines and redoes it)") from None
    return rec, checkpoint_names(folder, rec.metrics)


def _data(rec: Any, n: int, device: torch.device):
    from empirical.data import load_dataset
    from empirical.models import model_task

    c = rec.config
    ds = load_dataset(c.dataset, n_train=c.n_train, n_test=c.n_test, seed=c.data_seed, normalize=c.normalize,
                      **c.data_options)  # fmt: skip
    x, y = ds.x_train, ds.y_train
    if n < len(x):
        idx = torch.randperm(len(x), generator=torch.Generator().manual_seed(c.data_seed + 1))[:n].sort().values
        x, y = x[idx], y[idx]
    reconstruction = model_task(c.model) == "reconstruction"
    t = x.flatten(1) if reconstruction else y
    x, t = x.to(device), t.to(device)
    return [(x[i : i + _BATCH], t[i : i + _BATCH]) for i in range(0, len(x), _BATCH)], reconstruction


def _run(args: argparse.Namespace) -> int:
    import mlitheory as mli
    from empirical.train import loss_function

    if args.grid < 2:
        raise _Refused(f"--grid {args.grid}: use at least 2 points per axis")
    if args.n_data < 1:
        raise _Refused(f"--n-data {args.n_data}: use at least 1 example")
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device or "cpu")
    rec, names = _load(args)
    if args.out is not None and args.out.exists() and not args.out.is_dir():  # checked before the work, not after
        raise _Refused(f"--out {args.out} is a file, not a folder; pass the path of a folder (created if missing)")
    before = [n for n in names if n != "final"]
    if args.directions == "pca" and len(before) < 2:
        raise _Refused(
            f"{args.run} holds {len(before)} checkpoint(s) besides final.pt ({', '.join(before) or 'none'}); the PCA "
            "plane needs at least 2: train with checkpoint_epochs (e.g. --set 'checkpoint_epochs=[1,2,3]'), "
            "or use --directions random"
        )
    t0 = time.perf_counter()
    states = {n: {k: v.to(device) for k, v in rec.checkpoint(n).items()} for n in names}
    final = states["final"]
    model = rec.build_model().to(device)
    data, reconstruction = _data(rec, args.n_data, device)
    loss = loss_function("sse" if reconstruction else "cross_entropy")
    metrics = ("loss",) if reconstruction else ("loss", "accuracy")
    bn = args.bn or rec.config.bn
    traj = None
    if args.directions == "pca":
        traj = mli.trajectory_directions({n: states[n] for n in before}, final, k=2, model=model)
        directions: Any = traj
        grid: dict = {"grid": args.grid, "margin": args.margin}
        ratio = traj.explained_variance_ratio
        xlabel, ylabel = f"PC 1 ({100 * ratio[0]:.1f} % of variance)", f"PC 2 ({100 * ratio[1]:.1f} %)"
    else:
        g = torch.Generator().manual_seed(args.seed)
        kw = dict(normalize=args.normalize, biases=args.biases)
        directions = (mli.random_direction(final, seed=g, **kw), mli.random_direction(final, seed=g, **kw))
        axis = np.linspace(-args.span, args.span, args.grid)
        axis[args.grid // 2] = 0.0 if args.grid % 2 else axis[args.grid // 2]  # the final state on the grid
        grid = {"u": axis, "v": axis}
        xlabel, ylabel = f"direction 1 ({args.normalize}-normalised)", f"direction 2 ({args.normalize}-normalised)"
    surface = mli.loss_plane(
        model, final, data, directions=directions, labels=("final",), project=[states[n] for n in names],
        project_labels=names, loss=loss, metrics=metrics, bn=bn, device=device, progress=not args.no_progress, **grid,
    )  # fmt: skip
    seconds = time.perf_counter() - t0
    out: Path = args.out or args.run / "landscape"
    name = f"landscape_{args.directions}"
    written = [surface.save(out / name, overwrite=True)]
    if traj is not None:
        written.append(traj.save(out / "trajectory_pca", overwrite=True))
    title = f"run {rec.config.hash}: {args.directions} plane"
    contour = dict(xlabel=xlabel, ylabel=ylabel, title=title, log=args.log, clip=args.clip)
    surf_kw = dict(xlabel="PC 1" if traj is not None else "direction 1", log=args.log, clip=args.clip)
    surf_kw["ylabel"] = "PC 2" if traj is not None else "direction 2"
    written += mli.save_landscape(
        surface,
        args.figures or out,
        name=name,
        formats=tuple(args.format or ("png", "pdf")),
        contour=contour,
        surface_options=surf_kw,
    )
    _report(rec, names, surface, traj, bn, seconds, written)
    return 0


def _report(rec, names, surface, traj, bn, seconds, written) -> None:
    loss = surface.loss
    print(f"run {rec.config.hash} ({rec.state}): {rec.config.describe()}")
    print(f"checkpoints: {', '.join(names)}")
    if traj is not None:
        r = traj.explained_variance_ratio
        print(f"PCA of {len(traj.labels)} checkpoints around final: explained variance {r[0]:.4f} + {r[1]:.4f}")
    rows = [("checkpoint", "u", "v", "distance from plane")]
    for label, (a, b), dist in zip(surface.projected_labels, surface.projected, surface.projected_distance):
        rows.append((label, f"{a:.4g}", f"{b:.4g}", f"{dist:.4g}"))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for r in rows:
        print("  " + "  ".join(c.rjust(w) for c, w in zip(r, widths)))
    print(
        f"grid {len(surface.v)} x {len(surface.u)}, u in [{surface.u[0]:.4g}, {surface.u[-1]:.4g}], "
        f"v in [{surface.v[0]:.4g}, {surface.v[-1]:.4g}], {surface.n_examples} examples, bn={bn!r}: "
        f"loss {loss.min():.4g} .. {loss.max():.4g}; final {surface.point_direct['loss'][0]:.6g} "
        f"(directly), {surface.point_values['loss'][0]:.6g} (under the policy); {seconds:.1f} s"
    )
    print("wrote " + ", ".join(str(p) for p in written))


def main(args: argparse.Namespace) -> int:
    """Run the ``landscape`` command for parsed ``args``; exit status 2 with one ``error:`` line on bad input."""
    if args.quick:
        if args.grid == 21:
            args.grid = 7
        if args.n_data == 1000:
            args.n_data = 256
    try:
        return _run(args)
    except _Refused as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
