"""empirical: data, the papers' models, training with checkpoints, and resumable sweeps of runs.

Data ([`empirical.data`][empirical.data]):

- `load_dataset` — mnist, fashion-mnist, digits, gaussian, cifar10, cifar100: offline tensors in memory
- `DATASETS` — the data set names

Models ([`empirical.models`][empirical.models]):

- `build_model` — mlp, autoencoder, cnn, resnet20/32/44/56 (variants bn, bn-i, nbn-i, nbn-f), seeded
- `MODELS` — the model names

Training ([`empirical.train`][empirical.train]):

- `train` — SGD/Adam/RMSProp, optimiser switch, schedules, full batch, checkpoints, per-epoch log
- `load_checkpoint` — a state dict saved by a run (weights_only=True)

Runs, sweeps, tables ([`empirical.runs`][empirical.runs], [`empirical.sweep`][empirical.sweep],
[`empirical.collect`][empirical.collect]):

- `RunConfig` — everything that determines a run's numbers; hashed into its folder name
- `execute_run` — train and measure one configuration into ROOT/<hash>, unless finished there
- `load_run` — read a run folder back (config, metrics, log, curve, checkpoints)
- `load_sweep` — a TOML sweep file at a scale (smoke, small, paper) → configurations
- `run_sweep` — run the unfinished configurations on the local, process or ray backend
- `collect` — every run under a folder as rows (``python -m empirical collect DIR`` → CSV)

Measurement ([`empirical.measure`][empirical.measure])
    how a run is measured by [`mlitheory`][mlitheory] (loss curve and min Δ, logit Gauss length, weight distance)

Reproductions ([`empirical.experiments`][empirical.experiments], [`empirical.reproduce`][empirical.reproduce],
[`empirical.report`][empirical.report]):

- `EXPERIMENTS` — the nine named, versioned experiments (Lucas et al., Frankle, Vlaar & Frankle, Wang et al.)
- `load_experiment` — an experiment's configurations and analysis parameters at a scale (smoke, small, paper)
- `reproduce` — run an experiment (resumable) and write its report: tables, figures, JSON, claims check
- `Report` — a report's tables, figures, numbers and claims; written by ``Report.write``

Command line
    python -m empirical train | sweep | collect | info | reproduce
"""

import importlib

# Re-exports are resolved on first use (PEP 562), so that ``import empirical.data`` loads only the data module.
_EXPORTS = {
    "DATASETS": "empirical.data",
    "load_dataset": "empirical.data",
    "MODELS": "empirical.models",
    "build_model": "empirical.models",
    "train": "empirical.train",
    "load_checkpoint": "empirical.train",
    "RunConfig": "empirical.runs",
    "execute_run": "empirical.runs",
    "load_run": "empirical.runs",
    "load_sweep": "empirical.sweep",
    "run_sweep": "empirical.sweep",
    "collect": "empirical.collect",
    "EXPERIMENTS": "empirical.experiments",
    "load_experiment": "empirical.experiments",
    "Report": "empirical.report",
    "reproduce": "empirical.reproduce",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'empirical' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
