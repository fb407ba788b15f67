"""Sweeps: grids (or lists) of run configurations, executed locally, on a process pool or on Ray; resumable.

A sweep file is TOML:

```text
name = "mnist_mlp"
description = "MLP on MNIST: SGD vs Adam, with and without batch norm"

[base]                      # a RunConfig (see empirical.runs.RunConfig)
dataset = "mnist"
model = "mlp"
model_options = { hidden = [128] }

[grid]                      # cartesian product; dotted keys reach into option tables
optimizer = ["sgd", "adam"]
lr = [0.1, 0.01]
"model_options.batchnorm" = [false, true]

[[runs]]                    # optional list; each entry is combined with every grid point
seed = 0

[scales.smoke]              # overrides of `base` for `--scale smoke` ...
n_train = 500
[scales.smoke.grid]         # ... and replacements of grid entries
lr = [0.1]
```

Each configuration is ``base ⊕ scales.<scale> ⊕ runs[i] ⊕ grid point``. [`run_sweep`][empirical.sweep.run_sweep] runs
every configuration that is not finished in the root folder, with one of three backends:

- ``local``: one after another in this process;
- ``process``: a pool of worker processes on this machine (``spawn``; each worker uses one thread unless
  told otherwise);
- ``ray``: Ray tasks (one CPU each). Ray is started locally (``ray.init(num_cpus=workers)``) unless
  ``address`` names a running cluster, whose nodes must see ``root`` on a shared file system and have this
  package installed.

Re-running a sweep resumes it: finished runs are skipped, failed or killed ones are run again, and the
summary counts done / skipped / failed / diverged. Before anything runs, every run folder is inspected
([`empirical.runs.inspect_folder`][empirical.runs.inspect_folder]): a damaged one (unreadable JSON, a file that no
longer matches its checksum) is quarantined under ``ROOT/.quarantine/`` and redone, and the summary lists where it went.
A lock file ``ROOT/.sweep.lock`` keeps two sweeps from running into the same root at once. With Ray, a task whose
worker or node dies is retried on another node (system failures only; a run that raises is recorded as failed).
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import itertools
import json
import multiprocessing
import os
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from empirical.runs import RunConfig, RunOutcome, execute_run, inspect_folder, is_finished, quarantine, run_folder
from mlitheory.results import Result

try:  # Python 3.11+
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

__all__ = [
    "BACKENDS",
    "SCALES",
    "SweepLocked",
    "SweepSpec",
    "SweepSummary",
    "expand",
    "load_sweep",
    "merge_values",
    "run_sweep",
    "sweep_files",
]

BACKENDS: tuple[str, ...] = ("local", "process", "ray")
_RAY_RETRIES = 3  # re-runs of a Ray task whose worker process or node died
SCALES: tuple[str, ...] = ("smoke", "small", "medium", "paper")
_BUNDLED = Path(__file__).parent / "sweeps"


@dataclasses.dataclass(frozen=True)
class SweepSpec:
    """A sweep file read at one scale: its name, description and the (deduplicated) configurations."""

    name: str
    description: str
    scale: str
    configs: list[RunConfig]
    path: str
    duplicates: int = 0
    notes: tuple = ()


def sweep_files() -> dict[str, Path]:
    """The sweep files shipped with the package (name → path)."""
    return {p.stem: p for p in sorted(_BUNDLED.glob("*.toml"))}


def _set_dotted(d: dict, key: str, value: Any) -> None:
    head, _, rest = key.partition(".")
    if rest:
        sub = d.setdefault(head, {})
        if not isinstance(sub, dict):
            raise ValueError(f"key {key!r}: {head!r} is not a table")
        _set_dotted(sub, rest, value)
    else:
        d[head] = value


def merge_values(base: dict, over: dict) -> dict:
    """``base`` updated by ``over``; option tables merge, dotted keys reach into them."""
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in base.items()}
    for k, v in over.items():
        if "." in k:
            _set_dotted(out, k, v)
        elif isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merge_values(out[k], v)
        else:
            out[k] = v
    return out


def expand(
    base: dict,
    grid: dict[str, Sequence] | None = None,
    runs: Iterable[dict] | None = None,
    overrides: dict | None = None,
) -> list[RunConfig]:
    """All configurations ``base ⊕ run ⊕ grid point ⊕ overrides`` (grid in the order given; later keys vary
    fastest). ``overrides`` (the command line's ``--set``) come last: they win over the grid and the runs.

    Raises:
        ValueError: a grid entry that is not a non-empty list, or an invalid configuration (names the key).
    """
    grid = dict(grid or {})
    for k, v in grid.items():
        if not isinstance(v, (list, tuple)) or not v:
            raise ValueError(f"grid entry {k!r} must be a non-empty list of values, got {v!r}")
    keys = list(grid)
    out = []
    for run in list(runs) if runs else [{}]:
        for values in itertools.product(*(grid[k] for k in keys)):
            cfg = merge_values(merge_values(base, run), dict(zip(keys, values)))
            out.append(RunConfig.from_dict(merge_values(cfg, overrides or {})))
    return out


def load_sweep(path: str | os.PathLike, *, scale: str = "small", overrides: dict | None = None) -> SweepSpec:
    """Read a sweep file (a path, or the name of a bundled sweep) at ``scale``.

    Args:
        path: a TOML file, or a name from [`sweep_files`][empirical.sweep.sweep_files].
        scale: one of [`SCALES`][empirical.sweep.SCALES] (must be defined in the file when it has a ``[scales]`` table).
        overrides: values applied on top of every configuration (e.g. ``{"seed": 3}``), after the grid and the
            ``[[runs]]`` entries: a key also on the grid replaces the grid's values (the sweep then runs that
            one value). Each such replacement is said in ``SweepSpec.notes``.

    Raises:
        FileNotFoundError: no such file or bundled sweep (lists the bundled ones).
        ValueError: an unknown scale or key, or a bad value (names it).
    """
    p = Path(path)
    if not p.is_file():
        bundled = sweep_files()
        if str(path) in bundled:
            p = bundled[str(path)]
        else:
            raise FileNotFoundError(f"no sweep file {path}; bundled sweeps: {', '.join(bundled) or 'none'}")
    try:
        doc = tomllib.loads(p.read_text())
    except tomllib.TOMLDecodeError as e:
        raise ValueError(f"{p} is not valid TOML: {e}") from e
    known = {"name", "description", "base", "grid", "runs", "scales"}
    unknown = sorted(set(doc) - known)
    if unknown:
        raise ValueError(f"{p}: unknown top-level key(s) {unknown}; valid: {sorted(known)}")
    if scale not in SCALES:
        raise ValueError(f"scale={scale!r}; valid: {', '.join(SCALES)}")
    base, grid = dict(doc.get("base", {})), dict(doc.get("grid", {}))
    scales = doc.get("scales", {})
    if scales:
        if scale not in scales:
            raise ValueError(f"{p} defines no scale {scale!r}; it defines: {', '.join(scales)}")
        over = dict(scales[scale])
        grid.update(over.pop("grid", {}))
        base = merge_values(base, over)
    over = dict(overrides or {})
    runs = doc.get("runs")
    notes = _override_notes(over, grid, runs or [])
    try:
        configs = expand(base, grid, runs, over)
    except (TypeError, ValueError) as e:
        raise type(e)(f"{p} (scale {scale}): {e}") from e
    unique: dict[str, RunConfig] = {}
    for c in configs:
        unique.setdefault(c.hash, c)
    return SweepSpec(
        name=str(doc.get("name", p.stem)),
        description=str(doc.get("description", "")),
        scale=scale,
        configs=list(unique.values()),
        path=str(p),
        duplicates=len(configs) - len(unique),
        notes=tuple(notes),
    )


def _override_notes(over: dict, grid: dict, runs: list) -> list[str]:
    """What each override replaces: a grid entry (or part of one), or a key of the ``[[runs]]`` entries."""
    notes = []
    for key, value in over.items():
        for g, values in grid.items():
            if g == key:
                notes.append(f"{key}={value!r} replaces the grid entry {g} = {values!r}: every run uses {value!r}")
            elif g.startswith(key + ".") or key.startswith(g + "."):
                notes.append(f"{key}={value!r} overrides the grid entry {g} = {values!r} where they overlap")
        hits = [r for r in runs if isinstance(r, dict) and _has_key(r, key)]
        if hits:
            notes.append(f"{key}={value!r} replaces {key} in {len(hits)} of the {len(runs)} [[runs]] entries")
    return notes


def _has_key(d: dict, key: str) -> bool:
    head, _, rest = key.partition(".")
    if head not in d:
        return any(k.startswith(key + ".") or key.startswith(k + ".") for k in d)
    return not rest or (isinstance(d[head], dict) and _has_key(d[head], rest)) or not isinstance(d[head], dict)


# ---------------------------------------------------------------------------------------------- running


@dataclasses.dataclass(frozen=True)
class SweepSummary(Result):
    """The outcome of [`run_sweep`][empirical.sweep.run_sweep].

    Attributes:
        root: the runs' folder.
        backend: backend used.
        total: configurations in the sweep.
        done: runs that finished in this call (including diverged and stopped ones).
        skipped: runs already finished before this call.
        failed: runs that raised (or whose worker died); a re-run retries them.
        diverged: runs (done or skipped) whose training loss became non-finite.
        seconds: wall-clock time.
        rows: one dict per run (``hash``, ``status``, ``seconds``, ``error``, ``describe``).
        quarantined: ``(new folder, reason)`` of every damaged run folder moved aside (and redone).
        pending: runs left for a later call because the deadline passed (paused in training, or not started).
    """

    root: str
    backend: str
    total: int
    done: int
    skipped: int
    failed: int
    diverged: int
    seconds: float
    rows: list
    quarantined: tuple = ()
    pending: int = 0

    def summary(self) -> str:
        lines = [
            f"sweep into {self.root} on backend {self.backend}: {self.total} runs — {self.done} done, "
            f"{self.skipped} skipped (already finished), {self.failed} failed, {self.diverged} diverged"
            + (f", {self.pending} left for the next call" if self.pending else "")
            + f"; {self.seconds:.1f} s"
        ]
        for r in self.rows:
            if r["status"] == "failed":
                lines.append(f"  FAILED {r['hash']} ({r['describe']}): {r['error']}")
        for path, reason in self.quarantined:
            lines.append(f"  QUARANTINED (redone) -> {path}: {reason}")
        return "\n".join(lines)


class SweepLocked(RuntimeError):
    """Another live sweep holds the root's lock file."""


class _RootLock:
    """``ROOT/.sweep.lock`` (host, pid): taken over when its process is gone, an error when it is alive.

    The lock file appears with its content in one step (a hard link to a complete temporary file), so a sweep
    killed while taking it never leaves an empty lock. An unreadable lock older than a few seconds (from an
    older version, or a damaged disk) counts as stale.
    """

    _STALE_S = 5.0

    def __init__(self, root: Path):
        self.path = root / ".sweep.lock"

    def _create(self, me: str) -> bool:
        fd, tmp = tempfile.mkstemp(prefix=".sweep.lock.", suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w") as f:
                f.write(me)
            try:
                os.link(tmp, self.path)
            except FileExistsError:
                return False
            except OSError:  # no hard links on this file system: exclusive create
                try:
                    fd2 = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
                except FileExistsError:
                    return False
                with os.fdopen(fd2, "w") as f:
                    f.write(me)
            return True
        finally:
            os.unlink(tmp)

    def __enter__(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        me = f"{socket.gethostname()} {os.getpid()}"
        for _ in range(3):
            if self._create(me):
                return self
            try:
                text = self.path.read_bytes().decode("utf-8", "replace").strip()
                age = time.time() - self.path.stat().st_mtime
            except FileNotFoundError:
                continue
            host, _, pid = text.partition(" ")
            readable = bool(host) and pid.isdigit()
            if (readable and host == socket.gethostname() and not _pid_alive(pid)) or (
                not readable and age > self._STALE_S
            ):
                self.path.unlink(missing_ok=True)
                continue
            held = f"process {pid} on {host}" if readable else "a sweep that is starting"
            raise SweepLocked(
                f"{self.path} is held by {held}: another sweep is running into this root. "
                "Wait for it, or delete the lock file if that process is gone."
            )
        raise SweepLocked(f"could not take {self.path}")

    def __exit__(self, *exc):
        self.path.unlink(missing_ok=True)


def _pid_alive(pid: str) -> bool:
    try:
        os.kill(int(pid), 0)
    except (OSError, ValueError):
        return False
    return True


def _worker_init(threads: int, path: list[str], parent: int) -> None:
    def watchdog() -> None:  # a worker whose sweep process died (killed) stops too, leaving a run to redo
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    if os.getppid() != parent:
        os._exit(1)
    sys.path[:] = list(dict.fromkeys([*path, *sys.path]))
    import torch

    torch.set_num_threads(threads)

    threading.Thread(target=watchdog, daemon=True).start()


def _execute_dict(
    config: dict,
    root: str,
    device: str | None,
    threads: int | None,
    deadline: float | None = None,
    start_by: float | None = None,
) -> RunOutcome:
    return execute_run(config, root, device=device, threads=threads, deadline=deadline, start_by=start_by)


def run_sweep(
    configs: Sequence[RunConfig],
    root: str | os.PathLike,
    *,
    backend: str = "local",
    workers: int | None = None,
    address: str | None = None,
    device: str | None = None,
    threads: int | None = None,
    progress: bool = True,
    deadline: float | None = None,
) -> SweepSummary:
    """Run every configuration not yet finished under ``root``.

    Args:
        configs: the configurations (duplicates by hash are run once).
        root: folder of run folders.
        backend: one of [`BACKENDS`][empirical.sweep.BACKENDS].
        workers: parallel runs for ``process``/``ray`` (default: the CPU count; Ray started locally gets
            this many CPUs).
        address: Ray cluster address (``"auto"`` or ``host:port``); default starts Ray locally.
        device: device of every run (e.g. ``"cuda"``).
        threads: torch threads per run (default: 1 for ``local`` and ``ray``, cores ÷ workers for ``process``).
            Small models run fastest on one thread, and on a busy machine extra threads mostly contend: the
            ``mnist_mlp`` small sweep took 54 s on one thread and 245 s on two on a loaded 2-core machine.
        progress: show a progress bar over runs (and the training bar with the local backend).
        deadline: a ``time.time()`` value: runs not started by then stay ``pending`` (except the first one, or the
            first ``workers``, so that every call makes progress) and training that passes it pauses after its
            epoch, so that a call ends soon after the deadline; the next call resumes (see
            [`empirical.runs.execute_run`][empirical.runs.execute_run]). ``summary.pending`` counts what is left.

    Returns:
        A [`SweepSummary`][empirical.sweep.SweepSummary]. Failed runs do not stop the sweep; they are counted and
        listed.

    Raises:
        ValueError: unknown backend.
        ConfigMismatch: a run folder holds a different configuration (checked before any run starts).
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; valid: {', '.join(BACKENDS)}")
    root = Path(root)
    t0 = time.perf_counter()
    unique: dict[str, RunConfig] = {}
    for c in configs:
        unique.setdefault(c.hash, c)
    rows: dict[str, dict] = {}
    todo: list[RunConfig] = []
    workers = max(1, int(workers or os.cpu_count() or 1))
    moved: list[tuple[str, str]] = []
    with _RootLock(root):
        # every folder is checked before any run starts (a ConfigMismatch is raised here, before any move)
        reasons = {h: inspect_folder(run_folder(root, c), c) for h, c in unique.items()}
        for h, c in unique.items():
            folder = run_folder(root, c)
            if reasons[h]:
                moved.append((str(quarantine(folder, reasons[h])), reasons[h]))
            if is_finished(folder):
                status = json.loads((folder / "metrics.json").read_bytes().decode("utf-8")).get("status", "")
                rows[h] = _row(c, RunOutcome(c.hash, str(folder), "skipped", 0.0, result=status))
            else:
                todo.append(c)
        if todo:
            runner = {"local": _run_local, "process": _run_process, "ray": _run_ray}[backend]
            kw = dict(
                workers=workers, address=address, device=device, threads=threads, progress=progress, deadline=deadline
            )
            for c, outcome in runner(todo, root, **kw):
                rows[c.hash] = _row(c, outcome)
    ordered = [rows[h] for h in unique]
    moved += [(r["quarantined"], "damaged; found by its worker") for r in ordered if r["quarantined"]]
    count = lambda s: sum(r["status"] == s for r in ordered)
    return SweepSummary(
        root=str(root),
        backend=backend,
        total=len(ordered),
        done=sum(r["status"] in ("finished", "diverged", "stopped") for r in ordered),
        skipped=count("skipped"),
        failed=count("failed"),
        diverged=sum("diverged" in (r["status"], r["result"]) for r in ordered),
        seconds=time.perf_counter() - t0,
        rows=ordered,
        quarantined=tuple(moved),
        pending=sum(r["status"] in ("paused", "pending") for r in ordered),
    )


def _row(config: RunConfig, o: RunOutcome) -> dict:
    return {
        "hash": o.hash,
        "status": o.status,
        "result": o.result,
        "seconds": o.seconds,
        "error": o.error,
        "describe": config.describe(),
        "quarantined": o.quarantined,
    }


def _bar(total: int, progress: bool, desc: str):
    return tqdm(total=total, disable=not progress, desc=desc, unit="run", dynamic_ncols=True)


def _run_local(todo, root, *, workers, address, device, threads, progress, deadline=None):
    with _bar(len(todo), progress, "sweep (local)") as bar:
        for i, c in enumerate(todo):  # the first run of a call always starts: every call makes progress
            start_by = None if i == 0 else deadline
            kw = dict(device=device, progress=progress, threads=threads or 1, deadline=deadline, start_by=start_by)
            yield c, execute_run(c, root, **kw)
            bar.update(1)


def _run_process(todo, root, *, workers, address, device, threads, progress, deadline=None):
    threads = threads or max(1, (os.cpu_count() or 1) // workers)
    ctx = multiprocessing.get_context("spawn")
    pool = cf.ProcessPoolExecutor(
        max_workers=min(workers, len(todo)),
        mp_context=ctx,
        initializer=_worker_init,
        initargs=(threads, sys.path, os.getpid()),
    )
    with pool, _bar(len(todo), progress, f"sweep (process ×{min(workers, len(todo))})") as bar:
        futures = {
            pool.submit(
                _execute_dict, c.to_dict(), str(root), device, threads, deadline, None if i < workers else deadline
            ): c
            for i, c in enumerate(todo)
        }
        for fut in cf.as_completed(futures):
            c = futures[fut]
            try:
                outcome = fut.result()
            except Exception as e:  # a worker died (killed, out of memory): the run is retried next time
                outcome = RunOutcome(c.hash, str(run_folder(root, c)), "failed", 0.0, error=f"{type(e).__name__}: {e}")
            bar.update(1)
            yield c, outcome


def _run_ray(todo, root, *, workers, address, device, threads, progress, deadline=None):
    try:
        import ray
    except ImportError as e:
        raise ImportError(
            "the ray backend needs Ray: pip install 'ray>=2.9' (or the project's extra: pip install -e '.[ray]')"
        ) from e
    started = not ray.is_initialized()
    if started:
        env = {"PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        if address is None:
            ray.init(
                num_cpus=workers,
                include_dashboard=False,
                log_to_driver=False,
                runtime_env={"env_vars": env},
                configure_logging=False,
            )
        else:
            ray.init(address=address, log_to_driver=False, runtime_env={"env_vars": env}, configure_logging=False)
    try:
        # a worker or node that dies (system failure) makes Ray run the task again elsewhere; a run that raises
        # is caught by execute_run and comes back as a failed outcome, so it is not retried here
        task = ray.remote(num_cpus=1, max_retries=_RAY_RETRIES)(_execute_dict)
        root_s = str(Path(root).resolve())
        refs = {
            task.remote(c.to_dict(), root_s, device, threads or 1, deadline, None if i < workers else deadline): c
            for i, c in enumerate(todo)
        }
        pending = list(refs)
        with _bar(len(todo), progress, "sweep (ray)") as bar:
            while pending:
                ready, pending = ray.wait(pending, num_returns=1)
                for ref in ready:
                    c = refs[ref]
                    try:
                        outcome = ray.get(ref)
                    except Exception as e:  # worker died or task error outside execute_run
                        err = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
                        outcome = RunOutcome(c.hash, str(run_folder(root, c)), "failed", 0.0, error=err)
                    bar.update(1)
                    yield c, outcome
    finally:
        if started:
            ray.shutdown()
