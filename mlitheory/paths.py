r"""Parameter paths between two network states: linear, layer-wise, homogeneous-bias.

A path gives every floating-point entry $k$ of a state dict a coefficient $c_k(\alpha)$,

$$
\theta_k(\alpha) = \big(1 - c_k(\alpha)\big)\,\theta_k^{\text{start}} + c_k(\alpha)\,\theta_k^{\text{end}},
\qquad c_k(\alpha) = s_k\,\alpha^{p_k},\quad s_k\in\{0, 1\},\ p_k\in\{0, 1, 2, \dots\}.
$$

* **linear** (Goodfellow et al. 2015; Lucas et al. 2021, eq. 1): $c_k(\alpha)=\alpha$ for every entry.
* **layer-wise** (Vlaar & Frankle 2022): one group of entries moves, $c_k(\alpha)=\alpha$; every other
  entry stays at its final value, $c_k\equiv 1$ (or at its initial value, $c_k\equiv 0$).
* **homogeneous bias** (``theory_bias_plateau.md`` §3.4): weights move linearly and the bias of layer
  $\ell$ (1-based, counting Linear/Conv layers) as $\alpha^\ell$. For a ReLU or linear network
  started at $\theta^{\text{start}}=0$ this gives $f(x;\theta(\alpha))=\alpha^L f(x;\theta^{\text{end}})$
  exactly, because $(W_\ell, b_\ell)\mapsto(cW_\ell, c^\ell b_\ell)$ scales the network by $c^L$.

Because each coefficient is a monomial, the path's derivatives are exact:
$\theta_k'(\alpha)=c_k'(\alpha)\,\Delta_k$ and $\theta_k''(\alpha)=c_k''(\alpha)\,\Delta_k$ with
$\Delta_k=\theta_k^{\text{end}}-\theta_k^{\text{start}}$; the Taylor-mode logit derivatives use them.
Integer entries (``num_batches_tracked``) are never interpolated: every point of the path carries the value of
``end``. The states are computed with `torch.lerp`, exact at both ends (``c = 0`` gives ``start`` and
``c = 1`` gives ``end`` bit for bit).

The module also validates pairs of states (keys, shapes, dtypes, devices, finite values, data rather than meta
tensors, floating-point weights), with errors that name the key.

Tied (shared) parameters, such as an embedding and an output layer holding one weight, are one tensor: the state
dict lists it under every name, but distances count it once ([`tied_keys`][mlitheory.paths.tied_keys],
[`parameter_keys`][mlitheory.paths.parameter_keys]) and a path moves all its names together.

References:
    Goodfellow, Vinyals, Saxe. *Qualitatively characterizing neural network optimization problems*, ICLR 2015.
    Lucas et al. *Analyzing Monotonic Linear Interpolation in Neural Network Loss Landscapes*, ICML 2021.
    Vlaar, Frankle. *What can linear interpolation of neural network loss landscapes tell us?*, ICML 2022.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import torch
from torch import nn

from mlitheory import _validate

__all__ = [
    "Coefficient",
    "ParameterPath",
    "as_state",
    "homogeneous_bias_path",
    "is_statistic_key",
    "layer_groups",
    "layer_numbers",
    "layerwise_path",
    "linear_path",
    "parameter_keys",
    "tied_keys",
    "validate_states",
]

State = dict[str, torch.Tensor]
StateLike = Mapping[str, torch.Tensor] | nn.Module

_STATISTIC = re.compile(r"(^|\.)(running_mean|running_var|num_batches_tracked)$")


def is_statistic_key(key: str) -> bool:
    """Whether ``key`` names a batch-norm running statistic (``running_mean``, ``running_var``,
    ``num_batches_tracked``): the entries that weight distances and plane coordinates leave out."""
    return bool(_STATISTIC.search(key))


def _show(keys: Iterable[str], limit: int = 5) -> str:
    keys = list(keys)
    head = ", ".join(repr(k) for k in keys[:limit])
    return head + (f", … ({len(keys)} in all)" if len(keys) > limit else "")


def as_state(obj: StateLike, name: str = "state") -> State:
    """A state dict (``{key: tensor}``, detached, not copied) from a state dict or an ``nn.Module``.

    Raises:
        TypeError: ``obj`` is neither, or one of its values is not a tensor (the error names the key).
    """
    if isinstance(obj, nn.Module):
        return {k: v.detach() for k, v in obj.state_dict().items()}
    if not isinstance(obj, Mapping):
        raise TypeError(f"{name} must be a state dict (mapping of str to tensor) or an nn.Module, got {type(obj)}")
    out: State = {}
    for k, v in obj.items():
        if not isinstance(k, str):
            raise TypeError(f"{name} has a non-string key {k!r}; state dicts map parameter names to tensors")
        if not isinstance(v, torch.Tensor):
            raise TypeError(f"{name}[{k!r}] is a {type(v).__name__}, not a tensor")
        out[k] = v.detach()
    return out


def _prefix_hint(missing: list[str], extra: list[str]) -> str:
    if missing and extra:
        for a, b in ((missing[0], extra[0]), (extra[0], missing[0])):
            if b.endswith(a) and b != a:
                return f" (a key prefix {b[: len(b) - len(a)]!r} differs, e.g. from DataParallel; strip it)"
    return ""


def _compare_keys(ref: Iterable[str], got: Iterable[str], ref_name: str, got_name: str) -> None:
    ref_set, got_set = set(ref), set(got)
    missing = [k for k in ref if k not in got_set]
    extra = [k for k in got if k not in ref_set]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing from {got_name}: {_show(missing)}")
        if extra:
            parts.append(f"in {got_name} but not in {ref_name}: {_show(extra)}")
        raise ValueError(f"{got_name} does not match {ref_name}; " + "; ".join(parts) + _prefix_hint(missing, extra))


def validate_states(
    start: StateLike,
    end: StateLike,
    *,
    model: nn.Module | None = None,
    names: tuple[str, str] = ("start", "end"),
    finite: bool = False,
) -> tuple[State, State]:
    """Check that two states can be interpolated (and loaded into ``model``); return them as state dicts.

    Checks, in order: both are state dicts or modules (and ``model`` a module); the same keys (and the keys of
    ``model.state_dict()`` when a model is given); per key the same shape (and the model's shape) and the same
    dtype; every tensor of both states on one device; no meta tensor (shape without data); with ``finite=True``,
    no NaN or inf entry (off by default: a curve towards a diverged state records where it is not finite);
    weights of floating-point dtype (a floating parameter of ``model``, or without a model
    an entry named ``weight`` or ``bias``, stored as integers is an error); entries that ``model`` ties (one
    tensor under two names) equal in each state.

    Raises:
        TypeError: wrong types, a dtype mismatch (the error names the key and both dtypes), integer weights.
        ValueError: missing or extra keys, a shape mismatch, tensors on several devices, meta tensors,
            non-finite entries, or tied entries that differ (each named).
    """
    if model is not None:
        _validate.module(model)
    a, b = as_state(start, names[0]), as_state(end, names[1])
    for state, name in ((a, names[0]), (b, names[1])):
        _validate.state_entries(state, name, finite=False)  # meta tensors first: they have no data to compare
    if model is not None:
        ref = model.state_dict()
        _compare_keys(ref.keys(), a.keys(), "the model's state_dict", names[0])
        _compare_keys(ref.keys(), b.keys(), "the model's state_dict", names[1])
        for k, v in ref.items():
            if a[k].shape != v.shape:
                raise ValueError(
                    f"{names[0]}[{k!r}] has shape {tuple(a[k].shape)} but the model expects {tuple(v.shape)}"
                )
    else:
        _compare_keys(a.keys(), b.keys(), names[0], names[1])
    devices: dict[torch.device, str] = {}
    for k in a:
        x, y = a[k], b[k]
        if x.shape != y.shape:
            raise ValueError(f"shape mismatch at key {k!r}: {names[0]} {tuple(x.shape)}, {names[1]} {tuple(y.shape)}")
        if x.dtype != y.dtype:
            raise TypeError(
                f"dtype mismatch at key {k!r}: {names[0]} {x.dtype}, {names[1]} {y.dtype}; "
                "convert both states to one dtype (or pass dtype=)"
            )
        devices.setdefault(x.device, f"{names[0]}[{k!r}]")
        devices.setdefault(y.device, f"{names[1]}[{k!r}]")
    if len(devices) > 1:
        where = ", ".join(f"{name} on {dev}" for dev, name in devices.items())
        raise ValueError(f"the states are on several devices ({where}); move them to one device or pass device=")
    if finite:
        for state, name in ((a, names[0]), (b, names[1])):
            _validate.state_entries(state, name)
    _check_weight_dtypes(a, names[0], model)
    if model is not None:
        for alias, canon in tied_keys(model=model).items():
            for state, name in ((a, names[0]), (b, names[1])):
                if alias in state and canon in state and not torch.equal(state[alias], state[canon]):
                    raise ValueError(
                        f"the model ties {alias!r} to {canon!r} (one tensor), but {name} holds different values "
                        "for them; a tied parameter has one value: take both from one state_dict()"
                    )
    return a, b


def _check_weight_dtypes(state: State, name: str, model: nn.Module | None) -> None:
    if model is not None:
        floating = {n for n, p in model.named_parameters(remove_duplicate=False) if p.is_floating_point()}
    else:
        floating = {k for k in state if k.rsplit(".", 1)[-1] in ("weight", "bias")}
    for k in state:
        v = state[k]
        if k in floating and not (v.is_floating_point() or v.is_complex()):
            raise TypeError(
                f"{name}[{k!r}] holds integers ({v.dtype}), but it is a weight: weights must be floating point "
                "to be interpolated; convert the state, e.g. {k: v.float() for k, v in state.items()}"
            )


def tied_keys(*states: Mapping[str, torch.Tensor], model: nn.Module | None = None) -> dict[str, str]:
    """Names that refer to one tensor: ``{alias: canonical name}`` (the canonical name comes first).

    With ``model``: the parameters and buffers that the module holds under several names (weight tying).
    Without: the entries that share storage (same memory, offset, shape and strides) in every one of
    ``states``, as ``state_dict()`` of a tied model and ``torch.save``/``torch.load`` of it give. States whose
    tensors were copied one by one no longer show their ties; pass ``model=`` then.
    """
    if model is not None:
        seen: dict[int, str] = {}
        out: dict[str, str] = {}
        named = itertools.chain(
            model.named_parameters(remove_duplicate=False), model.named_buffers(remove_duplicate=False)
        )
        for name, t in named:
            if t is None:
                continue
            first = seen.setdefault(id(t), name)
            if first != name:
                out[name] = first
        return out
    if not states:
        return {}

    def aliases(state: Mapping[str, torch.Tensor]) -> dict[str, str]:
        seen: dict[tuple, str] = {}
        out: dict[str, str] = {}
        for k, v in state.items():
            if v.numel() == 0 or v.device.type == "meta":
                continue
            key = (v.device, v.untyped_storage().data_ptr(), v.storage_offset(), tuple(v.shape), v.stride(), v.dtype)
            first = seen.setdefault(key, k)
            if first != k:
                out[k] = first
        return out

    common = aliases(states[0])
    for s in states[1:]:
        other = aliases(s)
        common = {k: c for k, c in common.items() if other.get(k) == c}
    return common


def parameter_keys(state: Mapping[str, torch.Tensor], model: nn.Module | None = None) -> list[str]:
    """Keys of ``state`` that are trainable parameters, in state order, each tensor once.

    With ``model``: the names of ``model.named_parameters()``; a tied parameter counts once, under its first
    name. Without: the floating-point entries that are not batch-norm running statistics (the convention of
    Lucas et al.'s weight distance), leaving out entries that share storage with an earlier one.
    """
    if model is not None:
        tied = tied_keys(model=model)
        names = {n for n, _ in model.named_parameters(remove_duplicate=False)}
        return [k for k in state if k in names and k not in tied]
    tied = tied_keys(state)
    return [k for k, v in state.items() if v.is_floating_point() and not is_statistic_key(k) and k not in tied]


@dataclass(frozen=True)
class Coefficient:
    """The coefficient $c(\\alpha) = s\\,\\alpha^p$ of one state entry (``s`` = ``scale`` ∈ {0, 1})."""

    power: int = 1
    scale: float = 1.0

    def __post_init__(self) -> None:
        if not isinstance(self.power, int) or self.power < 0:
            raise ValueError(f"power must be a non-negative integer, got {self.power!r}")

    def value(self, alpha: float) -> float:
        return self.scale * (1.0 if self.power == 0 else alpha**self.power)

    def d1(self, alpha: float) -> float:
        p = self.power
        return 0.0 if p == 0 else self.scale * p * (1.0 if p == 1 else alpha ** (p - 1))

    def d2(self, alpha: float) -> float:
        p = self.power
        return 0.0 if p < 2 else self.scale * p * (p - 1) * (1.0 if p == 2 else alpha ** (p - 2))

    @property
    def is_constant(self) -> bool:
        return self.power == 0 or self.scale == 0.0


_LINEAR = Coefficient(1)
_AT_END = Coefficient(0, 1.0)
_AT_START = Coefficient(0, 0.0)


@dataclass(frozen=True, eq=False)
class ParameterPath:
    r"""A path $\alpha\mapsto\theta(\alpha)$ between two states (see the module docstring).

    Attributes:
        start: state at the start (every key of the model's state dict).
        end: state at the end, same keys, shapes, dtypes and device.
        coefficients: the coefficient of every floating-point key.
        kind: ``"linear"``, ``"layerwise"`` or ``"homogeneous_bias"``.
        label: a short description (the moving group for a layer-wise path).
    """

    start: State
    end: State
    coefficients: dict[str, Coefficient]
    kind: str = "linear"
    label: str = "linear"

    @property
    def float_keys(self) -> list[str]:
        return list(self.coefficients)

    def weights(self, alpha: float, key: str) -> tuple[float, float]:
        """Mixing weights ``(1 − c, c)`` of ``(start[key], end[key])`` at ``alpha``."""
        c = self.coefficients[key].value(alpha)
        return (1.0 - c, c)

    def state(self, alpha: float) -> State:
        """$\\theta(\\alpha)$: every entry of the state (integer entries from ``end``)."""
        out: State = {}
        for k, e in self.end.items():
            coef = self.coefficients.get(k)
            if coef is None:
                out[k] = e
                continue
            c = coef.value(alpha)
            out[k] = e if c == 1.0 else self.start[k] if c == 0.0 else torch.lerp(self.start[k], e, c)
        return out

    def derivatives(self, alpha: float) -> tuple[State, State]:
        """$(\\theta'(\\alpha), \\theta''(\\alpha))$, only the entries that are not identically zero."""
        d1: State = {}
        d2: State = {}
        for k, coef in self.coefficients.items():
            if coef.is_constant:
                continue
            delta = self.end[k] - self.start[k]
            a1, a2 = coef.d1(alpha), coef.d2(alpha)
            if a1 != 0.0:
                d1[k] = delta if a1 == 1.0 else a1 * delta
            if a2 != 0.0:
                d2[k] = a2 * delta
        return d1, d2

    def to(self, device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> ParameterPath:
        """The same path with floating-point entries cast to ``dtype`` and everything moved to ``device``."""
        dtype = _validate.float_dtype(dtype)
        device = _validate.check_device(device)

        def conv(t: torch.Tensor) -> torch.Tensor:
            return t.to(device=device, dtype=dtype if (dtype is not None and t.is_floating_point()) else None)

        return ParameterPath(
            {k: conv(v) for k, v in self.start.items()},
            {k: conv(v) for k, v in self.end.items()},
            dict(self.coefficients),
            self.kind,
            self.label,
        )


def _float_keys(state: State) -> list[str]:
    return [k for k, v in state.items() if v.is_floating_point() or v.is_complex()]


def linear_path(start: StateLike, end: StateLike, *, model: nn.Module | None = None) -> ParameterPath:
    r"""$\theta(\alpha) = (1-\alpha)\theta^{\text{start}} + \alpha\theta^{\text{end}}$ (float buffers too).

    Args:
        start, end: state dicts or modules with the same keys, shapes, dtypes, device.
        model: when given, the states must also match ``model.state_dict()``.
    """
    a, b = validate_states(start, end, model=model)
    return ParameterPath(a, b, {k: _LINEAR for k in _float_keys(a)}, "linear", "linear")


def _module_of(key: str) -> str:
    return key.rsplit(".", 1)[0] if "." in key else ""


def layer_groups(state: StateLike, *, by: str | int = "module", model: nn.Module | None = None) -> dict[str, list[str]]:
    """Group the floating-point keys of a state into layers or blocks, in state order.

    Args:
        state: a state dict or module.
        by: ``"module"``: one group per module owning parameters (``"features.0"``, ``"fc"``);
            an int ``d``: one group per prefix of ``d`` name components (``d=2`` groups a torchvision
            ResNet into ``"conv1"``, ``"bn1"``, ``"layer1.0"``, …, ``"fc"``).
        model: when given, only modules that own a trainable parameter form groups (buffers of such a module
            join its group).

    Returns:
        ``{group name: [keys]}``. Groups holding only running statistics (no parameter) are dropped.
    """
    s = as_state(state)
    params = set(parameter_keys(s, model))
    groups: dict[str, list[str]] = {}
    for k in _float_keys(s):
        mod = _module_of(k)
        if by == "module":
            g = mod
        elif isinstance(by, int) and not isinstance(by, bool) and by >= 1:
            g = ".".join(k.split(".")[:by]) if k.count(".") >= by else mod
        else:
            raise ValueError(f"by must be 'module' or a positive int (name components), got {by!r}")
        groups.setdefault(g, []).append(k)
    return {g: ks for g, ks in groups.items() if any(k in params for k in ks)}


def _select(keys: list[str], group: str | re.Pattern | Iterable[str]) -> list[str]:
    if isinstance(group, re.Pattern):
        chosen = [k for k in keys if group.search(k)]
        desc = f"regex {group.pattern!r}"
    elif isinstance(group, str):
        chosen = [k for k in keys if k == group or k.startswith(group + ".")] if group else list(keys)
        desc = f"module {group!r}"
    else:
        wanted = list(group)
        unknown = [k for k in wanted if k not in keys]
        if unknown:
            raise ValueError(f"group keys not in the state: {_show(unknown)}")
        chosen = [k for k in keys if k in set(wanted)]
        desc = "the given keys"
    if not chosen:
        modules = sorted({_module_of(k) for k in keys})
        raise ValueError(f"{desc} matches no floating-point key of the state; modules are {_show(modules, 12)}")
    return chosen


def layerwise_path(
    start: StateLike,
    end: StateLike,
    group: str | re.Pattern | Iterable[str],
    *,
    rest: str = "end",
    model: nn.Module | None = None,
) -> ParameterPath:
    r"""Layer-wise path (Vlaar & Frankle 2022): ``group`` moves from start to end, the rest stays fixed.

    $$
    \theta^{(g)}(\alpha) = (1-\alpha)\theta^{(g)}_{\text{start}} + \alpha\theta^{(g)}_{\text{end}},\qquad
    \theta^{(k)}(\alpha) = \theta^{(k)}_{\text{end}}\ (k\notin g).
    $$

    Args:
        start, end: the two states.
        group: a module name (``"layer1.0"`` selects ``layer1.0.*``), a compiled regex (``re.compile(r"bias$")``,
            matched with ``search``) or an explicit collection of keys. A tied tensor (see
            [`tied_keys`][mlitheory.paths.tied_keys]) moves under all its names when one of them is selected.
        rest: ``"end"`` (the paper's choice) or ``"start"``: where the other entries stay.
        model: optional model the states must match.

    Raises:
        ValueError: the group matches no floating-point key (the error lists the modules).
    """
    if rest not in ("end", "start"):
        raise ValueError(f"rest must be 'end' or 'start', got {rest!r}")
    a, b = validate_states(start, end, model=model)
    keys = _float_keys(a)
    chosen = set(_select(keys, group))
    for alias, canon in tied_keys(a, b, model=model).items():  # a tied tensor moves under all its names
        if alias in chosen or canon in chosen:
            chosen.update((alias, canon))
    fixed = _AT_END if rest == "end" else _AT_START
    coefs = {k: (_LINEAR if k in chosen else fixed) for k in keys}
    label = group.pattern if isinstance(group, re.Pattern) else group if isinstance(group, str) else "keys"
    return ParameterPath(a, b, coefs, "layerwise", f"layer-wise: {label}")


def layer_numbers(state: StateLike) -> dict[str, int]:
    """The layer index ℓ (1-based) of every layer of a state: ``{module name: ℓ}``.

    The layers are the modules owning an entry ``<m>.weight`` with at least two dimensions (``Linear``, ``Conv``),
    numbered in state order (the order of registration); normalisation layers (1-D weights) are not layers. This
    is the numbering of the homogeneous scaling $(W_\\ell, b_\\ell) \\mapsto (cW_\\ell, c^\\ell b_\\ell)$.

    Raises:
        ValueError: the state has no such weight.
    """
    s = as_state(state)
    names = [k[: -len(".weight")] for k, v in s.items() if k.endswith(".weight") and v.ndim >= 2]
    if "weight" in s and s["weight"].ndim >= 2:  # a bare Linear/Conv module
        names.insert(0, "")
    if not names:
        raise ValueError(f"no layer to number: no entry '<module>.weight' with >= 2 dimensions among {_show(s)}")
    return {name: ell for ell, name in enumerate(names, start=1)}


def homogeneous_bias_path(
    start: StateLike,
    end: StateLike,
    *,
    depths: Mapping[str, int] | None = None,
    model: nn.Module | None = None,
) -> ParameterPath:
    r"""Homogeneous interpolation of biases (``theory_bias_plateau.md`` §3.4, eq. (3)).

    $$
    W_\ell(\alpha) = (1-\alpha)W_\ell^{\text{start}} + \alpha W_\ell^{\text{end}},\qquad
    b_\ell(\alpha) = (1-\alpha^\ell)\,b_\ell^{\text{start}} + \alpha^\ell\,b_\ell^{\text{end}}.
    $$

    Args:
        start, end: the two states.
        depths: ``{bias key: ℓ}``. By default the layers of [`layer_numbers`][mlitheory.paths.layer_numbers] (entries
            ``<m>.weight`` with at least two dimensions, in state order, from 1), and ``<m>.bias`` gets exponent ℓ of
            ``<m>.weight``. All other floating-point entries move linearly.
        model: optional model the states must match.

    Raises:
        ValueError: a key of ``depths`` is not in the state, or an exponent is not a positive integer.
    """
    a, b = validate_states(start, end, model=model)
    keys = _float_keys(a)
    if depths is None:
        biases = {m: f"{m}.bias" if m else "bias" for m in layer_numbers(a)}
        depths = {biases[m]: ell for m, ell in layer_numbers(a).items() if biases[m] in a}
    coefs = {k: _LINEAR for k in keys}
    for k, ell in depths.items():
        if k not in coefs:
            raise ValueError(f"depths names {k!r}, which is not a floating-point key of the state")
        if not isinstance(ell, int) or isinstance(ell, bool) or ell < 1:
            raise ValueError(f"depths[{k!r}] must be a positive integer layer index, got {ell!r}")
        coefs[k] = Coefficient(ell)
    return ParameterPath(a, b, coefs, "homogeneous_bias", "homogeneous bias")
