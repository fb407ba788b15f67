"""empirical: data, the papers' models, training with checkpoints, and resumable sweeps of runs.

Data (:mod:`empirical.data`)
    load_dataset      -- mnist, fashion-mnist, digits, gaussian, cifar10, cifar100: offline tensors in memory
    DATASETS          -- the data set names

Models (:mod:`empirical.models`)
    build_model       -- mlp, autoencoder, cnn, resnet20/32/44/56 (variants bn, bn-i, nbn-i, nbn-f), seeded
    MODELS            -- the model names

Training (:mod:`empirical.train`)
    train             -- SGD/Adam/RMSProp, optimiser switch, schedules, full batch, checkpoints, per-epoch log
    load_checkpoint   -- a state dict saved by a run (weights_only=True)

Runs, sweeps, tables (:mod:`empirical.runs`, :mod:`empirical.sweep`, :mod:`empirical.collect`)
    RunConfig         -- everything that determines a run's numbers; hashed into its folder name
    execute_run       -- train and measure one configuration into ROOT/<hash>, unless finished there
    load_run          -- read a run folder back (config, metrics, log, curve, checkpoints)
    load_sweep        -- a TOML sweep file at a scale (smoke, small, paper) → configurations
    run_sweep         -- run the unfinished configurations on the local, process or ray backend
    collect           -- every run under a folder as rows (``python -m empirical collect DIR`` → CSV)

Measurement (:mod:`empirical.measure`)
    the single adapter between runs and :mod:`mlitheory`'s interpolation engine (min Δ, Gauss length, distance)

Reproductions (:mod:`empirical.experiments`, :mod:`empirical.reproduce`, :mod:`empirical.report`)
    EXPERIMENTS       -- the nine named, versioned experiments (Lucas et al., Frankle, Vlaar & Frankle, Wang et al.)
    load_experiment   -- an experiment's configurations and analysis parameters at a scale (smoke, small, paper)
    reproduce         -- run an experiment (resumable) and write its report: tables, figures, JSON, claims check
    Report            -- a report's tables, figures, numbers and claims; written by ``Report.write``
    path_curve        -- loss along layer-wise or homogeneous-bias paths (:mod:`empirical.pathcurves`)

Command line
    python -m empirical train | sweep | collect | info | reproduce
"""

from empirical.collect import collect
from empirical.data import DATASETS, load_dataset
from empirical.experiments import EXPERIMENTS, load_experiment
from empirical.models import MODELS, build_model
from empirical.pathcurves import path_curve
from empirical.report import Report
from empirical.reproduce import reproduce
from empirical.runs import RunConfig, execute_run, load_run
from empirical.sweep import load_sweep, run_sweep
from empirical.train import load_checkpoint, train

__all__ = [
    "DATASETS",
    "EXPERIMENTS",
    "MODELS",
    "Report",
    "RunConfig",
    "build_model",
    "collect",
    "execute_run",
    "load_checkpoint",
    "load_dataset",
    "load_experiment",
    "load_run",
    "load_sweep",
    "path_curve",
    "reproduce",
    "run_sweep",
    "train",
]
