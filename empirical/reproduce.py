"""Run a reproduction end to end: its sweep (resumable, any backend), its analysis, its report folder.

``python -m empirical reproduce NAME --scale smoke|small|paper`` (see :mod:`empirical.experiments` for the
names) does three things:

1. runs every configuration of the experiment at that scale through :func:`empirical.sweep.run_sweep` into a
   root of run folders (default ``runs/reproduce/<scale>``, shared by the experiments, so a configuration two
   experiments use is trained once); finished runs are skipped, so an interrupted reproduction resumes;
2. calls the experiment's ``analyse(ctx)``, which may run further configurations that depend on the first
   ones (e.g. retraining from a trained state) through the same backend, and caches derived measurements
   (extra interpolation curves) under ``ROOT/_derived/<name>/`` so that they too are computed once;
3. writes the report folder (default ``out/reproduce/<name>-<scale>``): ``report.md``, tables as Markdown and
   CSV, figures as PNG and PDF, and ``results.json`` with every number and the exact configurations.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import platform
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from empirical.experiments import EXPERIMENTS, ExperimentSpec, experiment_module, load_experiment
from empirical.report import Report
from empirical.runs import RunConfig, RunRecord, is_finished, load_run, run_folder
from empirical.sweep import BACKENDS, SCALES, SweepSummary, run_sweep
from mlitheory._results import atomic_write_text

__all__ = ["Context", "add_parser", "default_out", "default_root", "main", "reproduce", "write_index"]


def default_root(scale: str) -> Path:
    """Default root of the run folders: ``runs/reproduce/<scale>``."""
    return Path("runs") / "reproduce" / scale


def default_out(name: str, scale: str) -> Path:
    """Default report folder: ``out/reproduce/<name>-<scale>``."""
    return Path("out") / "reproduce" / f"{name}-{scale}"


@dataclasses.dataclass
class Context:
    """What an experiment's ``analyse`` gets.

    Attributes:
        spec: the experiment at this scale.
        records: the runs of ``spec.configs``, in the same order (finished, diverged, stopped or failed).
        root: the run folders' root.
        device: evaluation device for derived measurements.
        sweep: keyword arguments of :func:`empirical.sweep.run_sweep` (backend, workers, address, device).
        progress: whether to show progress bars.
    """

    spec: ExperimentSpec
    records: list
    root: Path
    device: str | None = None
    sweep: dict = dataclasses.field(default_factory=dict)
    progress: bool = True
    derived_runs: list = dataclasses.field(default_factory=list)

    @property
    def params(self) -> dict:
        """The analysis parameters at this scale."""
        return self.spec.analysis

    def new_report(self) -> Report:
        """An empty report headed with this experiment's name, version, scale, title and notes."""
        s = self.spec
        rep = Report(
            name=s.name,
            version=s.version,
            scale=s.scale,
            title=s.title,
            reference=s.reference,
            description=s.description.strip(),
        )
        for n in s.notes:
            rep.note(n)
        return rep

    def run(self, configs: Sequence[RunConfig]) -> list[RunRecord]:
        """Run further configurations (e.g. warm starts from the first runs) through the same backend."""
        configs = list(configs)
        _sweep(configs, self.root, progress=self.progress, **self.sweep)
        records = [load_run(run_folder(self.root, c)) for c in configs]
        self.derived_runs += [r for r in records if r.config.hash not in {x.config.hash for x in self.derived_runs}]
        return records

    def cached(self, key: Any, compute: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``compute(*args, **kwargs)`` once per ``key`` (a JSON value), stored under ``ROOT/_derived/<experiment>/``.

        The stored value is returned on later calls (a resumed or regenerated report does not recompute it).
        """
        text = json.dumps(key, sort_keys=True, default=str)
        digest = hashlib.sha256(text.encode()).hexdigest()[:16]
        path = self.root / "_derived" / self.spec.name / f"{digest}.json"
        if path.is_file():
            stored = json.loads(path.read_text())
            if stored.get("key") == json.loads(text):
                return stored["value"]
        value = compute(*args, **kwargs)
        atomic_write_text(path, json.dumps({"key": json.loads(text), "value": value}, allow_nan=True))
        return value

    def finished(self, records: Sequence[RunRecord] | None = None) -> list[RunRecord]:
        """The runs (default: all of :attr:`records`) that finished training and were measured."""
        return [r for r in (self.records if records is None else records) if r.metrics and r.metrics.get("measures")]


def _sweep(configs: Sequence[RunConfig], root: Path, **kw):
    """:func:`empirical.sweep.run_sweep`, unless every run is finished (then nothing runs and no lock is taken,
    so a report can be regenerated while another sweep writes into the same root)."""
    if all(is_finished(run_folder(root, c)) for c in configs):
        return SweepSummary(
            root=str(root),
            backend=kw.get("backend", "local"),
            total=len(configs),
            done=0,
            skipped=len(configs),
            failed=0,
            diverged=0,
            seconds=0.0,
            rows=[],
        )
    return run_sweep(configs, root, **kw)


def _run_entry(rec: RunRecord, *, curve: bool) -> dict:
    m = rec.metrics or {}
    out = {
        "hash": rec.config.hash,
        "state": rec.state,
        "describe": rec.config.describe(),
        "train": {k: v for k, v in (m.get("train") or {}).items() if k != "checkpoints"},
        "measures": m.get("measures"),
    }
    if rec.error:
        out["error"] = rec.error
    if curve and rec.curve:
        out["curve"] = {k: v for k, v in rec.curve.items() if k in ("alphas", "loss", "accuracy")}
    return out


def reproduce(
    name: str,
    scale: str = "small",
    *,
    out: str | os.PathLike | None = None,
    root: str | os.PathLike | None = None,
    backend: str = "local",
    workers: int | None = None,
    address: str | None = None,
    device: str | None = None,
    data_dir: str | os.PathLike | None = None,
    seed_offset: int = 0,
    progress: bool = True,
    force: bool = False,
) -> Report:
    """Run experiment ``name`` at ``scale`` and write its report; returns the :class:`Report`.

    Args:
        name: one of :data:`empirical.experiments.EXPERIMENTS`.
        scale: one of :data:`empirical.sweep.SCALES`.
        out: report folder (default :func:`default_out`).
        root: run folders' root (default :func:`default_root`).
        backend, workers, address: see :func:`empirical.sweep.run_sweep`.
        device: training and evaluation device (``"cuda"`` on a GPU).
        data_dir: folder with CIFAR (sets ``$MLITHEORY_DATA_DIR`` for the runs and their workers).
        seed_offset: added to every run's seed.
        progress: progress bars.
        force: replace a report folder that holds another experiment's report.
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; valid: {', '.join(BACKENDS)}")
    if data_dir is not None:
        from empirical.data import DATA_DIR_ENV

        os.environ[DATA_DIR_ENV] = str(Path(data_dir).resolve())
    spec = load_experiment(name, scale, data_dir=data_dir, seed_offset=seed_offset)
    root = Path(root) if root is not None else default_root(scale)
    out = Path(out) if out is not None else default_out(name, scale)
    t0 = time.perf_counter()
    sweep_kw = {"backend": backend, "workers": workers, "address": address, "device": device}
    summary = _sweep(spec.configs, root, progress=progress, **sweep_kw)
    records = [load_run(run_folder(root, c)) for c in spec.configs]
    ctx = Context(spec=spec, records=records, root=root, device=device, sweep=sweep_kw, progress=progress)
    report: Report = experiment_module(name).analyse(ctx)
    failed = [r for r in records + ctx.derived_runs if r.state in ("failed", "killed")]
    if failed:
        report.note(
            f"{len(failed)} run(s) failed and are left out (first: {failed[0].config.hash}: {failed[0].error}); "
            "re-running the same command retries them."
        )
    keep_curves = len(records) + len(ctx.derived_runs) <= 400
    report.configs = {
        "experiment_file": spec.path,
        "document": spec.document,
        "analysis": spec.analysis,
        "runs": {r.config.hash: r.config.non_default() for r in records},
        "derived_runs": {r.config.hash: r.config.non_default() for r in ctx.derived_runs},
    }
    report.runs = [_run_entry(r, curve=keep_curves) for r in records + ctx.derived_runs]
    report.numbers.setdefault("environment", {})
    report.numbers["environment"].update(
        {
            "torch": torch.__version__,
            "python": platform.python_version(),
            "device": device or "cpu",
            "backend": backend,
            "runs_total": summary.total,
            "runs_trained_this_call": summary.done,
            "runs_failed": sum(r.state in ("failed", "killed") for r in records),
            "runs_diverged": sum(r.state == "diverged" for r in records),
            "seconds_this_call": round(time.perf_counter() - t0, 1),
            "engine": (records[0].metrics or {}).get("engine") if records else None,
        }
    )
    report.write(out, force=force)
    return report


def write_index(folder: str | os.PathLike) -> Path:
    """Write ``folder/index.md``: every report found in ``folder/*/results.json`` with its claims check summary,
    and each claim that is not supported or inconclusive with its evidence and likely reason.

    Returns:
        The path written. Raises ``FileNotFoundError`` when ``folder`` holds no report.
    """
    folder = Path(folder)
    found = {}
    for path in sorted(folder.glob("*/results.json")):
        found[path.parent.name] = json.loads(path.read_text())
    if not found:
        raise FileNotFoundError(f"no reports (*/results.json) under {folder}")
    order = {n: i for i, n in enumerate(EXPERIMENTS)}
    names = sorted(found, key=lambda n: (order.get(found[n].get("experiment"), 99), n))
    lines = [
        "# Reproductions: results",
        "",
        "Each folder holds one report written by `python -m empirical reproduce NAME --scale SCALE --out "
        f"{folder.as_posix()}/NAME` (tables as Markdown and CSV, figures as PNG and PDF, `results.json` with every "
        "number and the exact configurations). This index is generated from those files by "
        f"`python -m empirical reproduce index --out {folder.as_posix()}`; see `docs/reproductions.md`.",
        "",
        "| experiment | reproduces | scale | supported | not supported | inconclusive | report |",
        "|---|---|---|---|---|---|---|",
    ]
    for n in names:
        d = found[n]
        s = d.get("claims_summary", {})
        lines.append(
            f"| `{d.get('experiment', n)}` | {d.get('reference', '')} | {d.get('scale', '')} | "
            f"{s.get('supported', 0)} | {s.get('not supported', 0)} | {s.get('inconclusive', 0)} | "
            f"[{n}/report.md]({n}/report.md) |"
        )
    lines += ["", "## Claims not supported or inconclusive at the scale run", ""]
    for n in names:
        d = found[n]
        open_claims = [c for c in d.get("claims", []) if c["verdict"] != "supported"]
        lines.append(f"### `{d.get('experiment', n)}` ({d.get('scale', '')})")
        lines.append("")
        if not open_claims:
            lines += ["Every claim checked is supported.", ""]
            continue
        for c in open_claims:
            why = f" Likely reason: {c['reason']}" if c.get("reason") else ""
            lines.append(
                f"- **{c['verdict']}**: {c['statement']} ({c['source']}). Measured: {c['evidence']}.{why}".replace(
                    ".. ", ". "
                )
            )
        lines.append("")
        notes = d.get("notes", [])
        if notes:
            lines += ["Notes of this report:", ""] + [f"- {x}" for x in notes] + [""]
    lines += _paper_beside_ours(found, names)
    path = folder / "index.md"
    atomic_write_text(path, "\n".join(lines))
    return path


def _paper_beside_ours(found: dict, names: list[str]) -> list[str]:
    """Each report's claims (the paper's statement beside our measurement) and the tables that hold the papers'
    numbers next to ours (a column or a row label naming the paper)."""
    esc = lambda x: str(x).replace("|", "\\|").replace("\n", " ")
    lines = [
        "## The papers' numbers beside ours",
        "",
        "For every report: each claim as the paper states it, beside what the runs at this scale measured, and the "
        "report's tables that hold the paper's numbers next to ours.",
        "",
    ]
    for n in names:
        d = found[n]
        lines += [f"### `{d.get('experiment', n)}` ({d.get('scale', '')})", ""]
        claims = d.get("claims", [])
        if claims:
            lines += ["| the paper | source | ours | verdict |", "|---|---|---|---|"]
            for c in claims:
                lines.append(f"| {esc(c['statement'])} | {esc(c['source'])} | {esc(c['evidence'])} | {c['verdict']} |")
            lines.append("")
        for t in d.get("tables", {}).values():
            cols, rows = t.get("columns", []), t.get("rows", [])
            cells = [[r.get(c) for c in cols] if isinstance(r, dict) else list(r) for r in rows]
            has_paper = any("paper" in str(c).lower() for c in cols) or any(
                r and "paper" in str(r[0]).lower() for r in cells
            )
            if not has_paper:
                continue
            lines += [f"*{esc(t.get('title', ''))}*", "", "| " + " | ".join(esc(c) for c in cols) + " |"]
            lines.append("|" + "---|" * len(cols))
            lines += ["| " + " | ".join(esc("-" if v is None else v) for v in r) + " |" for r in cells]
            lines.append("")
    return lines


# ---------------------------------------------------------------------------------------------- command line


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Add the ``reproduce`` sub-command to an ``argparse`` sub-parsers object."""
    r = sub.add_parser(
        "reproduce",
        help="run one of the papers' experiments and write its report",
        description=(
            "Run a reproduction (a named, versioned experiment) at a scale: its sweep of runs (resumable, on any "
            "backend), then its analysis, and write a report folder: report.md, tables (Markdown + CSV), figures "
            "(PNG + PDF), results.json with every number and the exact configurations, and a claims check. "
            f"Experiments: {', '.join(EXPERIMENTS)}; 'all' runs them in turn."
        ),
    )
    r.add_argument(
        "name", help="experiment name, 'all', 'list' to list them, or 'index' to write --out/index.md from its reports"
    )
    r.add_argument("--scale", choices=list(SCALES), default="small", help="smoke (seconds), small (CPU), paper")
    r.add_argument("--quick", action="store_true", help="same as --scale smoke")
    r.add_argument("--backend", choices=list(BACKENDS), default="local")
    r.add_argument("--workers", type=int, default=None, help="parallel runs for process/ray (default: CPU count)")
    r.add_argument("--address", default=None, help="Ray cluster address (default: start Ray locally)")
    r.add_argument("--device", default=None, help="cpu (default), cuda, cuda:1, mps")
    r.add_argument(
        "--data-dir", type=Path, default=None, help="folder with cifar-10-batches-py (else $MLITHEORY_DATA_DIR)"
    )
    r.add_argument("--out", type=Path, default=None, help="report folder (default out/reproduce/NAME-SCALE)")
    r.add_argument("--runs", type=Path, default=None, help="root of the run folders (default runs/reproduce/SCALE)")
    r.add_argument("--seed", type=int, default=0, help="offset added to every run's seed (default 0: the papers')")
    r.add_argument("--force", action="store_true", help="replace a report folder holding another report")
    r.add_argument("--threads", type=int, default=None, help="torch threads of this process (local backend)")
    r.add_argument("--no-progress", action="store_true")
    return r


def main(args: argparse.Namespace) -> int:
    """Run the ``reproduce`` command for parsed ``args``."""
    if args.name == "list":
        for n in EXPERIMENTS:
            spec = load_experiment(n, "smoke", available={"cifar10": True, "cifar100": True})
            print(f"{n:24s} v{spec.version}  {spec.title}")
        return 0
    if args.name == "index":
        if args.out is None:
            raise SystemExit("reproduce index: give --out, the folder holding the report folders (e.g. docs/results)")
        print(f"wrote {write_index(args.out)}")
        return 0
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    names = list(EXPERIMENTS) if args.name == "all" else [args.name]
    scale = "smoke" if args.quick else args.scale
    if args.name == "all" and args.out is not None:
        outs = {n: args.out / n for n in names}
    else:
        outs = {n: args.out for n in names}
    for n in names:
        t0 = time.perf_counter()
        rep = reproduce(
            n,
            scale,
            out=outs[n],
            root=args.runs,
            backend=args.backend,
            workers=args.workers,
            address=args.address,
            device=args.device,
            data_dir=args.data_dir,
            seed_offset=args.seed,
            progress=not args.no_progress,
            force=args.force,
        )
        folder = outs[n] or default_out(n, scale)
        print(f"\n== {rep.title} ({n}, scale {scale})")
        for note in rep.notes:
            print(f"note: {note}")
        for t in rep.tables:
            print(f"\n{t.title}\n{t.markdown()}")
        print("\nclaims check:")
        for c in rep.claims:
            print(f"  [{c.verdict}] {c.statement} — {c.evidence}")
        print(f"\nwrote {folder}/report.md ({time.perf_counter() - t0:.0f} s)")
    return 0
