"""A run: one configuration → one folder keyed by the configuration's hash, written atomically, never redone.

A [`RunConfig`][empirical.runs.RunConfig] holds everything that determines a run's numbers (data, model, training,
measurement). [`execute_run`][empirical.runs.execute_run] trains it and measures the linear interpolation from
initialisation to the final state, writing into ``ROOT/<hash>/``:

```text
config.json        the full configuration and its hash (written first)
status.json        running / finished / diverged / stopped / failed (with the error), host, pid, times
train_log.json     one entry per epoch (loss, accuracy, distance from init, ...), rewritten each epoch
checkpoints/       init.pt, epoch_0003.pt, step_0000120.pt, final.pt (state dicts; epoch and step numbers zero-padded)
curve.json, .npz   the mlitheory.InterpolationCurve of the path θ_0 → θ_T (loss, accuracy, error), saved by
                   Result.save; read back as that object by load_run
gauss_length.json, .npz   the mlitheory.LogitGaussLength of the logit path (when measured)
metrics.json       the summary: training outcome and the measures (min Δ, Gauss length, distances);
                   written last — its presence marks the run as done
```

Every file is written atomically (temporary file + rename). A run whose ``metrics.json`` exists is finished:
it is skipped, never recomputed or overwritten. A run without it that was killed or paused after an epoch continues
from its training state (``checkpoints/resume.pt``, written after every epoch, removed when the run finishes), with
the same numbers as an uninterrupted run; one without that state (killed in its first epoch, or failed) is redone
from scratch.
If the folder's ``config.json`` differs from the configuration being run,
[`ConfigMismatch`][empirical.runs.ConfigMismatch] is raised.

``metrics.json`` records the SHA-256 of every other file of the run (checkpoints, curve, log). Before a run is
skipped or read ([`inspect_folder`][empirical.runs.inspect_folder], on resume and in ``collect``), its JSON files must
parse and every checksum must match. A damaged run (a truncated, empty or garbled file, a checkpoint whose bytes
changed) is *quarantined*: the folder moves to ``ROOT/.quarantine/<hash>-<time>/`` with a ``QUARANTINED.txt`` saying
why, and the run is redone; nothing is deleted.

The hash covers the fields that differ from their defaults (plus [`CONFIG_VERSION`][empirical.runs.CONFIG_VERSION]), so
adding a new field with a default keeps existing run folders valid.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import math
import os
import platform
import shutil
import socket
import time
import traceback
import types
import typing
from pathlib import Path
from typing import Any

import torch

from empirical import measure
from empirical.data import canonical_name, dataset_options, load_dataset
from empirical.models import build_model, model_options, model_task
from empirical.train import (
    AUGMENTATIONS,
    OPTIMIZERS,
    SCHEDULES,
    TrainResult,
    _load_resume,
    load_checkpoint,
    loss_function,
    train,
)
from mlitheory import InterpolationCurve, LogitGaussLength, weight_distance
from mlitheory.results import atomic_write_text, jsonable

__all__ = [
    "CONFIG_VERSION",
    "ConfigMismatch",
    "CorruptRun",
    "RunConfig",
    "RunOutcome",
    "RunRecord",
    "execute_run",
    "inspect_folder",
    "load_run",
    "quarantine",
    "run_folder",
]

#: bump when the meaning of a field changes; part of every hash. 2: every measurement by mlitheory (curves through
#: ``interpolate``, the Gauss length by its adaptive quadrature with frozen batch-norm statistics), the curve and the
#: Gauss length saved as mlitheory results
CONFIG_VERSION = 2
#: the training state kept after every epoch under ``checkpoints/`` (removed when the run finishes)
RESUME_FILE = "resume.pt"
_EVAL_BATCH = 256  # larger batches slow convolutions down on CPU (cache)


class ConfigMismatch(ValueError):
    """A run folder's stored ``config.json`` differs from the configuration that hashes to it."""


class CorruptRun(ValueError):
    """A run folder's files are damaged: unreadable JSON, or a file whose checksum does not match."""


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """Everything that determines a run's numbers. The execution device is not part of it.

    Data: ``dataset`` (see [`empirical.data.DATASETS`][empirical.data.DATASETS]), ``n_train``/``n_test`` (stratified
    subsamples, ``None``: all), ``normalize`` (``"channel"`` or ``"none"``), ``data_seed``, ``data_options`` (e.g.
    ``{"pad_to": 32, "channels": 3}``, Gaussian ``dim``/``num_classes``/``separation``).

    Model: ``model`` (see [`empirical.models.MODELS`][empirical.models.MODELS]), ``model_options`` (e.g. ``{"hidden":
    [512], "batchnorm": true}``), initialised from ``seed``.

    Training (see [`empirical.train.train`][empirical.train.train]): ``optimizer``, ``lr``, ``momentum``, ``betas``,
    ``eps``, ``weight_decay``, ``epochs``, ``batch_size`` (``None``: full batch), ``schedule``, ``milestones``,
    ``gamma``, ``warmup_epochs``, ``switch_epoch``/``switch_optimizer``/``switch_lr``, ``checkpoint_epochs``,
    ``checkpoint_steps``, ``stop_if`` (``[epoch, loss]``), ``augment`` (``"none"`` or ``"crop-flip"``), ``amp``,
    ``seed`` (initialisation, batch order, augmentation).

    Measurement: ``alphas`` (points on [0, 1]), ``bn`` (batch-norm policy), ``measure_split``
    (``"train"``/``"test"``) and ``n_measure`` (examples for the loss curve, ``None``: the whole split),
    ``compute_gauss_length`` (whether to measure it), ``n_gauss`` examples of ``gauss_split`` for it,
    in float64 to absolute error ``gauss_tol`` per example within ``gauss_max_evaluations`` values of α;
    batch-norm statistics re-estimated at each α on the curve's examples (the first ``n_gauss_bn`` of them,
    rounded up to whole evaluation batches, for the Gauss length, whose quadrature visits many more α) and, for
    the Gauss length, held constant while differentiating (Lucas et al.'s convention).

    Warm start (e.g. Vlaar & Frankle's "all but one layer re-initialised"): ``init_from`` names a checkpoint of
    another run in the same root, ``"<hash>"`` (its ``final.pt``) or ``"<hash>/<checkpoint>"``; the model
    starts from it, except the state-dict entries under the key prefixes ``init_reset``, which keep the fresh
    initialisation drawn from ``seed``.
    """

    dataset: str = "digits"
    n_train: int | None = None
    n_test: int | None = None
    normalize: str = "channel"
    data_seed: int = 0
    data_options: dict = dataclasses.field(default_factory=dict)
    model: str = "mlp"
    model_options: dict = dataclasses.field(default_factory=dict)
    optimizer: str = "sgd"
    lr: float = 0.1
    momentum: float = 0.9
    betas: tuple = (0.9, 0.999)
    eps: float = 1e-8
    weight_decay: float = 0.0
    epochs: int = 1
    batch_size: int | None = 128
    schedule: str = "constant"
    milestones: tuple = ()
    gamma: float = 0.1
    warmup_epochs: float = 0.0
    switch_epoch: float | None = None
    switch_optimizer: str | None = None
    switch_lr: float | None = None
    checkpoint_epochs: tuple = ()
    checkpoint_steps: tuple = ()
    stop_if: tuple | None = None
    amp: bool = False
    seed: int = 0
    alphas: int = 50
    bn: str = "recompute"
    measure_split: str = "train"
    n_measure: int | None = None
    compute_gauss_length: bool = True
    n_gauss: int = 100
    gauss_split: str = "train"
    gauss_tol: float = 1e-5
    gauss_max_evaluations: int = 1000
    n_gauss_bn: int | None = 1000
    augment: str = "none"
    init_from: str | None = None
    init_reset: tuple = ()

    def __post_init__(self) -> None:
        canonical_name(self.dataset)
        model_task(self.model)
        valid = model_options(self.model)
        bad = sorted(set(self.model_options) - set(valid))
        if bad:
            raise ValueError(f"model_options {bad} unknown for model {self.model!r}; valid: {', '.join(valid)}")
        valid = ["pad_to", "channels", *dataset_options(self.dataset)]
        bad = sorted(set(self.data_options) - set(valid))
        if bad:
            raise ValueError(f"data_options {bad} unknown for data set {self.dataset!r}; valid: {', '.join(valid)}")
        for key, value, valid in (
            ("optimizer", self.optimizer, OPTIMIZERS),
            ("switch_optimizer", self.switch_optimizer, (None, *OPTIMIZERS)),
            ("schedule", self.schedule, SCHEDULES),
            ("bn", self.bn, ("recompute", "interpolate", "batch", "none")),
            ("measure_split", self.measure_split, ("train", "test")),
            ("gauss_split", self.gauss_split, ("train", "test")),
            ("normalize", self.normalize, ("channel", "none")),
            ("augment", self.augment, AUGMENTATIONS),
        ):
            if value not in valid:
                raise ValueError(f"{key}={value!r}; valid: {', '.join(map(str, valid))}")
        if self.switch_epoch is not None and self.switch_optimizer is None:
            raise ValueError("switch_epoch is set but switch_optimizer is not")
        if self.alphas < 2:
            raise ValueError(f"alphas={self.alphas}; use at least 2")
        self._check_ranges()
        if self.init_reset and self.init_from is None:
            raise ValueError("init_reset is set but init_from is not; name the run to warm-start from")

    def _check_ranges(self) -> None:
        """Numbers in their ranges, each error naming the key (checked before any work)."""

        def bad(key: str, why: str) -> None:
            raise ValueError(f"{key}={getattr(self, key)!r}; {why}")

        def positive(key: str, *, optional: bool = False) -> None:
            v = getattr(self, key)
            if optional and v is None:
                return
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                bad(key, "use a finite number > 0")

        def nonnegative(key: str) -> None:
            v = getattr(self, key)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
                bad(key, "use a finite number >= 0")

        def count(key: str, minimum: int, *, optional: bool = False) -> None:
            v = getattr(self, key)
            if optional and v is None:
                return
            if not isinstance(v, int) or v < minimum:
                bad(key, f"use an integer >= {minimum}" + (" (or leave it out for all)" if optional else ""))

        for key in ("lr", "eps", "gamma", "gauss_tol"):
            positive(key)
        positive("switch_lr", optional=True)
        for key in ("weight_decay", "warmup_epochs"):
            nonnegative(key)
        if self.switch_epoch is not None:
            nonnegative("switch_epoch")
        if not (0.0 <= self.momentum < 1.0):
            bad("momentum", "use a value in [0, 1)")
        if len(self.betas) != 2 or not all(isinstance(b, (int, float)) and 0.0 <= b < 1.0 for b in self.betas):
            bad("betas", "use two values in [0, 1), e.g. [0.9, 0.999]")
        for key in ("epochs", "seed", "data_seed"):
            count(key, 0)
        for key in ("n_train", "n_test", "n_measure", "n_gauss_bn", "batch_size"):
            count(key, 1, optional=True)
        count("n_gauss", 1)
        count("gauss_max_evaluations", 80)
        for key in ("milestones", "checkpoint_epochs", "checkpoint_steps"):
            if any(not isinstance(v, (int, float)) or v < 0 for v in getattr(self, key)):
                bad(key, "use numbers >= 0")
        if self.stop_if is not None and len(self.stop_if) not in (0, 2):
            bad("stop_if", "use [epoch, loss] (or leave it out)")

    # -------------------------------------------------------------- (de)serialisation

    @classmethod
    def fields(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> RunConfig:
        """Build from a plain dict (e.g. TOML), coercing types; unknown keys raise with the valid ones listed."""
        valid = cls.fields()
        unknown = [k for k in values if k not in valid]
        if unknown:
            hints = {k: difflib.get_close_matches(k, valid, n=1) for k in unknown}
            said = ", ".join(f"{k!r}" + (f" (did you mean {h[0]!r}?)" if h else "") for k, h in hints.items())
            raise ValueError(f"unknown config key(s) {said}; valid keys: {', '.join(valid)}")
        hints = typing.get_type_hints(cls)
        return cls(**{k: _coerce(k, v, hints[k]) for k, v in values.items()})

    def to_dict(self) -> dict[str, Any]:
        """All fields as JSON-ready values (tuples become lists)."""
        return {f: jsonable(getattr(self, f), sort_keys=True) for f in self.fields()}

    def non_default(self) -> dict[str, Any]:
        """The fields that differ from their defaults (what the hash covers)."""
        default = RunConfig().to_dict()
        return {k: v for k, v in self.to_dict().items() if v != default[k]}

    @property
    def hash(self) -> str:
        """16 hex digits of the SHA-256 of the canonical JSON of `non_default` and the config version."""
        payload = json.dumps({"v": CONFIG_VERSION, **self.non_default()}, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    @property
    def task(self) -> str:
        return model_task(self.model)

    def describe(self) -> str:
        """A one-line description: the non-default fields."""
        return ", ".join(f"{k}={v}" for k, v in self.non_default().items()) or "defaults"


def _coerce(key: str, value: Any, hint: Any) -> Any:
    """Coerce a TOML/JSON value to the field's type (int→float for floats, list→tuple for tuples)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        hint = next(a for a in args if a is not type(None))
    try:
        if hint is float and isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if hint is int and isinstance(value, (int, float)) and not isinstance(value, bool) and value == int(value):
            return int(value)
        if hint is tuple and isinstance(value, (list, tuple)):
            return tuple(tuple(x) if isinstance(x, list) else x for x in value)
        if hint is bool and isinstance(value, bool):
            return value
        if hint is str and isinstance(value, str):
            return value
        if hint is dict and isinstance(value, dict):
            return dict(value)
    except (TypeError, ValueError):
        pass
    raise TypeError(
        f"config key {key!r}: {value!r} ({type(value).__name__}) is not a valid {getattr(hint, '__name__', hint)}"
    )


# ---------------------------------------------------------------------------------------------- folders


def run_folder(root: str | os.PathLike, config: RunConfig) -> Path:
    """``root/<hash>``."""
    return Path(root) / config.hash


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CorruptRun(f"{path} is not valid JSON ({type(e).__name__}: {e}); the file is corrupt") from e


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


_OWN = ("config.json", "status.json", "metrics.json")


def _checksums(folder: Path) -> dict[str, str]:
    """SHA-256 of every file of the run except its three bookkeeping JSON files and the training state of a paused
    run (temporary files left out)."""
    out = {}
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder).as_posix()
        if p.is_file() and rel not in _OWN and rel != f"checkpoints/{RESUME_FILE}" and not p.name.endswith(".tmp"):
            out[rel] = _sha256(p)
    return out


def inspect_folder(folder: str | os.PathLike, config: RunConfig | None = None) -> str:
    """Why the run folder is damaged, or ``""`` when it is intact (or absent, or an unfinished run).

    Checks: ``config.json``, ``status.json`` and ``metrics.json`` parse as JSON objects; the stored
    configuration is readable (and, with ``config``, is that configuration: otherwise
    [`ConfigMismatch`][empirical.runs.ConfigMismatch] is raised, since that is a conflict, not damage); ``metrics.json``
    names this run's hash and status, and every checksum it lists matches the file.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return ""
    try:
        parsed = {name: _read_json(folder / name) for name in _OWN if (folder / name).exists()}
    except CorruptRun as e:
        return str(e)
    except OSError as e:
        return f"cannot read {folder}: {e}"
    for name, value in parsed.items():
        if not isinstance(value, dict):
            return f"{folder / name} holds a {type(value).__name__}, not a JSON object"
    stored = parsed.get("config.json")
    if stored is None:
        return f"{folder} has files but no config.json" if parsed or any(folder.iterdir()) else ""
    try:
        other = RunConfig.from_dict(stored["config"])
    except (KeyError, TypeError, ValueError) as e:
        return f"{folder / 'config.json'} does not hold a readable run configuration ({type(e).__name__}: {e})"
    if config is not None:
        _compare(folder / "config.json", other, config)
    metrics = parsed.get("metrics.json")
    if metrics is None:
        return ""
    if metrics.get("hash") != other.hash or not isinstance(metrics.get("status"), str):
        return f"{folder / 'metrics.json'} does not belong to run {other.hash} (hash {metrics.get('hash')!r})"
    sums = metrics.get("checksums")
    if sums is None:  # written before checksums were recorded: nothing to verify
        return ""
    if not isinstance(sums, dict):
        return f"{folder / 'metrics.json'}: checksums is not a table"
    for rel, digest in sums.items():
        p = folder / rel
        if not p.is_file():
            return f"{p} is missing (listed in metrics.json)"
        if _sha256(p) != digest:
            return f"{p} does not match its checksum in metrics.json: the file changed after the run finished"
    return ""


def quarantine(folder: str | os.PathLike, reason: str) -> Path:
    """Move a damaged run folder to ``ROOT/.quarantine/<hash>-<time>[-n]/`` with ``QUARANTINED.txt``; return
    the new path. Nothing is deleted."""
    folder = Path(folder)
    dest_root = folder.parent / ".quarantine"
    dest_root.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    dest = dest_root / f"{folder.name}-{stamp}"
    n = 1
    while dest.exists():
        n += 1
        dest = dest_root / f"{folder.name}-{stamp}-{n}"
    os.replace(folder, dest)
    atomic_write_text(dest / "QUARANTINED.txt", f"moved from {folder} at {stamp} UTC\nreason: {reason}\n")
    return dest


def _write_json(path: Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=1, default=_json_default, allow_nan=True))


def _json_default(o: Any) -> Any:
    if isinstance(o, torch.Tensor):
        return o.tolist()
    if hasattr(o, "tolist"):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def check_folder(folder: Path, config: RunConfig) -> None:
    """Raise [`ConfigMismatch`][empirical.runs.ConfigMismatch] if ``folder/config.json`` holds a different
    configuration, and
    [`CorruptRun`][empirical.runs.CorruptRun] if the folder is damaged (see
    [`inspect_folder`][empirical.runs.inspect_folder])."""
    reason = inspect_folder(folder, config)
    if reason:
        raise CorruptRun(reason)


def _compare(path: Path, other: RunConfig, config: RunConfig) -> None:
    if other.non_default() != config.non_default():
        a, b = other.to_dict(), config.to_dict()
        diff = "; ".join(f"{k}: stored {a[k]!r}, this run {b[k]!r}" for k in a if a[k] != b[k])
        raise ConfigMismatch(
            f"{path} holds a different configuration for hash {config.hash} ({diff}). Either the folder was edited "
            "or the configuration format changed: move the folder away, or run into another root."
        )


def is_finished(folder: Path) -> bool:
    return (folder / "metrics.json").is_file()


@dataclasses.dataclass(frozen=True)
class RunOutcome:
    """What [`execute_run`][empirical.runs.execute_run] did: ``status`` is finished/diverged/stopped (done now),
    ``skipped`` (was already done; ``result`` holds its stored status), ``failed`` (``error`` says why), ``paused`` (its
    deadline passed during training: the state after the last epoch is kept and the next call resumes) or ``pending``
    (its
    deadline had passed before it started; nothing was touched)."""

    hash: str
    folder: str
    status: str
    seconds: float
    result: str = ""
    error: str = ""
    quarantined: str = ""


def execute_run(
    config: RunConfig | dict,
    root: str | os.PathLike,
    *,
    device: str | torch.device | None = None,
    progress: bool = False,
    threads: int | None = None,
    deadline: float | None = None,
    start_by: float | None = None,
) -> RunOutcome:
    """Run ``config`` into ``root/<hash>`` unless it is finished there; never raises for a failed run.

    Training keeps its state after every epoch (``checkpoints/resume.pt``), so a run that was killed or paused
    continues from its last completed epoch, with the same numbers as an uninterrupted run.

    Args:
        config: the configuration (or its dict).
        root: folder of run folders.
        device: training and measurement device (default CPU).
        progress: show the training progress bar.
        threads: ``torch.set_num_threads`` for this run (workers of a pool use 1).
        deadline: a ``time.time()`` value: training that passes it pauses after the current epoch (``paused``),
            to be resumed by a later call.
        start_by: a ``time.time()`` value: past it, the run is not started and is returned ``pending``.

    Returns:
        A [`RunOutcome`][empirical.runs.RunOutcome]. Exceptions inside the run are caught, recorded in ``status.json``
        and returned as ``status="failed"``.

    A damaged folder (see [`inspect_folder`][empirical.runs.inspect_folder]) is quarantined first and the run redone;
    the outcome's ``quarantined`` says where the folder went.

    Raises:
        ConfigMismatch: the run folder holds a different configuration.
    """
    if isinstance(config, dict):
        config = RunConfig.from_dict(config)
    if threads is not None:
        torch.set_num_threads(threads)
    folder = run_folder(root, config)
    t0 = time.perf_counter()
    moved = ""
    reason = inspect_folder(folder, config)
    if reason:
        moved = str(quarantine(folder, reason))
    if is_finished(folder):
        stored = _read_json(folder / "metrics.json")
        return RunOutcome(config.hash, str(folder), "skipped", 0.0, result=stored.get("status", ""))
    if start_by is not None and time.time() > start_by:
        return RunOutcome(config.hash, str(folder), "pending", 0.0)
    if (folder / "status.json").exists():
        status = _read_json(folder / "status.json")
        same_host = status.get("host") == socket.gethostname()
        if status.get("state") == "running" and status.get("pid") != os.getpid() and same_host and _alive(status):
            err = (
                f"run {config.hash} is in progress in process {status.get('pid')} ({folder / 'status.json'}); "
                "not started twice. If that process is not this run, delete the status file and rerun."
            )
            return RunOutcome(config.hash, str(folder), "failed", 0.0, error=err)
    if (folder / "checkpoints" / RESUME_FILE).is_file():  # a torn or foreign training state: aside, and redo
        try:
            _load_resume(folder / "checkpoints" / RESUME_FILE)
        except ValueError as e:
            moved = str(quarantine(folder, " ".join(str(e).split()).replace("; delete it to restart the run", "")))
    folder.mkdir(parents=True, exist_ok=True)
    resuming = (folder / "checkpoints" / RESUME_FILE).is_file()
    stale = ("curve.json", "curve.npz", "gauss_length.json", "gauss_length.npz")
    for name in stale if resuming else ("checkpoints", "train_log.json", *stale):
        p = folder / name
        if p.is_dir():
            shutil.rmtree(p)
        elif p.exists():
            p.unlink()
    _write_json(
        folder / "config.json", {"hash": config.hash, "config_version": CONFIG_VERSION, "config": config.to_dict()}
    )
    status = {"state": "running", "host": socket.gethostname(), "pid": os.getpid(), "started": time.time()}
    _write_json(folder / "status.json", status)
    try:
        metrics = _run(config, folder, device=device, progress=progress, deadline=deadline)
    except Exception as e:
        err = f"{type(e).__name__}: {e}"
        _write_json(
            folder / "status.json", {**status, "state": "failed", "error": err, "traceback": traceback.format_exc()}
        )
        return RunOutcome(config.hash, str(folder), "failed", time.perf_counter() - t0, error=err, quarantined=moved)
    if metrics["status"] == "paused":
        _write_json(folder / "status.json", {**status, "state": "paused", "paused": time.time()})
        return RunOutcome(config.hash, str(folder), "paused", time.perf_counter() - t0, quarantined=moved)
    metrics["checksums"] = _checksums(folder)  # the training state (resume.pt) is left out: it is removed below
    _write_json(folder / "metrics.json", metrics)  # last: its presence marks the run as done
    _write_json(folder / "status.json", {**status, "state": metrics["status"], "finished": time.time()})
    (folder / "checkpoints" / RESUME_FILE).unlink(missing_ok=True)
    seconds = time.perf_counter() - t0
    return RunOutcome(config.hash, str(folder), metrics["status"], seconds, result=metrics["status"], quarantined=moved)


def _targets(config: RunConfig, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return x.flatten(1) if config.task == "reconstruction" else y


def _subset(x: torch.Tensor, y: torch.Tensor, n: int | None, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    if n is None or n >= len(x):
        return x, y
    idx = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))[:n].sort().values
    return x[idx], y[idx]


def _run(config: RunConfig, folder: Path, *, device, progress, deadline=None) -> dict:
    device = torch.device(device if device is not None else "cpu")
    ds = load_dataset(
        config.dataset,
        n_train=config.n_train,
        n_test=config.n_test,
        seed=config.data_seed,
        normalize=config.normalize,
        **config.data_options,
    )
    model = build_model(
        config.model, input_shape=ds.input_shape, num_classes=ds.num_classes, seed=config.seed, **config.model_options
    )
    if config.init_from is not None:
        _warm_start(model, config, folder.parent)
    loss_name = "sse" if config.task == "reconstruction" else "cross_entropy"
    log_path = folder / "train_log.json"
    log: list[dict] = []

    last_write = [-math.inf]

    def on_epoch(entry: dict) -> None:  # the log on disk shows progress; rewritten at most once a second
        log.append(entry)
        if time.perf_counter() - last_write[0] >= 1.0:
            _write_json(log_path, log)
            last_write[0] = time.perf_counter()

    t_train = time.perf_counter()
    result: TrainResult = train(
        model,
        (ds.x_train, _targets(config, ds.x_train, ds.y_train)),
        optimizer=config.optimizer,
        lr=config.lr,
        momentum=config.momentum,
        betas=config.betas,
        eps=config.eps,
        weight_decay=config.weight_decay,
        epochs=config.epochs,
        batch_size=config.batch_size,
        schedule=config.schedule,
        milestones=config.milestones,
        gamma=config.gamma,
        warmup_epochs=config.warmup_epochs,
        switch_epoch=config.switch_epoch,
        switch_optimizer=config.switch_optimizer,
        switch_lr=config.switch_lr,
        loss=loss_name,
        seed=config.seed,
        checkpoint_dir=folder / "checkpoints",
        checkpoint_epochs=config.checkpoint_epochs,
        checkpoint_steps=config.checkpoint_steps,
        eval_data=(ds.x_test, _targets(config, ds.x_test, ds.y_test)),
        stop_if=tuple(config.stop_if) if config.stop_if else None,
        augment=config.augment,
        device=device,
        amp=config.amp,
        progress=progress,
        on_epoch=on_epoch,
        resume_path=folder / "checkpoints" / RESUME_FILE,
        deadline=deadline,
    )
    if result.status == "paused":
        _write_json(log_path, result.log)
        return {"status": "paused"}
    train_s = time.perf_counter() - t_train
    _write_json(log_path, result.log)
    last = result.log[-1] if result.log else {}
    metrics: dict[str, Any] = {
        "status": result.status,
        "hash": config.hash,
        "train": {
            "status": result.status,
            "epochs": result.epochs,
            "steps": result.steps,
            "final_loss": result.final_loss,
            "final_accuracy": last.get("train_accuracy", math.nan),
            "test_loss": last.get("test_loss", math.nan),
            "test_accuracy": last.get("test_accuracy", math.nan),
            "diverged_at_step": result.diverged_at_step,
            "checkpoints": result.checkpoints,
        },
        "measures": None,
        "timing": {"train_s": train_s},
        "data": {
            "input_shape": list(ds.input_shape),
            "num_classes": ds.num_classes,
            "n_train": len(ds.y_train),
            "n_test": len(ds.y_test),
        },
        "device": str(device),
        "versions": {"torch": torch.__version__, "python": platform.python_version()},
    }
    if result.status == "diverged":
        metrics["timing"]["measure_s"] = 0.0
        return metrics

    t_meas = time.perf_counter()
    start = load_checkpoint(folder / "checkpoints" / "init.pt")
    end = load_checkpoint(folder / "checkpoints" / "final.pt")
    split = {"train": (ds.x_train, ds.y_train), "test": (ds.x_test, ds.y_test)}
    mx, my = _subset(*split[config.measure_split], config.n_measure, config.data_seed + 1)
    data = measure.batches(mx, _targets(config, mx, my), _EVAL_BATCH, device)
    # batch-norm statistics are re-estimated on the same training examples the curve uses (or as many of them)
    bx, by = _subset(ds.x_train, ds.y_train, config.n_measure, config.data_seed + 1)
    bn_data = measure.batches(bx, by, _EVAL_BATCH, device)
    model.to(device)
    curve = measure.loss_curve(
        model, start, end, data, alphas=config.alphas, loss=loss_function(loss_name),
        classification=config.task != "reconstruction", bn=config.bn, bn_data=bn_data, device=device,
    )  # fmt: skip
    curve.save(folder / "curve")
    gauss = None
    if config.compute_gauss_length:
        gx, _ = _subset(*split[config.gauss_split], config.n_gauss, config.data_seed + 2)
        gauss = measure.gauss_length(
            model,
            start,
            end,
            gx.to(device),
            bn=config.bn,
            bn_data=bn_data[: -(-config.n_gauss_bn // _EVAL_BATCH)] if config.n_gauss_bn else bn_data,
            frozen_statistics=True,
            device=device,
            tol=config.gauss_tol,
            max_evaluations=config.gauss_max_evaluations,
        )
        gauss.save(folder / "gauss_length")
    metrics["measures"] = measure.summary(curve, weight_distance(start, end), gauss)
    metrics["timing"]["measure_s"] = time.perf_counter() - t_meas
    return metrics


def _warm_start(model: torch.nn.Module, config: RunConfig, root: Path) -> None:
    """Load ``config.init_from`` into ``model``, keeping its fresh initialisation under ``config.init_reset``."""
    ref, _, name = str(config.init_from).partition("/")
    path = root / ref / "checkpoints" / f"{name or 'final'}.pt"
    if not path.is_file():
        raise FileNotFoundError(f"init_from={config.init_from!r}: no checkpoint {path}; run that configuration first")
    state, fresh = load_checkpoint(path), model.state_dict()
    if set(state) != set(fresh):
        diff = sorted(set(state) ^ set(fresh))[:5]
        raise ValueError(f"init_from={config.init_from!r}: {path} does not match this model's keys (e.g. {diff})")
    under = lambda key, p: key == p or key.startswith(p + ".")
    for p in config.init_reset:
        if not any(under(k, p) for k in fresh):
            raise ValueError(f"init_reset prefix {p!r} matches no state-dict key; keys look like {sorted(fresh)[:4]}")
    model.load_state_dict({k: fresh[k] if any(under(k, p) for p in config.init_reset) else v for k, v in state.items()})


# ---------------------------------------------------------------------------------------------- reading runs


@dataclasses.dataclass(frozen=True)
class RunRecord:
    """A run folder read back: its configuration, state, metrics, per-epoch log and curve."""

    folder: Path
    config: RunConfig
    state: str
    metrics: dict | None
    log: list
    curve: InterpolationCurve | None
    error: str = ""

    def checkpoint(self, name: str = "final", *, map_location: str | torch.device = "cpu") -> dict:
        """The state dict of checkpoint ``name`` (``"init"``, ``"final"``, ``"epoch_0003"``, ...)."""
        path = self.folder / "checkpoints" / f"{name}.pt"
        if not path.exists():
            have = sorted(p.stem for p in (self.folder / "checkpoints").glob("*.pt"))
            raise FileNotFoundError(f"no checkpoint {path}; this run has: {', '.join(have) or 'none'}")
        return load_checkpoint(path, map_location=map_location)

    def gauss_length(self) -> LogitGaussLength | None:
        """The run's [`mlitheory.LogitGaussLength`][mlitheory.logit_geometry.LogitGaussLength] (``None`` when it was not
        measured)."""
        path = self.folder / "gauss_length.json"
        return LogitGaussLength.load(path) if self.metrics and path.is_file() else None

    def build_model(self, *, seed: int | None = None) -> torch.nn.Module:
        """A fresh model of this run's architecture (initialised from ``seed``, default the run's seed)."""
        c = self.config
        info = (self.metrics or {}).get("data")
        if info is None:  # unfinished run: the data set tells the input shape
            ds = load_dataset(c.dataset, n_train=c.n_train, n_test=c.n_test, seed=c.data_seed, **c.data_options)
            info = {"input_shape": ds.input_shape, "num_classes": ds.num_classes}
        return build_model(
            c.model, input_shape=info["input_shape"], num_classes=info["num_classes"],
            seed=c.seed if seed is None else seed, **c.model_options,
        )  # fmt: skip


def load_run(folder: str | os.PathLike, *, verify: bool = True) -> RunRecord:
    """Read a run folder (finished or not).

    Raises:
        FileNotFoundError: no ``config.json``.
        CorruptRun: a damaged folder (with ``verify``, also a checksum that does not match); the message names
            the file.
    """
    folder = Path(folder)
    cfg_path = folder / "config.json"
    if not cfg_path.is_file():
        raise FileNotFoundError(f"{folder} is not a run folder (no config.json)")
    if verify:
        reason = inspect_folder(folder)
        if reason:
            raise CorruptRun(reason)
    config = RunConfig.from_dict(_read_json(cfg_path)["config"])
    metrics = _read_json(folder / "metrics.json") if is_finished(folder) else None
    status = _read_json(folder / "status.json") if (folder / "status.json").exists() else {}
    if metrics is not None:
        state = metrics["status"]
    else:
        state = status.get("state", "incomplete")
        if state == "running" and not _alive(status):
            state = "killed"
    log = _read_json(folder / "train_log.json") if (folder / "train_log.json").exists() else []
    curve = InterpolationCurve.load(folder / "curve") if (folder / "curve.json").exists() and metrics else None
    return RunRecord(folder, config, state, metrics, log, curve, error=status.get("error", ""))


def _alive(status: dict) -> bool:
    """Whether the process recorded in ``status`` still runs (only knowable on the same host)."""
    if status.get("host") != socket.gethostname():
        return True
    try:
        os.kill(int(status.get("pid", -1)), 0)
    except (OSError, ValueError):
        return False
    return True
