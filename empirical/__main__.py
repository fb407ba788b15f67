"""Command line of the experiments engine: ``python -m empirical train | sweep | collect | info | reproduce``.

Every mistake in the arguments (an unknown name or key, a number out of range, a malformed TOML file, an
``--out`` that cannot be written, a device that is not here) ends with one ``error:`` line and exit status 2,
before any run starts.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

try:  # Python 3.11+
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

from mlitheory.cli_args import UsageError, arg_device, arg_dir, arg_int, arg_positive, one_line, writable_dir


def _value(text: str):
    """A command-line value parsed as TOML (numbers, booleans, lists, tables); plain text otherwise."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def _assignments(items: list[str] | None) -> dict:
    out: dict = {}
    for item in items or []:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--set {item!r}: use KEY=VALUE, e.g. --set lr=0.1 or --set model_options.hidden=[64]")
        out[key.strip()] = _value(text.strip())
    return out


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m empirical",
        description=(
            "Train networks, interpolate from initialisation to the trained state, and run sweeps of such runs. "
            "Every run lands in a folder keyed by the hash of its configuration; finished runs are never redone."
        ),
    )
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser(
        "train",
        help="train and measure one configuration",
        description=(
            "Train one configuration and measure its interpolation curve (min Δ), logit Gauss length and "
            "weight distance. Values not given keep the defaults of empirical.runs.RunConfig. Writes the run "
            "folder under --out and a figure of the curve (PNG + PDF)."
        ),
    )
    t.add_argument("--config", type=Path, help="TOML file of RunConfig values (a [base] table or top-level keys)")
    t.add_argument("--dataset", help="mnist, fashion-mnist, digits, gaussian, cifar10, cifar100")
    t.add_argument("--model", help="mlp, autoencoder, cnn, resnet20/32/44/56")
    t.add_argument("--optimizer", help="sgd, adam, adamw, rmsprop")
    t.add_argument("--lr", type=arg_positive)
    t.add_argument("--epochs", type=arg_int(0))
    t.add_argument("--batch-size", type=arg_int(0), help="0 for full batch")
    t.add_argument("--n-train", type=arg_int(1))
    t.add_argument("--set", action="append", metavar="KEY=VALUE", help="any RunConfig field, TOML value; repeatable")
    t.add_argument("--seed", type=arg_int(0), help="initialisation and batch-order seed")
    t.add_argument("--quick", action="store_true", help="tiny data (n_train=500) and one epoch unless given")
    t.add_argument("--device", type=arg_device, default=None, help="cpu (default), cuda, cuda:1, mps")
    t.add_argument("--threads", type=arg_int(1), default=None, help="torch threads (default: all cores)")
    t.add_argument(
        "--data-dir", type=arg_dir, default=None, help="folder with CIFAR batches (sets $MLITHEORY_DATA_DIR)"
    )
    t.add_argument("--out", type=Path, default=Path("runs/train"), help="root of run folders (default runs/train)")

    s = sub.add_parser(
        "sweep",
        help="run a sweep file (resumable) on a backend",
        description=(
            "Run every configuration of a TOML sweep file that is not finished under --out. Re-running resumes: "
            "finished runs are skipped, failed or killed ones are redone. Prints done/skipped/failed counts and "
            "writes runs.csv (as `collect` does)."
        ),
    )
    s.add_argument("config", help="sweep TOML file, or the name of a bundled sweep (see `info`)")
    s.add_argument("--backend", choices=["local", "process", "ray"], default="local")
    s.add_argument("--scale", choices=["smoke", "small", "medium", "paper"], default="small")
    s.add_argument("--quick", action="store_true", help="same as --scale smoke")
    s.add_argument("--workers", type=arg_int(1), default=None, help="parallel runs (default: CPU count)")
    s.add_argument(
        "--address",
        default=None,
        help="Ray cluster address, host:port of a running head node or 'auto' (default: start Ray locally)",
    )
    s.add_argument("--seed", type=arg_int(0), default=None, help="the seed of every run (same as --set seed=N)")
    s.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="set a value in every run, over the grid and the [[runs]] entries (what it replaces is printed); "
        "repeatable",
    )
    s.add_argument("--device", type=arg_device, default=None, help="device of every run (cpu default, cuda)")
    s.add_argument(
        "--threads",
        type=arg_int(1),
        default=None,
        help="torch threads per run (default 1; cores / workers for process)",
    )
    s.add_argument(
        "--data-dir", type=arg_dir, default=None, help="folder with CIFAR batches (sets $MLITHEORY_DATA_DIR)"
    )
    s.add_argument("--out", type=Path, default=None, help="root of the runs (default runs/<sweep name>)")
    s.add_argument("--dry-run", action="store_true", help="list the configurations and what is finished; run nothing")
    s.add_argument("--no-progress", action="store_true")

    c = sub.add_parser(
        "collect",
        help="gather every run under DIR into one CSV table",
        description="Read every run folder under DIR (recursively) and write one row per run to a CSV file.",
    )
    c.add_argument("dir", type=Path)
    c.add_argument("--out", type=Path, default=None, help="CSV path (default DIR/runs.csv)")

    sub.add_parser("info", help="list data sets (and whether installed), models, optimisers, bundled sweeps")
    from empirical.reproduce import add_parser as add_reproduce

    add_reproduce(sub)
    from empirical.landscape import add_parser as add_landscape

    add_landscape(sub)
    return p


def _fmt(v) -> str:
    if isinstance(v, float):
        return "nan" if math.isnan(v) else f"{v:.4g}"
    return str(v)


def _table(rows: list[dict], cols: list[str]) -> str:
    cells = [[_fmt(r.get(c, "")) for c in cols] for r in rows]
    widths = [max(len(c), *(len(x[i]) for x in cells)) if cells else len(c) for i, c in enumerate(cols)]
    line = lambda xs: "  ".join(x.rjust(w) for x, w in zip(xs, widths))
    return "\n".join([line(cols), line(["-" * w for w in widths]), *(line(x) for x in cells)])


_MEASURES = ["final_loss", "min_delta", "gauss_length", "norm_distance"]


def _varying(rows: list[dict]) -> list[str]:
    """Configuration columns whose value differs between rows (what a sweep varies)."""
    from empirical.runs import RunConfig

    fields = RunConfig.fields()
    cols = [k for k in (rows[0] if rows else {}) if k.split(".")[0] in fields]
    return [k for k in cols if len({str(r.get(k)) for r in rows}) > 1]


def _plot_curve(record, out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    curve = record.curve
    axes[0].plot(curve.alphas, curve["loss"], marker=".", lw=1)
    min_delta = record.metrics["measures"]["min_delta"]
    axes[0].set(xlabel="α", ylabel="training loss", title=f"interpolation (min Δ = {min_delta:.3g})")
    epochs = [e["epoch"] for e in record.log]
    axes[1].plot(epochs, [e["train_loss"] for e in record.log], marker="o", label="train loss")
    ax2 = axes[1].twinx()
    ax2.plot(epochs, [e["norm_distance"] for e in record.log], marker="s", color="C1", label="‖θ−θ₀‖/‖θ₀‖")
    axes[1].set(xlabel="epoch", ylabel="loss", title="training")
    ax2.set_ylabel("normalised distance from init")
    fig.tight_layout()
    paths = [out / "curve.png", out / "curve.pdf"]
    for path in paths:
        fig.savefig(path, dpi=120)
    plt.close(fig)
    return paths


def _cmd_train(args) -> int:
    from empirical.runs import RunConfig, execute_run, load_run

    values: dict = {}
    if args.config is not None:
        try:
            doc = tomllib.loads(args.config.read_text())
        except (OSError, UnicodeDecodeError) as e:
            raise UsageError(f"--config {args.config}: cannot read it ({one_line(e)})") from None
        except tomllib.TOMLDecodeError as e:
            raise UsageError(f"--config {args.config} is not valid TOML: {e}") from None
        base = doc.get("base", doc)
        if not isinstance(base, dict):
            raise UsageError(f"--config {args.config}: [base] must be a table of RunConfig values")
        values.update(base)
    flags = {
        "dataset": args.dataset,
        "model": args.model,
        "optimizer": args.optimizer,
        "lr": args.lr,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "n_train": args.n_train,
        "seed": args.seed,
    }
    if args.quick:
        values.setdefault("n_train", 500)
        values.setdefault("epochs", 1)
    values.update({k: v for k, v in flags.items() if v is not None})
    if values.get("batch_size") == 0:
        values["batch_size"] = None
    from empirical.sweep import merge_values

    try:
        values = merge_values(values, _assignments(args.set))
        config = RunConfig.from_dict(values)
        from empirical.runs import check_folder, run_folder

        check_folder(run_folder(args.out, config), config)
    except (TypeError, ValueError) as e:
        raise UsageError(one_line(e)) from None
    _check_data([config])
    writable_dir(args.out, "--out")
    print(f"run {config.hash}: {config.describe()}")
    outcome = execute_run(config, args.out, device=args.device, progress=True, threads=args.threads)
    if outcome.status == "failed":
        print(f"FAILED: {outcome.error}  (details in {outcome.folder}/status.json)")
        return 1
    rec = load_run(outcome.folder)
    if outcome.status == "skipped":
        print(f"already finished in {outcome.folder}; not recomputed")
    print(_table(rec.log, ["epoch", "lr", "train_loss", "train_accuracy", "test_accuracy", "norm_distance"]))
    m = rec.metrics.get("measures") or {}
    print(f"\nstatus {rec.state}; " + ", ".join(f"{k} = {_fmt(v)}" for k, v in m.items()))
    if rec.curve is not None:
        paths = _plot_curve(rec, Path(outcome.folder))
        print(f"wrote {outcome.folder} (figures {', '.join(p.name for p in paths)})")
    return 0


def _check_data(configs) -> None:
    """Every data set the runs need is installed here (else the install hint, before any run)."""
    from empirical.data import available

    for name in sorted({c.dataset for c in configs}):
        ok, why = available(name)
        if not ok:
            raise UsageError(f"data set {name!r} is not installed here: {why}")


def _cmd_sweep(args) -> int:
    from empirical.collect import collect, write_csv
    from empirical.runs import is_finished, run_folder
    from empirical.sweep import load_sweep, run_sweep

    scale = "smoke" if args.quick else args.scale
    overrides = _assignments(args.set)
    if args.seed is not None:
        overrides["seed"] = args.seed
    try:
        spec = load_sweep(args.config, scale=scale, overrides=overrides)
    except (TypeError, ValueError, FileNotFoundError) as e:
        raise UsageError(one_line(e)) from None
    root = args.out or Path("runs") / spec.name
    if args.backend == "ray":
        import importlib.util

        if importlib.util.find_spec("ray") is None:
            raise UsageError("--backend ray needs Ray: pip install 'ray>=2.9' (or the extra: pip install -e '.[ray]')")
    elif args.address is not None:
        raise UsageError("--address is the address of a Ray cluster; use it with --backend ray")
    if not args.dry_run:
        _check_data(spec.configs)
        writable_dir(root, "--out")
    print(f"sweep {spec.name!r} ({spec.path}) at scale {scale}: {len(spec.configs)} runs into {root}")
    for note in spec.notes:
        print(f"note: --set {note}")
    if spec.duplicates:
        print(f"({spec.duplicates} duplicate configurations merged)")
    if args.dry_run:
        rows = [
            {"hash": c.hash, "finished": is_finished(run_folder(root, c)), "config": c.describe()} for c in spec.configs
        ]
        print(_table(rows, ["hash", "finished", "config"]))
        return 0
    t0 = time.perf_counter()
    from empirical.runs import ConfigMismatch
    from empirical.sweep import SweepLocked

    try:
        summary = run_sweep(
            spec.configs,
            root,
            backend=args.backend,
            workers=args.workers,
            address=args.address,
            device=args.device,
            threads=args.threads,
            progress=not args.no_progress,
        )
    except (ConfigMismatch, SweepLocked) as e:  # both raised before any run starts
        raise UsageError(one_line(e)) from None
    rows = collect(root)
    csv_path = write_csv(rows, root / "runs.csv")
    show = [r for r in rows if r["hash"] in {c.hash for c in spec.configs}]
    print(_table(show, ["hash", "status", *_varying(show), *_MEASURES]))
    print(summary.summary())
    print(f"wrote {csv_path}; {time.perf_counter() - t0:.1f} s end to end")
    return 1 if summary.failed else 0


def _cmd_collect(args) -> int:
    from empirical.collect import collect, write_csv

    if not args.dir.is_dir():
        raise UsageError(f"{args.dir} is not a folder")
    if args.out is not None:
        writable_dir(args.out.parent, "--out")
    rows = collect(args.dir)
    if not rows:
        print(f"no run folders under {args.dir}")
        return 1
    path = write_csv(rows, args.out or args.dir / "runs.csv")
    print(_table(rows, ["hash", "status", *_varying(rows), *_MEASURES]))
    print(f"\n{len(rows)} runs; wrote {path}")
    return 0


def _cmd_info() -> int:
    from empirical.data import DATASETS, available
    from empirical.models import MODELS, model_options
    from empirical.sweep import sweep_files
    from empirical.train import OPTIMIZERS, SCHEDULES

    print("data sets:")
    for name in DATASETS:
        ok, why = available(name)
        print(f"  {name:14s} {'installed' if ok else 'absent: ' + why}")
    print("models:")
    for name in MODELS:
        print(f"  {name:12s} options: {', '.join(model_options(name))}")
    print(f"optimisers: {', '.join(OPTIMIZERS)}; schedules: {', '.join(SCHEDULES)}")
    print(f"bundled sweeps: {', '.join(sweep_files()) or 'none'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _run(args)
    except UsageError as e:
        print(f"python -m empirical {args.command}: error: {one_line(e)}", file=sys.stderr)
        return 2


def _run(args) -> int:
    if getattr(args, "data_dir", None) is not None:
        import os

        from empirical.data import DATA_DIR_ENV

        os.environ[DATA_DIR_ENV] = str(args.data_dir.resolve())  # inherited by worker processes
    if args.command == "train":
        return _cmd_train(args)
    if args.command == "sweep":
        return _cmd_sweep(args)
    if args.command == "collect":
        return _cmd_collect(args)
    if args.command == "info":
        return _cmd_info()
    if args.command == "reproduce":
        from empirical.reproduce import main as reproduce_main

        return reproduce_main(args)
    if args.command == "landscape":
        from empirical.landscape import main as landscape_main

        return landscape_main(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
