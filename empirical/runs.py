"""A run: one configuration → one folder keyed by the configuration's hash, written atomically, never redone.

A :class:`RunConfig` holds everything that determines a run's numbers (data, model, training, measurement).
:func:`execute_run` trains it and measures the linear interpolation from initialisation to the final state,
writing into ``ROOT/<hash>/``::

    config.json        the full configuration and its hash (written first)
    status.json        running / finished / diverged / stopped / failed (with the error), host, pid, times
    train_log.json     one entry per epoch (loss, accuracy, distance from init, ...), rewritten each epoch
    checkpoints/       init.pt, epoch_XXXX.pt, step_XXXXXXX.pt, final.pt (state dicts)
    curve.json         α, loss and accuracy along the path, min Δ
    metrics.json       the summary: training outcome and the measures (min Δ, Gauss length, distances);
                       written last — its presence marks the run as done

Every file is written atomically (temporary file + rename). A run whose ``metrics.json`` exists is finished:
it is skipped, never recomputed or overwritten. A run without it (killed, or failed) is redone from scratch.
If the folder's ``config.json`` differs from the configuration being run, :class:`ConfigMismatch` is raised.

The hash covers the fields that differ from their defaults (plus :data:`CONFIG_VERSION`), so adding a new
field with a default keeps existing run folders valid.
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
from empirical.train import AUGMENTATIONS, OPTIMIZERS, SCHEDULES, TrainResult, load_checkpoint, loss_function, train
from mlitheory._results import atomic_write_text

__all__ = [
    "CONFIG_VERSION",
    "ConfigMismatch",
    "RunConfig",
    "RunOutcome",
    "RunRecord",
    "execute_run",
    "load_run",
    "run_folder",
]

#: bump when the meaning of a field changes; part of every hash
CONFIG_VERSION = 1
_EVAL_BATCH = 256  # larger batches slow convolutions down on CPU (cache)


class ConfigMismatch(ValueError):
    """A run folder's stored ``config.json`` differs from the configuration that hashes to it."""


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """Everything that determines a run's numbers. The execution device is not part of it.

    Data: ``dataset`` (see :data:`empirical.data.DATASETS`), ``n_train``/``n_test`` (stratified subsamples,
    ``None``: all), ``normalize`` (``"channel"`` or ``"none"``), ``data_seed``, ``data_options`` (e.g.
    ``{"pad_to": 32, "channels": 3}``, Gaussian ``dim``/``num_classes``/``separation``).

    Model: ``model`` (see :data:`empirical.models.MODELS`), ``model_options`` (e.g. ``{"hidden": [512],
    "batchnorm": true}``), initialised from ``seed``.

    Training (see :func:`empirical.train.train`): ``optimizer``, ``lr``, ``momentum``, ``betas``, ``eps``,
    ``weight_decay``, ``epochs``, ``batch_size`` (``None``: full batch), ``schedule``, ``milestones``,
    ``gamma``, ``warmup_epochs``, ``switch_epoch``/``switch_optimizer``/``switch_lr``, ``checkpoint_epochs``,
    ``checkpoint_steps``, ``stop_if`` (``[epoch, loss]``), ``augment`` (``"none"`` or ``"crop-flip"``), ``amp``,
    ``seed`` (initialisation, batch order, augmentation).

    Measurement: ``alphas`` (points on [0, 1]), ``bn`` (batch-norm policy), ``measure_split``
    (``"train"``/``"test"``) and ``n_measure`` (examples for the loss curve, ``None``: the whole split),
    ``compute_gauss_length`` (whether to measure it), ``n_gauss`` examples of ``gauss_split`` for it,
    in float64 to absolute error ``gauss_tol`` per example within ``gauss_max_evaluations`` values of α;
    batch-norm statistics re-estimated at each α on the curve's examples (the first ``n_gauss_bn`` of them,
    rounded up to whole evaluation batches, for the Gauss length, whose quadrature visits many more α).

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
        if self.init_reset and self.init_from is None:
            raise ValueError("init_reset is set but init_from is not; name the run to warm-start from")

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
        return {f: _jsonable(getattr(self, f)) for f in self.fields()}

    def non_default(self) -> dict[str, Any]:
        """The fields that differ from their defaults (what the hash covers)."""
        default = RunConfig().to_dict()
        return {k: v for k, v in self.to_dict().items() if v != default[k]}

    @property
    def hash(self) -> str:
        """16 hex digits of the SHA-256 of the canonical JSON of :meth:`non_default` and the config version."""
        payload = json.dumps({"v": CONFIG_VERSION, **self.non_default()}, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    @property
    def task(self) -> str:
        return model_task(self.model)

    def describe(self) -> str:
        """A one-line description: the non-default fields."""
        return ", ".join(f"{k}={v}" for k, v in self.non_default().items()) or "defaults"


def _jsonable(v: Any) -> Any:
    if isinstance(v, tuple):
        return [_jsonable(x) for x in v]
    if isinstance(v, list):
        return [_jsonable(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in sorted(v.items())}
    return v


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
        return json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"{path} is not valid JSON ({e}); the file is corrupt") from e


def _write_json(path: Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=1, default=_json_default, allow_nan=True))


def _json_default(o: Any) -> Any:
    if isinstance(o, torch.Tensor):
        return o.tolist()
    if hasattr(o, "tolist"):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def check_folder(folder: Path, config: RunConfig) -> None:
    """Raise :class:`ConfigMismatch` if ``folder/config.json`` exists and holds a different configuration."""
    path = folder / "config.json"
    if not path.exists():
        return
    stored = _read_json(path)
    try:
        other = RunConfig.from_dict(stored["config"])
    except (KeyError, TypeError, ValueError) as e:
        raise ConfigMismatch(f"{path} does not hold a readable run configuration ({e}); move the folder away") from e
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
    """What :func:`execute_run` did: ``status`` is finished/diverged/stopped (done now), ``skipped`` (was
    already done; ``result`` holds its stored status) or ``failed`` (``error`` says why)."""

    hash: str
    folder: str
    status: str
    seconds: float
    result: str = ""
    error: str = ""


def execute_run(
    config: RunConfig | dict,
    root: str | os.PathLike,
    *,
    device: str | torch.device | None = None,
    progress: bool = False,
    threads: int | None = None,
) -> RunOutcome:
    """Run ``config`` into ``root/<hash>`` unless it is finished there; never raises for a failed run.

    Args:
        config: the configuration (or its dict).
        root: folder of run folders.
        device: training and measurement device (default CPU).
        progress: show the training progress bar.
        threads: ``torch.set_num_threads`` for this run (workers of a pool use 1).

    Returns:
        A :class:`RunOutcome`. Exceptions inside the run are caught, recorded in ``status.json`` and returned
        as ``status="failed"``.

    Raises:
        ConfigMismatch: the run folder holds a different configuration.
    """
    if isinstance(config, dict):
        config = RunConfig.from_dict(config)
    if threads is not None:
        torch.set_num_threads(threads)
    folder = run_folder(root, config)
    t0 = time.perf_counter()
    check_folder(folder, config)
    if is_finished(folder):
        stored = _read_json(folder / "metrics.json")
        return RunOutcome(config.hash, str(folder), "skipped", 0.0, result=stored.get("status", ""))
    if (folder / "status.json").exists():
        status = _read_json(folder / "status.json")
        same_host = status.get("host") == socket.gethostname()
        if status.get("state") == "running" and status.get("pid") != os.getpid() and same_host and _alive(status):
            err = (
                f"run {config.hash} is in progress in process {status.get('pid')} ({folder / 'status.json'}); "
                "not started twice. If that process is not this run, delete the status file and rerun."
            )
            return RunOutcome(config.hash, str(folder), "failed", 0.0, error=err)
    folder.mkdir(parents=True, exist_ok=True)
    for stale in ("checkpoints", "train_log.json", "curve.json"):
        p = folder / stale
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
        metrics = _run(config, folder, device=device, progress=progress)
    except Exception as e:
        err = f"{type(e).__name__}: {e}"
        _write_json(
            folder / "status.json", {**status, "state": "failed", "error": err, "traceback": traceback.format_exc()}
        )
        return RunOutcome(config.hash, str(folder), "failed", time.perf_counter() - t0, error=err)
    _write_json(folder / "metrics.json", metrics)
    _write_json(folder / "status.json", {**status, "state": metrics["status"], "finished": time.time()})
    return RunOutcome(config.hash, str(folder), metrics["status"], time.perf_counter() - t0, result=metrics["status"])


def _targets(config: RunConfig, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return x.flatten(1) if config.task == "reconstruction" else y


def _subset(x: torch.Tensor, y: torch.Tensor, n: int | None, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    if n is None or n >= len(x):
        return x, y
    idx = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))[:n].sort().values
    return x[idx], y[idx]


def _run(config: RunConfig, folder: Path, *, device, progress) -> dict:
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
    )
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
        "engine": measure.uses_mlitheory(),
    }
    if result.status == "diverged":
        metrics["timing"]["measure_s"] = 0.0
        return metrics

    t_meas = time.perf_counter()
    start = load_checkpoint(folder / "checkpoints" / "init.pt")
    end = load_checkpoint(folder / "checkpoints" / "final.pt")
    loss_fn = loss_function(loss_name)
    split = {"train": (ds.x_train, ds.y_train), "test": (ds.x_test, ds.y_test)}
    mx, my = _subset(*split[config.measure_split], config.n_measure, config.data_seed + 1)
    data = measure.batches(mx.to(device), _targets(config, mx, my).to(device), _EVAL_BATCH)
    # batch-norm statistics are re-estimated on the same training examples the curve uses (or as many of them)
    bx, by = _subset(ds.x_train, ds.y_train, config.n_measure, config.data_seed + 1)
    bn_data = measure.batches(bx.to(device), by.to(device), _EVAL_BATCH)
    metric_names = ("loss",) if config.task == "reconstruction" else ("loss", "accuracy")
    model.to(device)
    curve = measure.interpolation_curve(
        model, start, end, data, alphas=config.alphas, loss=loss_fn, metrics=metric_names, bn=config.bn,
        bn_data=bn_data, device=device,
    )  # fmt: skip
    _write_json(folder / "curve.json", curve.to_json())
    gl = measure.GaussLength(math.nan, False, 0, "")
    if config.compute_gauss_length:
        gx, _ = _subset(*split[config.gauss_split], config.n_gauss, config.data_seed + 2)
        gl = measure.logit_gauss_length(
            model,
            start,
            end,
            gx.to(device),
            alphas=config.alphas,
            bn=config.bn,
            bn_data=bn_data[: -(-config.n_gauss_bn // _EVAL_BATCH)] if config.n_gauss_bn else bn_data,
            device=device,
            tol=config.gauss_tol,
            max_evaluations=config.gauss_max_evaluations,
        )
    values = curve.values
    metrics["measures"] = {
        "min_delta": curve.min_delta,
        "monotone": curve.is_monotone,
        "curve_loss_init": float(values["loss"][0]),
        "curve_loss_final": float(values["loss"][-1]),
        "curve_max_loss": float(max(values["loss"])),
        "curve_accuracy_final": float(values["accuracy"][-1]) if "accuracy" in values else math.nan,
        "gauss_length": gl.value,
        "gauss_converged": gl.converged,
        "gauss_evaluations": gl.evaluations,
        "gauss_engine": gl.engine,
        "distance": measure.weight_distance(start, end),
        "norm_distance": measure.weight_distance(start, end, normalize="start"),
        "norm_distance_end": measure.weight_distance(start, end, normalize="end"),
        "curve_engine": curve.engine,
    }
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
    curve: dict | None
    error: str = ""

    def checkpoint(self, name: str = "final", *, map_location: str | torch.device = "cpu") -> dict:
        """The state dict of checkpoint ``name`` (``"init"``, ``"final"``, ``"epoch_0003"``, ...)."""
        path = self.folder / "checkpoints" / f"{name}.pt"
        if not path.exists():
            have = sorted(p.stem for p in (self.folder / "checkpoints").glob("*.pt"))
            raise FileNotFoundError(f"no checkpoint {path}; this run has: {', '.join(have) or 'none'}")
        return load_checkpoint(path, map_location=map_location)

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


def load_run(folder: str | os.PathLike) -> RunRecord:
    """Read a run folder (finished or not)."""
    folder = Path(folder)
    cfg_path = folder / "config.json"
    if not cfg_path.is_file():
        raise FileNotFoundError(f"{folder} is not a run folder (no config.json)")
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
    curve = _read_json(folder / "curve.json") if (folder / "curve.json").exists() and metrics else None
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
