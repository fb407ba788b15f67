"""Results are data: a mixin that gives frozen dataclasses ``save``/``load`` (``.npz`` + ``.json``) and a summary.

Every result object of the package is a frozen dataclass that inherits :class:`Result`. Arrays (NumPy or
torch) go to a compressed ``.npz`` file; everything else (numbers, strings, nested results, lists and dicts of
them) goes to a ``.json`` file beside it. Loading rebuilds the same class with equal fields; torch tensors come
back as torch tensors (on the CPU).

Writes are atomic (temporary file + rename) and never overwrite a finished result unless asked to.
"""

from __future__ import annotations

import dataclasses
import importlib
import io
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

__all__ = ["Result", "atomic_write_bytes", "atomic_write_text"]

_FORMAT = 1


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically: a temporary file in the same folder, then a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))


def _stem(path: str | os.PathLike) -> Path:
    p = Path(path)
    if p.suffix in (".npz", ".json"):
        p = p.with_suffix("")
    return p


class _Encoder:
    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}

    def encode(self, value: Any) -> Any:
        if isinstance(value, Result):
            cls = type(value)
            fields = {f.name: self.encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
            return {"__result__": f"{cls.__module__}:{cls.__qualname__}", "fields": fields}
        if isinstance(value, torch.Tensor):
            key = f"a{len(self.arrays)}"
            self.arrays[key] = value.detach().cpu().numpy()
            return {"__array__": key, "torch": True, "dtype": str(value.dtype)}
        if isinstance(value, np.ndarray):
            key = f"a{len(self.arrays)}"
            self.arrays[key] = value
            return {"__array__": key, "torch": False}
        if isinstance(value, (bool, np.bool_)):
            return bool(value)
        if isinstance(value, (int, np.integer)):
            return int(value)
        if isinstance(value, (float, np.floating)):
            v = float(value)
            return v if math.isfinite(v) else {"__float__": repr(v)}
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, tuple):
            return {"__tuple__": [self.encode(v) for v in value]}
        if isinstance(value, list):
            return [self.encode(v) for v in value]
        if isinstance(value, dict):
            bad = [k for k in value if not isinstance(k, str)]
            if bad:
                raise TypeError(f"cannot save a dict with non-string key {bad[0]!r}; use string keys")
            return {"__dict__": {k: self.encode(v) for k, v in value.items()}}
        raise TypeError(
            f"cannot save a value of type {type(value).__name__}; results hold arrays, numbers, strings, "
            "lists, tuples, dicts and other results"
        )


def _decode(value: Any, arrays: Any) -> Any:
    if isinstance(value, list):
        return [_decode(v, arrays) for v in value]
    if not isinstance(value, dict):
        return value
    if "__array__" in value:
        arr = np.asarray(arrays[value["__array__"]])
        return torch.from_numpy(arr.copy()) if value.get("torch") else arr
    if "__float__" in value:
        return float(value["__float__"])
    if "__tuple__" in value:
        return tuple(_decode(v, arrays) for v in value["__tuple__"])
    if "__dict__" in value:
        return {k: _decode(v, arrays) for k, v in value["__dict__"].items()}
    if "__result__" in value:
        module, _, qualname = value["__result__"].partition(":")
        obj: Any = importlib.import_module(module)
        for part in qualname.split("."):
            obj = getattr(obj, part)
        if not (isinstance(obj, type) and issubclass(obj, Result)):
            raise TypeError(f"{value['__result__']} is not a Result class")
        fields = {k: _decode(v, arrays) for k, v in value["fields"].items()}
        return obj(**fields)
    raise ValueError(f"unrecognised entry in a saved result: keys {sorted(value)}")


class Result:
    """Mixin for frozen result dataclasses: ``save``, ``load``, ``to_dict`` and a readable ``summary``.

    Subclasses override :meth:`summary` for a tailored printout; ``str(result)`` returns it.
    """

    _summary_fields: ClassVar[tuple[str, ...] | None] = None

    def save(self, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
        """Save to ``path.json`` (+ ``path.npz`` when the result holds arrays).

        Args:
            path: file stem; a ``.json`` or ``.npz`` suffix is stripped.
            overwrite: replace an existing saved result. Without it an existing file raises
                ``FileExistsError`` and nothing is written.

        Returns:
            The path of the JSON file.
        """
        stem = _stem(path)
        jpath, npath = stem.with_suffix(".json"), stem.with_suffix(".npz")
        if not overwrite:
            for p in (jpath, npath):
                if p.exists():
                    raise FileExistsError(f"{p} exists; pass overwrite=True to replace it, or choose another path")
        enc = _Encoder()
        payload = {"format": _FORMAT, "result": enc.encode(self)}
        if enc.arrays:
            buf = io.BytesIO()
            np.savez_compressed(buf, **enc.arrays)
            atomic_write_bytes(npath, buf.getvalue())
        elif npath.exists():
            npath.unlink()
        atomic_write_text(jpath, json.dumps(payload, indent=1))
        return jpath

    @classmethod
    def load(cls, path: str | os.PathLike):
        """Load a result saved with :meth:`save`; the class stored in the file must be ``cls`` or a subclass."""
        stem = _stem(path)
        jpath, npath = stem.with_suffix(".json"), stem.with_suffix(".npz")
        if not jpath.exists():
            raise FileNotFoundError(f"no saved result at {jpath}")
        try:
            payload = json.loads(jpath.read_text())
        except json.JSONDecodeError as e:
            raise ValueError(f"{jpath} is not valid JSON ({e}); the file is corrupt") from e
        if not isinstance(payload, dict) or payload.get("format") != _FORMAT:
            raise ValueError(f"{jpath} is not a saved mlitheory result (format {_FORMAT})")
        arrays: Any = {}
        if npath.exists():
            with np.load(npath, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
        obj = _decode(payload["result"], arrays)
        if not isinstance(obj, cls):
            raise TypeError(f"{jpath} holds a {type(obj).__name__}, not a {cls.__name__}")
        return obj

    def to_dict(self) -> dict[str, Any]:
        """The fields as a plain dict (arrays stay arrays; nested results stay objects)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}  # type: ignore[arg-type]

    def summary(self) -> str:
        """A readable multi-line summary; subclasses override it."""
        names = self._summary_fields or tuple(f.name for f in dataclasses.fields(self))  # type: ignore[arg-type]
        lines = [type(self).__name__]
        for name in names:
            lines.append(f"  {name}: {_short(getattr(self, name))}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def _short(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    if isinstance(value, np.ndarray):
        if value.size <= 6:
            return np.array2string(value, precision=6)
        return f"array{tuple(value.shape)} {value.dtype}, min {np.nanmin(value):.4g}, max {np.nanmax(value):.4g}"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, Result):
        return type(value).__name__ + "(...)"
    if isinstance(value, (list, tuple)) and len(value) > 6:
        return f"{type(value).__name__} of {len(value)}"
    return repr(value)
