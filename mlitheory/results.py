"""Results are data: a mixin that gives frozen dataclasses ``save``/``load`` (``.npz`` + ``.json``) and a summary.

Every result object of the package is a frozen dataclass that inherits [`Result`][mlitheory.results.Result]. Arrays
(NumPy or torch) go to a compressed ``.npz`` file; everything else (numbers, strings, nested results, lists and dicts of
them) goes to a ``.json`` file beside it. Loading rebuilds the same class with equal fields; torch tensors come
back as torch tensors (on the CPU).

Writes are atomic (temporary file + rename) and never overwrite a finished result unless asked to. Loading
reads no pickle (``np.load(allow_pickle=False)``) and imports only modules of ``mlitheory`` and ``empirical``
to find the class a file names (`TRUSTED_PACKAGES`).
"""

from __future__ import annotations

import dataclasses
import importlib
import io
import json
import math
import os
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

__all__ = ["RENAMED_MODULES", "Result", "atomic_write_bytes", "atomic_write_text", "jsonable"]

_FORMAT = 1

#: modules renamed since results were first saved: old name -> new name (files saved under the old name load)
RENAMED_MODULES = {
    "mlitheory._results": "mlitheory.results",
    "mlitheory.sampled": "mlitheory.sampled_gauss_length",
}


def _umask() -> int:
    """The process's umask (read by setting it and setting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically: a temporary file in the same folder, then a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600: a result file gets the mode any new file gets
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


def jsonable(value: Any, *, nonfinite: str = "keep", sort_keys: bool = False, strict: bool = False) -> Any:
    """``value`` as plain JSON values: dicts (string keys), lists, str, int, float, bool, ``None``.

    Tuples become lists, NumPy and torch scalars and arrays become Python numbers and lists (``tolist``).

    Args:
        value: numbers, strings, lists, tuples, dicts, NumPy/torch values, nested.
        nonfinite: what a NaN or infinite float becomes: ``"keep"`` (the float; JSON with ``allow_nan``),
            ``"null"`` (``None``: strict JSON) or ``"string"`` (``"nan"``, ``"inf"``, ``"-inf"``).
        sort_keys: sort every dict by its keys (canonical JSON, e.g. for a hash).
        strict: raise ``TypeError`` for any other type instead of returning it unchanged.
    """
    if nonfinite not in ("keep", "null", "string"):
        raise ValueError(f"nonfinite must be 'keep', 'null' or 'string', got {nonfinite!r}")
    kw = {"nonfinite": nonfinite, "sort_keys": sort_keys, "strict": strict}
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if math.isfinite(v) or nonfinite == "keep":
            return v
        return None if nonfinite == "null" else repr(v)
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, dict):
        items = sorted(value.items()) if sort_keys else value.items()
        return {str(k): jsonable(v, **kw) for k, v in items}
    if isinstance(value, (list, tuple)):
        return [jsonable(v, **kw) for v in value]
    if hasattr(value, "tolist"):
        return jsonable(value.tolist(), **kw)
    if strict:
        raise TypeError(f"cannot write a {type(value).__name__} as JSON; use numbers, strings, lists or dicts")
    return value


def _stem(path: str | os.PathLike) -> Path:
    p = Path(path)
    if p.suffix in (".npz", ".json"):
        p = p.with_suffix("")
    return p


def _files(stem: Path) -> tuple[Path, Path]:
    """The JSON and array files of a result saved at ``stem``: ``stem.json`` and ``stem.npz``, with the suffixes
    appended (a stem with a dot, ``run.v2``, keeps it: ``run.v2.json``)."""
    return stem.with_name(stem.name + ".json"), stem.with_name(stem.name + ".npz")


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


#: packages whose modules `Result.load` may import to find the class named in a file
TRUSTED_PACKAGES = ("mlitheory", "empirical")


def _result_class(name: Any) -> type:
    """The [`Result`][mlitheory.results.Result] subclass named ``"module:qualname"`` in a saved file.

    Only modules of `TRUSTED_PACKAGES` are imported; a class of any other module is accepted only if
    that module is already imported (the caller's own result classes), so a file cannot make ``load`` import,
    and run, code of its choosing. The object found must be a ``Result`` subclass.
    """
    if not isinstance(name, str) or name.count(":") != 1:
        raise ValueError(f"a saved result names its class as 'module:qualname', got {name!r}; the file is corrupt")
    module, _, qualname = name.partition(":")
    trusted = any(module == p or module.startswith(p + ".") for p in TRUSTED_PACKAGES)
    if trusted:
        obj: Any = importlib.import_module(RENAMED_MODULES.get(module, module))
    elif module in sys.modules:
        obj = sys.modules[module]
    else:
        raise TypeError(
            f"the file names the class {name!r} of module {module!r}, which is not imported; Result.load imports "
            f"only modules of {', '.join(TRUSTED_PACKAGES)}. If you trust the file, import {module!r} first"
        )
    for part in qualname.split("."):
        obj = getattr(obj, part, None)
    if not (isinstance(obj, type) and issubclass(obj, Result)):
        raise TypeError(f"{name!r} is not a Result class")
    return obj


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
        obj = _result_class(value["__result__"])
        if not isinstance(value.get("fields"), dict):
            raise ValueError(f"the entry of {value['__result__']} has no fields")
        fields = {k: _decode(v, arrays) for k, v in value["fields"].items()}
        try:
            return obj(**fields)
        except TypeError as e:
            raise ValueError(f"the fields saved for {value['__result__']} do not fit the class ({e})") from e
    raise ValueError(f"unrecognised entry in a saved result: keys {sorted(value)}")


class Result:
    """Mixin for frozen result dataclasses: ``save``, ``load``, ``to_dict`` and a readable ``summary``.

    Subclasses override `summary` for a tailored printout; ``str(result)`` returns it.
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
        jpath, npath = _files(stem)
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
        """Load a result saved with `save`; the class stored in the file must be ``cls`` or a subclass."""
        stem = _stem(path)
        jpath, npath = _files(stem)
        if not jpath.exists():
            old = stem.with_suffix(".json")  # where a dotted stem's JSON file went before the dot was kept
            hint = ""
            if stem.suffix and old.exists():
                hint = f"; {old} exists: load {stem.with_suffix('')} if it is that result"
            raise FileNotFoundError(f"no saved result at {jpath}{hint}")
        try:
            payload = json.loads(jpath.read_bytes().decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ValueError(f"{jpath} is not valid JSON ({e}); the file is corrupt") from e
        if not isinstance(payload, dict) or payload.get("format") != _FORMAT or "result" not in payload:
            raise ValueError(f"{jpath} is not a saved mlitheory result (format {_FORMAT})")
        arrays: Any = {}
        if npath.exists():
            try:
                with np.load(npath, allow_pickle=False) as z:
                    arrays = {k: z[k] for k in z.files}
            except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
                raise ValueError(f"{npath} cannot be read as the result's arrays ({e}); the file is corrupt") from e
        try:
            obj = _decode(payload["result"], arrays)
        except (KeyError, ValueError, AttributeError) as e:
            raise ValueError(f"{jpath} holds a malformed result ({type(e).__name__}: {e}); the file is corrupt") from e
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
