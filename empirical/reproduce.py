"""Run a reproduction end to end: its sweep (resumable, any backend), its analysis, its report folder.

``python -m empirical reproduce NAME --scale smoke|small|paper`` (see [`empirical.experiments`][empirical.experiments]
for the names) does three things:

1. runs every configuration of the experiment at that scale through
   [`empirical.sweep.run_sweep`][empirical.sweep.run_sweep] into a root of run folders (default
   ``runs/reproduce/<scale>``, shared by the experiments, so a configuration two experiments use is trained once);
   finished runs are skipped, so an interrupted reproduction resumes;
2. calls the experiment's ``analyse(ctx)``, which may run further configurations that depend on the first
   ones (e.g. retraining from a trained state) through the same backend, and caches derived measurements
   (extra interpolation curves) under ``ROOT/_derived/<name>/`` so that they too are computed once;
3. writes the report folder (default ``out/reproduce/<name>-<scale>``): ``report.md``, tables as Markdown and
   CSV, figures as PNG and PDF, and ``results.json`` with every number and the exact configurations.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import hashlib
import json
import math
import os
import platform
import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

import mlitheory
from empirical.experiments import EXPERIMENTS, ExperimentSpec, experiment_module, load_experiment
from empirical.report import Report, other_report
from empirical.runs import RunConfig, RunRecord, inspect_folder, is_finished, load_run, run_folder
from empirical.sweep import BACKENDS, SCALES, SweepLocked, SweepSummary, run_sweep
from mlitheory.cli_args import UsageError, arg_device, arg_dir, arg_int, one_line, writable_dir
from mlitheory.results import Result, atomic_write_text

__all__ = ["Context", "Incomplete", "add_parser", "default_out", "default_root", "main", "reproduce", "write_index"]


def default_root(scale: str) -> Path:
    """Default root of the run folders: ``runs/reproduce/<scale>``."""
    return Path("runs") / "reproduce" / scale


def default_out(name: str, scale: str) -> Path:
    """Default report folder: ``out/reproduce/<name>-<scale>``."""
    return Path("out") / "reproduce" / f"{name}-{scale}"


class Incomplete(RuntimeError):
    """A reproduction called with a time budget stopped before every run was done; calling it again resumes.

    Attributes:
        done, total: runs finished so far, and in all (of the sweep or the analysis' further runs).
    """

    def __init__(self, name: str, done: int, total: int):
        what = f"{done} of {total} runs done" if total else "every run done, the analysis' measurements not yet"
        super().__init__(f"{name}: {what}; call the same command again to continue")
        self.done, self.total = done, total


@dataclasses.dataclass
class Context:
    """What an experiment's ``analyse`` gets.

    Attributes:
        spec: the experiment at this scale.
        records: the runs of ``spec.configs``, in the same order (finished, diverged, stopped or failed).
        root: the run folders' root.
        device: evaluation device for derived measurements.
        sweep: keyword arguments of [`empirical.sweep.run_sweep`][empirical.sweep.run_sweep] (backend, workers, address,
            device).
        progress: whether to show progress bars.
    """

    spec: ExperimentSpec
    records: list
    root: Path
    device: str | None = None
    sweep: dict = dataclasses.field(default_factory=dict)
    progress: bool = True
    derived_runs: list = dataclasses.field(default_factory=list)
    deadline: float | None = None
    #: seconds the derived values of this analysis took when they were computed (stored or computed now)
    derived_seconds: float = 0.0
    #: stored derived values used without a recorded time (written before times were stored)
    derived_untimed: int = 0
    #: derived values computed by this call (a budgeted call computes at least one, so that every call progresses)
    derived_computed: int = 0

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
        rep.rule_changes = list(s.rule_changes)
        return rep

    def judge(self, report: Report, units: dict) -> list:
        """Judge the experiment's pre-registered claim rules (``spec.rules``) on ``units`` into ``report``."""
        return report.judge(self.spec.rules, units, self.spec.verdicts)

    def run(self, configs: Sequence[RunConfig]) -> list[RunRecord]:
        """Run further configurations (e.g. warm starts from the first runs) through the same backend."""
        configs = list(configs)
        summary = _sweep(configs, self.root, progress=self.progress, deadline=self.deadline, **self.sweep)
        if summary.pending:
            raise Incomplete(self.spec.name, summary.total - summary.pending, summary.total)
        records = [load_run(run_folder(self.root, c)) for c in configs]
        self.derived_runs += [r for r in records if r.config.hash not in {x.config.hash for x in self.derived_runs}]
        return records

    def cached(self, key: Any, compute: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``compute(*args, **kwargs)`` once per ``key`` (a JSON value), stored under ``ROOT/_derived/<experiment>/``.

        The value is a JSON value or a [`mlitheory.results.Result`][mlitheory.results.Result] (saved with
        ``Result.save`` beside the key file and loaded back as the same object). The stored value is returned on later
        calls (a resumed or regenerated report does not recompute it). With a time budget whose deadline has passed, a
        value not yet stored is not computed once this call has computed one (so every call progresses):
        [`Incomplete`][empirical.reproduce.Incomplete] is raised, and the next call continues.
        """
        text = json.dumps(key, sort_keys=True, default=str)
        digest = hashlib.sha256(text.encode()).hexdigest()[:16]
        folder = self.root / "_derived" / self.spec.name
        path = folder / f"{digest}.json"
        if path.is_file():
            try:
                stored = json.loads(path.read_text())
                if stored.get("key") == json.loads(text):
                    value = Result.load(folder / stored["result"]) if "result" in stored else stored["value"]
                    self.derived_seconds += float(stored.get("seconds", 0.0))
                    self.derived_untimed += "seconds" not in stored
                    return value
            except (OSError, ValueError, TypeError, AttributeError):  # a damaged entry of the cache: computed again
                pass
        if self.deadline is not None and time.time() > self.deadline and self.derived_computed:
            raise Incomplete(self.spec.name, 0, 0)  # a budgeted call stops between items, after at least one
        t0 = time.perf_counter()
        value = compute(*args, **kwargs)
        seconds = time.perf_counter() - t0
        self.derived_computed += 1
        self.derived_seconds += seconds
        record: dict[str, Any] = {"key": json.loads(text), "seconds": seconds}
        if isinstance(value, Result):
            record["result"] = f"{digest}.result"
            value.save(folder / record["result"], overwrite=True)
        else:
            record["value"] = value
        atomic_write_text(path, json.dumps(record, allow_nan=True))
        return value

    def finished(self, records: Sequence[RunRecord] | None = None) -> list[RunRecord]:
        """The runs (default: all of `records`) that finished training and were measured."""
        return [r for r in (self.records if records is None else records) if r.metrics and r.metrics.get("measures")]


def _sweep(configs: Sequence[RunConfig], root: Path, **kw):
    """[`empirical.sweep.run_sweep`][empirical.sweep.run_sweep], unless every run is finished and intact (then nothing
    runs and no lock
    is taken, so a report can be regenerated while another sweep writes into the same root)."""
    intact = lambda c: is_finished(run_folder(root, c)) and not inspect_folder(run_folder(root, c), c)
    if all(intact(c) for c in configs):
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
        out["error"] = _no_machine_paths(str(rec.error))
    if curve and rec.curve is not None:
        out["curve"] = {"alphas": rec.curve.alphas.tolist()}
        out["curve"].update({k: rec.curve[k].tolist() for k in ("loss", "accuracy") if k in rec.curve.values})
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
    budget: float | None = None,
) -> Report:
    """Run experiment ``name`` at ``scale`` and write its report; returns the [`Report`][empirical.report.Report].

    Args:
        name: one of [`empirical.experiments.EXPERIMENTS`][empirical.experiments.EXPERIMENTS].
        scale: one of [`empirical.sweep.SCALES`][empirical.sweep.SCALES].
        out: report folder (default [`default_out`][empirical.reproduce.default_out]).
        root: run folders' root (default [`default_root`][empirical.reproduce.default_root]).
        backend, workers, address: see [`empirical.sweep.run_sweep`][empirical.sweep.run_sweep].
        device: training and evaluation device (``"cuda"`` on a GPU).
        data_dir: folder with CIFAR (sets ``$MLITHEORY_DATA_DIR`` for the runs and their workers).
        seed_offset: added to every run's seed.
        progress: progress bars.
        force: replace a report folder that holds another experiment's report.
        budget: seconds this call may train for: no run starts after them and training pauses at the end of its
            epoch (its state kept), so the call ends soon after; then [`Incomplete`][empirical.reproduce.Incomplete] is
            raised and the same call resumes. The analysis and the report follow once every run is done.

    Raises:
        Incomplete: ``budget`` ran out before every run was done.
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
    deadline = None if budget is None else time.time() + float(budget)
    sweep_kw = {"backend": backend, "workers": workers, "address": address, "device": device}
    summary = _sweep(spec.configs, root, progress=progress, deadline=deadline, **sweep_kw)
    if summary.pending:
        raise Incomplete(name, summary.total - summary.pending, summary.total)
    records = [load_run(run_folder(root, c)) for c in spec.configs]
    ctx = Context(
        spec=spec, records=records, root=root, device=device, sweep=sweep_kw, progress=progress, deadline=deadline
    )
    report: Report = experiment_module(name).analyse(ctx)
    failed = [r for r in records + ctx.derived_runs if r.state in ("failed", "killed")]
    if failed:
        first = _no_machine_paths(str(failed[0].error))
        report.note(
            f"{len(failed)} run(s) failed and are left out (first: {failed[0].config.hash}: {first}); "
            "re-running the same command retries them."
        )
    keep_curves = len(records) + len(ctx.derived_runs) <= 400
    report.configs = {
        "experiment_file": _repo_relative(spec.path),
        "document": spec.document,
        "analysis": spec.analysis,
        "runs": {r.config.hash: r.config.non_default() for r in records},
        "derived_runs": {r.config.hash: r.config.non_default() for r in ctx.derived_runs},
    }
    report.runs = [_run_entry(r, curve=keep_curves) for r in records + ctx.derived_runs]
    compute = _compute_time(records + ctx.derived_runs, ctx.derived_seconds)
    compute["analysis_values_without_time"] = ctx.derived_untimed
    untimed = f"; {ctx.derived_untimed} stored values carry no time and are not counted" if ctx.derived_untimed else ""
    report.note(
        f"Compute: training {compute['train_s'] / 60:.1f} min and measuring {compute['measure_s'] / 60:.1f} min, "
        f"summed over the {compute['runs']} runs (each run's own wall time, as recorded in its metrics); the "
        f"analysis's own measurements {compute['analysis_s'] / 60:.1f} min (summed over the values it computed, "
        f"whether computed now or stored by an earlier call{untimed})."
    )
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
            "compute_seconds": compute,
            "measured_by": f"mlitheory {mlitheory.__version__}",
        }
    )
    report.write(out, force=force)
    return report


def _no_machine_paths(text: str) -> str:
    """``text`` with every absolute path cut to its last two parts (a report holds no path of this machine)."""
    return re.sub(r"(?<![\w.])/(?:[^\s/:'\"]+/)*([^\s/:'\"]+/[^\s/:'\"]+)", r"…/\1", text)


def _compute_time(records: Sequence[RunRecord], analysis_s: float) -> dict[str, Any]:
    """Seconds of training and measuring summed over ``records`` (their metrics' ``timing``), and ``analysis_s``."""
    train = measure = 0.0
    for r in records:
        timing = (r.metrics or {}).get("timing") or {}
        train += float(timing.get("train_s", 0.0))
        measure += float(timing.get("measure_s", 0.0))
    # Milliseconds: a smoke run trains in a few of them, and a total rounded to 0.1 s would read as "no training".
    return {"runs": len(records), "train_s": round(train, 3), "measure_s": round(measure, 3),
            "analysis_s": round(analysis_s, 3)}  # fmt: skip


def _repo_relative(path: Any) -> str:
    """``path`` relative to the checkout that holds the ``empirical`` package (no machine path in a report)."""
    root = Path(__file__).resolve().parents[1]
    try:
        return Path(path).resolve().relative_to(root).as_posix()
    except ValueError:
        return Path(path).name


def _claim_cells(c: dict) -> tuple[str, str, str, str]:
    p = "–" if c.get("p_value") is None else f"{c['p_value']:.2g}"
    if c.get("p_adjusted") is not None:
        p += f" ({c['p_adjusted']:.2g})"
    power = "–" if c.get("power") is None else f"{c['power']:.2f}"
    return (c.get("paper", {}).get("text", ""), c.get("evidence", ""), p, power)


def write_index(folder: str | os.PathLike) -> Path:
    """Write ``folder/index.md``: every report found in ``folder/**/results.json`` with its verdict counts, and
    for each report a table of its claims with the paper's number beside ours, p, power and the verdict.

    Returns:
        The path written. Raises ``FileNotFoundError`` when ``folder`` holds no report.
    """
    from empirical.claims import VERDICTS

    folder = Path(folder)
    found, others = {}, []
    damaged = []
    for path in sorted(folder.glob("**/results.json")):
        name = path.parent.relative_to(folder).as_posix()
        try:
            data = json.loads(path.read_bytes().decode("utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as e:  # listed as damaged; the other reports are indexed
            damaged.append((name, one_line(e)))
            continue
        if isinstance(data, dict) and data.get("experiment") in EXPERIMENTS:
            found[name] = data
        elif (path.parent / "report.md").is_file():  # another study's report (the exact ReLU study): linked only
            others.append(name)
    if not found:
        raise FileNotFoundError(f"no reports (*/results.json) under {folder}")
    order = {n: i for i, n in enumerate(EXPERIMENTS)}
    scale_order = {"smoke": 0, "small": 1, "medium": 2, "paper": 3}
    names = sorted(
        found,
        key=lambda n: (order.get(found[n].get("experiment"), 99), scale_order.get(found[n].get("scale"), 9), n),
    )
    esc = lambda x: str(x).replace("|", "\\|").replace("\n", " ")
    lines = [
        "# Reproductions: results",
        "",
        "Each folder holds one report written by `python -m empirical reproduce NAME --scale SCALE --out "
        f"{folder.as_posix()}/...` (tables as Markdown and CSV, figures as PNG and PDF, `results.json` with every "
        "number and the exact configurations). This index is generated from those files by "
        f"`python -m empirical reproduce index --out {folder.as_posix()}`; see `docs/reproductions.md`.",
        "",
        "Every claim is a pre-registered rule of its experiment's TOML file, tested at α = 0.05 with Holm's correction "
        "per report: **supported** (significant in the paper's direction), **contradicted** (significant against it), "
        "**not detected** (neither; with the power the sample had against the paper's effect size), **not "
        "comparable** (stand-in data or a scale outside the claim's scope).",
        "",
        "| experiment | reproduces | scale | " + " | ".join(VERDICTS) + " | report |",
        "|---|---|---|" + "---|" * len(VERDICTS) + "---|",
    ]
    for n in names:
        d = found[n]
        s = d.get("claims_summary", {})
        lines.append(
            f"| `{d.get('experiment', n)}` | {d.get('reference', '')} | {d.get('scale', '')} | "
            + " | ".join(str(s.get(v, 0)) for v in VERDICTS)
            + f" | [{n}/report.md]({n}/report.md) |"
        )
    lines += ["", "## The claims: the paper beside ours", ""]
    for n in names:
        d = found[n]
        lines += [
            f"### `{d.get('experiment', n)}` ({d.get('scale', '')})",
            "",
            "| claim | paper | ours [95% CI] | p (Holm) | power | verdict |",
            "|---|---|---|---|---|---|",
        ]
        for c in d.get("claims", []):
            paper, ours, p, power = _claim_cells(c)
            lines.append(f"| {esc(c['statement'])} | {esc(paper)} | {esc(ours)} | {p} | {power} | **{c['verdict']}** |")
        reasons = [c for c in d.get("claims", []) if c.get("reason")]
        if reasons:
            lines += [""] + [f"- `{c['id']}` ({c['verdict']}): {esc(c['reason'])}" for c in reasons]
        changes = d.get("rule_changes", [])
        if changes:
            lines += ["", f"Rule changes after the data were seen: {len(changes)} (listed in the report)."]
        lines.append("")
        notes = d.get("notes", [])
        if notes:
            lines += ["Notes of this report:", ""] + [f"- {x}" for x in notes] + [""]
    lines += _paper_tables(found, names)
    if others:
        lines += ["## Other reports in this folder", ""] + [f"- [{n}/report.md]({n}/report.md)" for n in others]
        lines.append("")
    if damaged:
        lines += ["## Damaged reports (not indexed)", ""]
        lines += [
            f"- `{n}/results.json`: {esc(why)}; regenerate it with `python -m empirical reproduce`"
            for n, why in damaged
        ]
        lines.append("")
    path = folder / "index.md"
    atomic_write_text(path, "\n".join(lines))
    return path


def _paper_tables(found: dict, names: list[str]) -> list[str]:
    """The reports' tables that hold the papers' numbers next to ours (a column or a row label naming the paper)."""
    esc = lambda x: str(x).replace("|", "\\|").replace("\n", " ")
    lines = ["## The papers' tables beside ours", ""]
    for n in names:
        d = found[n]
        tables = []
        for t in d.get("tables", {}).values():
            cols, rows = t.get("columns", []), t.get("rows", [])
            cells = [[r.get(c) for c in cols] if isinstance(r, dict) else list(r) for r in rows]
            has_paper = any("paper" in str(c).lower() for c in cols) or any(
                r and "paper" in str(r[0]).lower() for r in cells
            )
            if not has_paper:
                continue
            tables += [f"*{esc(t.get('title', ''))}*", "", "| " + " | ".join(esc(c) for c in cols) + " |"]
            tables.append("|" + "---|" * len(cols))
            tables += ["| " + " | ".join(esc("-" if v is None else v) for v in r) + " |" for r in cells]
            tables.append("")
        if tables:
            lines += [f"### `{d.get('experiment', n)}` ({d.get('scale', '')})", "", *tables]
    return lines if len(lines) > 2 else []


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
    r.add_argument(
        "--scale",
        choices=list(SCALES),
        default=None,
        help="smoke (seconds), small (CPU, minutes; the default), medium (full MNIST / Fashion-MNIST, < 1 h on 2 "
        "cores), paper",
    )
    r.add_argument("--quick", action="store_true", help="same as --scale smoke")
    r.add_argument("--backend", choices=list(BACKENDS), default="local")
    r.add_argument(
        "--workers", type=arg_int(1), default=None, help="parallel runs for process/ray (default: CPU count)"
    )
    r.add_argument(
        "--address", default=None, help="Ray cluster address, host:port or 'auto' (default: start Ray locally)"
    )
    r.add_argument("--device", type=arg_device, default=None, help="cpu (default), cuda, cuda:1, mps")
    r.add_argument(
        "--data-dir", type=arg_dir, default=None, help="folder with cifar-10-batches-py (else $MLITHEORY_DATA_DIR)"
    )
    r.add_argument("--out", type=Path, default=None, help="report folder (default out/reproduce/NAME-SCALE)")
    r.add_argument("--runs", type=Path, default=None, help="root of the run folders (default runs/reproduce/SCALE)")
    r.add_argument(
        "--seed", type=arg_int(0), default=0, help="offset added to every run's seed (default 0: the papers')"
    )
    r.add_argument("--force", action="store_true", help="replace a report folder holding another report")
    r.add_argument("--threads", type=arg_int(1), default=None, help="torch threads of this process (local backend)")
    r.add_argument("--no-progress", action="store_true")
    r.add_argument(
        "--budget",
        type=_seconds,
        default=None,
        help="seconds this call may train (then it exits with status 3; call again to resume): for GPU sessions "
        "with a time limit per call",
    )
    r.add_argument(
        "--train-only",
        action="store_true",
        help="train the experiment's runs (resumable) and stop, without the analysis or a report",
    )
    return r


def _seconds(text: str) -> float:
    """A ``--budget``: a finite number of seconds >= 0."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not (math.isfinite(v) and v >= 0):
        raise argparse.ArgumentTypeError(f"expected a finite number of seconds >= 0, got {text!r}")
    return v


def main(args: argparse.Namespace) -> int:
    """Run the ``reproduce`` command for parsed ``args``."""
    if args.name == "list":
        for n in EXPERIMENTS:
            spec = load_experiment(n, "smoke", available={"cifar10": True, "cifar100": True})
            print(f"{n:24s} v{spec.version}  {spec.title}")
        return 0
    if args.name == "index":
        if args.out is None:
            raise UsageError("reproduce index: give --out, the folder holding the report folders (e.g. docs/results)")
        try:
            print(f"wrote {write_index(args.out)}")
        except FileNotFoundError as e:
            raise UsageError(one_line(e)) from None
        return 0
    if args.name != "all" and args.name not in EXPERIMENTS:
        near = difflib.get_close_matches(args.name, EXPERIMENTS, n=1)
        hint = f" (did you mean {near[0]!r}?)" if near else ""
        raise UsageError(f"unknown experiment {args.name!r}{hint}; valid: {', '.join(EXPERIMENTS)}, all, list, index")
    if args.address is not None and args.backend != "ray":
        raise UsageError("--address is the address of a Ray cluster; use it with --backend ray")
    names = list(EXPERIMENTS) if args.name == "all" else [args.name]
    if args.quick and args.scale not in (None, "smoke"):
        raise UsageError(f"--quick runs the smoke scale; it contradicts --scale {args.scale}: give one of them")
    scale = "smoke" if args.quick else (args.scale or "small")
    deadline = None if args.budget is None else time.time() + args.budget
    specs = {}
    for n in names:  # every check before the first run
        try:
            specs[n] = load_experiment(n, scale, data_dir=args.data_dir, seed_offset=args.seed)
        except (TypeError, ValueError) as e:
            raise UsageError(one_line(e)) from None
    writable_dir(args.runs or default_root(scale), "--runs")
    if args.train_only:
        left = failed_runs = 0
        for n in names:
            spec = specs[n]
            root = args.runs if args.runs is not None else default_root(scale)
            kw = {"backend": args.backend, "workers": args.workers, "address": args.address, "device": args.device}
            try:
                summary = _sweep(spec.configs, Path(root), progress=not args.no_progress, deadline=deadline, **kw)
            except SweepLocked as e:
                raise UsageError(one_line(e)) from None
            left += summary.pending
            failed_runs += summary.failed
            print(
                f"{n} ({scale}): {summary.total} runs, {summary.done} trained now, {summary.skipped} already done, "
                f"{summary.failed} failed, {summary.pending} left for the next call, {summary.seconds:.0f} s"
            )
        return 3 if left else (1 if failed_runs else 0)
    if args.name == "all" and args.out is not None:
        outs = {n: args.out / n for n in names}
    else:
        outs = {n: args.out for n in names}
    for n in names:
        folder = outs[n] or default_out(n, scale)
        other = "" if args.force else other_report(folder, n, scale, {c.hash for c in specs[n].configs})
        if other:
            hint = "choose another --out or pass --force to replace it"
            raise UsageError(f"{folder} holds another report ({other}); {hint}")
        writable_dir(folder, "--out")
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    failed = 0
    for n in names:
        t0 = time.perf_counter()
        try:
            rep = _reproduce_call(n, scale, outs, args, deadline)
        except Incomplete as e:
            print(f"{e} (budget {args.budget:g} s; exit status 3)")
            return 3
        except SweepLocked as e:
            raise UsageError(one_line(e)) from None
        folder = outs[n] or default_out(n, scale)
        print(f"\n== {rep.title} ({n}, scale {scale})")
        for note in rep.notes:
            print(f"note: {note}")
        for t in rep.tables:
            print(f"\n{t.title}\n{t.markdown()}")
        print("\nclaims check:")
        for c in rep.claims:
            p = "–" if c.p_value is None else f"{c.p_value:.2g}"
            print(f"  [{c.verdict}] {c.statement} — {c.evidence} (p = {p})")
        print(f"\nwrote {folder}/report.md ({time.perf_counter() - t0:.0f} s)")
        failed += int(rep.numbers.get("environment", {}).get("runs_failed", 0))
    if failed:
        print(f"error: {failed} run(s) failed (see the report's notes); the report leaves them out (exit status 1)")
        return 1
    return 0


def _reproduce_call(n: str, scale: str, outs: dict, args: argparse.Namespace, deadline: float | None) -> Report:
    return reproduce(
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
        budget=None if deadline is None else max(0.0, deadline - time.time()),
    )
