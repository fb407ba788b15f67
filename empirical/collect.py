"""Gather run folders into one table: configuration, training outcome and measures, one row per run.

``python -m empirical collect DIR`` finds every run folder under ``DIR`` (any depth), and writes ``runs.csv``
with the columns: ``hash``, ``status`` (finished, diverged, stopped, failed, killed, running), ``folder``,
every [`RunConfig`][empirical.runs.RunConfig] field (option tables flattened as ``model_options.hidden``), the
training summary (``epochs``, ``steps``, ``final_loss``, ``final_accuracy``, ``test_loss``,
``test_accuracy``), the measures (``min_delta``, ``monotone``, ``gauss_length``, ``distance``,
``norm_distance``, ``norm_distance_end``, ``curve_loss_init``, ``curve_loss_final``, ...), timings and
``error`` for failed runs.
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path
from typing import Any

from empirical.runs import CorruptRun, load_run
from mlitheory.results import atomic_write_text

__all__ = ["collect", "read_csv", "write_csv"]

_TRAIN = ("epochs", "steps", "final_loss", "final_accuracy", "test_loss", "test_accuracy", "diverged_at_step")


def _flatten(prefix: str, value: Any, out: dict) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(f"{prefix}.{k}", v, out)
    elif isinstance(value, list):
        out[prefix] = json.dumps(value)
    else:
        out[prefix] = value


def collect(root: str | os.PathLike) -> list[dict]:
    """One dict per run folder under ``root`` (sorted by folder path); unreadable folders are reported as rows
    with status ``"unreadable"``, damaged ones (see [`empirical.runs.inspect_folder`][empirical.runs.inspect_folder]:
    garbled JSON, a checkpoint that no longer matches its checksum) with status ``"corrupt"``, the reason in ``error``.
    Folders under ``.quarantine`` are left out."""
    rows = []
    root = Path(root)
    for cfg in sorted(root.rglob("config.json")):
        folder = cfg.parent
        if ".quarantine" in folder.relative_to(root).parts:
            continue  # damaged runs moved aside (and redone): not results
        try:
            rec = load_run(folder)
        except CorruptRun as e:  # a checksum that does not match, a garbled file: never read as a result
            rows.append({"hash": folder.name, "status": "corrupt", "folder": str(folder), "error": str(e)})
            continue
        except (ValueError, TypeError, KeyError, FileNotFoundError) as e:
            rows.append({"hash": folder.name, "status": "unreadable", "folder": str(folder), "error": str(e)})
            continue
        row: dict[str, Any] = {"hash": rec.config.hash, "status": rec.state, "folder": str(folder)}
        for k, v in rec.config.to_dict().items():
            _flatten(k, v, row)
        m = rec.metrics or {}
        train = m.get("train", {})
        row.update({k: train.get(k, "") for k in _TRAIN})
        row.update(m.get("measures") or {})
        row.update({k: v for k, v in (m.get("timing") or {}).items()})
        row["error"] = rec.error
        rows.append(row)
    return rows


def write_csv(rows: list[dict], path: str | os.PathLike) -> Path:
    """Write ``rows`` as CSV (the union of their keys, in first-seen order) atomically; returns the path."""
    cols: list[str] = []
    for r in rows:
        cols += [k for k in r if k not in cols]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols, restval="")
    w.writeheader()
    w.writerows(rows)
    atomic_write_text(path, buf.getvalue())
    return Path(path)


def read_csv(path: str | os.PathLike) -> list[dict[str, str]]:
    """The rows of a CSV written by [`write_csv`][empirical.collect.write_csv] (values as strings)."""
    with open(path, newline="") as f:
        return list(csv.DictReader(f))
