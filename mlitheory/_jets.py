"""Jet algebra for second-order forward (Taylor) mode: values with their first two derivatives along α.

A [`Jet`][mlitheory.taylor.Jet] ``(v, v′, v″)`` is propagated by the second-order rules of
[`mlitheory.taylor`][mlitheory.taylor]: bilinear maps (product rule with the cross term ``2a′b′``), elementwise
functions (``φ″u′² + φ′u″``), linear maps (applied to each component). Also the rule tables of the interpreter, and
compositions of the normalisation layers from elementary ops, used wherever nested `torch.func.jvp` must run through
them (PyTorch's fused kernels give wrong second forward derivatives with batch statistics, see `CompositeNorms`).
"""

from __future__ import annotations

import functools
import math
import operator
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from mlitheory._model import ModelView

Tensor = torch.Tensor


class Jet:
    """A value and its first two derivatives along α; ``None`` means identically zero."""

    __slots__ = ("d1", "d2", "v")

    def __init__(self, v: Tensor, d1: Tensor | None = None, d2: Tensor | None = None):
        self.v, self.d1, self.d2 = v, d1, d2

    @property
    def constant(self) -> bool:
        return self.d1 is None and self.d2 is None

    def map(self, fn: Callable[[Tensor], Any]) -> Jet:
        """Apply a map that is linear in the tensor (reshape, pooling, indexing, …) to every component."""
        return Jet(fn(self.v), None if self.d1 is None else fn(self.d1), None if self.d2 is None else fn(self.d2))

    def dense(self) -> tuple[Tensor, Tensor, Tensor]:
        z = torch.zeros_like(self.v)
        return self.v, z if self.d1 is None else self.d1, z if self.d2 is None else self.d2


def _sum(*terms: Tensor | None) -> Tensor | None:
    out = None
    for t in terms:
        if t is not None:
            out = t if out is None else out + t
    return out


def _scale(c: float, t: Tensor | None) -> Tensor | None:
    return None if t is None else t * c


def lift(a: Any) -> Jet:
    return a if isinstance(a, Jet) else Jet(a)


def jadd(a: Any, b: Any, alpha: float = 1.0) -> Any:
    if not isinstance(a, Jet) and not isinstance(b, Jet):
        return a + alpha * b if alpha != 1.0 else a + b
    a, b = lift(a), lift(b)
    s = (lambda t: t) if alpha == 1.0 else (lambda t: None if t is None else alpha * t)
    return Jet(a.v + (b.v if alpha == 1.0 else alpha * b.v), _sum(a.d1, s(b.d1)), _sum(a.d2, s(b.d2)))


def jmul(a: Any, b: Any) -> Any:
    """Product rule for ``a * b`` (either may be a constant)."""
    return jbilinear(operator.mul, a, b)


def jbilinear(op: Callable[[Tensor, Tensor], Tensor], a: Any, b: Any) -> Any:
    """Second-order jet of ``op(a, b)`` for ``op`` bilinear (matmul, linear, conv, product)."""
    if not isinstance(a, Jet) and not isinstance(b, Jet):
        return op(a, b)
    a, b = lift(a), lift(b)

    def f(x: Tensor | None, y: Tensor | None) -> Tensor | None:
        return None if x is None or y is None else op(x, y)

    cross = f(a.d1, b.d1)
    return Jet(op(a.v, b.v), _sum(f(a.d1, b.v), f(a.v, b.d1)), _sum(f(a.d2, b.v), _scale(2.0, cross), f(a.v, b.d2)))


def junary(x: Any, y: Tensor, f1: Tensor | None, f2: Tensor | None) -> Any:
    """Jet of an elementwise function with value ``y``, first derivative ``f1`` and second ``f2`` at ``x.v``."""
    if not isinstance(x, Jet):
        return y
    d1 = None if (x.d1 is None or f1 is None) else f1 * x.d1
    d2 = _sum(
        None if (x.d2 is None or f1 is None) else f1 * x.d2,
        None if (x.d1 is None or f2 is None) else f2 * x.d1 * x.d1,
    )
    return Jet(y, d1, d2)


# ---------------------------------------------------------------------------------------------------------------
# elementwise activations: value, φ′, φ″ (None = identically zero)
# ---------------------------------------------------------------------------------------------------------------

_SQRT2 = math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def _relu(v: Tensor, **_: Any):
    return torch.relu(v), (v > 0).to(v.dtype), None


def _leaky(v: Tensor, negative_slope: float = 0.01, **_: Any):
    pos = v > 0
    # the slope in v's dtype: torch.where on two Python numbers would make it a float32 (torch's default) first
    one, s = (torch.tensor(c, dtype=v.dtype, device=v.device) for c in (1.0, negative_slope))
    return F.leaky_relu(v, negative_slope), torch.where(pos, one, s), None


def _tanh(v: Tensor, **_: Any):
    y = torch.tanh(v)
    f1 = 1 - y * y
    return y, f1, -2 * y * f1


def _sigmoid(v: Tensor, **_: Any):
    y = torch.sigmoid(v)
    f1 = y * (1 - y)
    return y, f1, f1 * (1 - 2 * y)


def _gelu(v: Tensor, approximate: str = "none", **_: Any):
    if approximate != "none":
        return None
    cdf = 0.5 * (1 + torch.erf(v / _SQRT2))
    pdf = torch.exp(-0.5 * v * v) * _INV_SQRT_2PI
    return v * cdf, cdf + v * pdf, pdf * (2 - v * v)


def _silu(v: Tensor, **_: Any):
    s = torch.sigmoid(v)
    return v * s, s * (1 + v * (1 - s)), s * (1 - s) * (2 + v * (1 - 2 * s))


def _softplus(v: Tensor, beta: float = 1.0, threshold: float = 20.0, **_: Any):
    y = F.softplus(v, beta, threshold)
    s = torch.sigmoid(beta * v)
    lin = beta * v > threshold
    return y, torch.where(lin, 1.0, s).to(v.dtype), torch.where(lin, 0.0, beta * s * (1 - s)).to(v.dtype)


def _elu(v: Tensor, alpha: float = 1.0, **_: Any):
    pos = v > 0
    e = alpha * torch.exp(torch.clamp(v, max=0))
    return F.elu(v, alpha), torch.where(pos, 1.0, e).to(v.dtype), torch.where(pos, 0.0, e).to(v.dtype)


ACT_MODULES: dict[type, Callable[[nn.Module], dict]] = {
    nn.ReLU: lambda m: {},
    nn.LeakyReLU: lambda m: {"negative_slope": m.negative_slope},
    nn.Tanh: lambda m: {},
    nn.Sigmoid: lambda m: {},
    nn.GELU: lambda m: {"approximate": m.approximate},
    nn.SiLU: lambda m: {},
    nn.Softplus: lambda m: {"beta": m.beta, "threshold": m.threshold},
    nn.ELU: lambda m: {"alpha": m.alpha},
}
ACT_RULE = {
    nn.ReLU: _relu,
    nn.LeakyReLU: _leaky,
    nn.Tanh: _tanh,
    nn.Sigmoid: _sigmoid,
    nn.GELU: _gelu,
    nn.SiLU: _silu,
    nn.Softplus: _softplus,
    nn.ELU: _elu,
}
ACT_FUNCTIONS: dict[Any, Callable] = {
    F.relu: _relu,
    torch.relu: _relu,
    F.leaky_relu: _leaky,
    torch.tanh: _tanh,
    F.tanh: _tanh,
    torch.sigmoid: _sigmoid,
    F.sigmoid: _sigmoid,
    F.gelu: _gelu,
    F.silu: _silu,
    F.softplus: _softplus,
    F.elu: _elu,
}
ACT_METHODS = {"relu": _relu, "tanh": _tanh, "sigmoid": _sigmoid, "relu_": _relu, "tanh_": _tanh}
ACT_ARGS = {F.leaky_relu: ("negative_slope",), F.softplus: ("beta", "threshold"), F.elu: ("alpha",)}

# maps linear in their tensor argument, applied to every component
LINEAR_MODULES = (
    nn.Flatten,
    nn.Unflatten,
    nn.Identity,
    nn.AvgPool1d,
    nn.AvgPool2d,
    nn.AvgPool3d,
    nn.AdaptiveAvgPool1d,
    nn.AdaptiveAvgPool2d,
    nn.AdaptiveAvgPool3d,
)
LINEAR_FUNCTIONS = {
    torch.flatten,
    torch.reshape,
    torch.transpose,
    torch.permute,
    torch.squeeze,
    torch.unsqueeze,
    torch.mean,
    torch.sum,
    F.avg_pool1d,
    F.avg_pool2d,
    F.avg_pool3d,
    F.adaptive_avg_pool1d,
    F.adaptive_avg_pool2d,
    F.adaptive_avg_pool3d,
    operator.getitem,
    operator.neg,
    torch.neg,
}
LINEAR_METHODS = {
    "view",
    "reshape",
    "flatten",
    "permute",
    "transpose",
    "contiguous",
    "squeeze",
    "unsqueeze",
    "expand",
    "expand_as",
    "t",
    "mean",
    "sum",
    "view_as",
    "reshape_as",
    "repeat",
    "neg",
    "chunk",
    "split",
    "unbind",
}
VALUE_METHODS = {"size", "dim", "numel", "type", "ndimension", "nelement", "is_contiguous"}
MAX_POOL = {nn.MaxPool1d: F.max_pool1d, nn.MaxPool2d: F.max_pool2d, nn.MaxPool3d: F.max_pool3d}


def linear_apply(fn: Callable[[Tensor], Any], x: Jet) -> Any:
    v = fn(x.v)
    d1 = None if x.d1 is None else fn(x.d1)
    d2 = None if x.d2 is None else fn(x.d2)
    if isinstance(v, (tuple, list)):
        n = len(v)
        return tuple(Jet(v[i], None if d1 is None else d1[i], None if d2 is None else d2[i]) for i in range(n))
    return Jet(v, d1, d2)


def contains_jet(obj: Any) -> bool:
    if isinstance(obj, Jet):
        return True
    if isinstance(obj, (tuple, list)):
        return any(contains_jet(o) for o in obj)
    if isinstance(obj, dict):
        return any(contains_jet(o) for o in obj.values())
    return False


def primal(obj: Any) -> Any:
    if isinstance(obj, Jet):
        return obj.v
    if isinstance(obj, (tuple, list)):
        return type(obj)(primal(o) for o in obj)
    if isinstance(obj, dict):
        return {k: primal(v) for k, v in obj.items()}
    return obj


def poly(obj: Any, t: Tensor) -> Any:
    """Replace every Jet by the polynomial v + t v′ + t²/2 v″ (whose first two derivatives at 0 are the jet)."""
    if isinstance(obj, Jet):
        out = obj.v
        if obj.d1 is not None:
            out = out + t * obj.d1
        if obj.d2 is not None:
            out = out + (0.5 * t * t) * obj.d2
        return out
    if isinstance(obj, (tuple, list)):
        return type(obj)(poly(o, t) for o in obj)
    if isinstance(obj, dict):
        return {k: poly(v, t) for k, v in obj.items()}
    return obj


def nested_jvp(f: Callable[[Tensor], Any], t: Tensor) -> tuple[Any, Any, Any]:
    """$(f(t), f'(t), f''(t))$ of a function of one scalar tensor by nested forward mode.

    ``torch.func.jvp`` of ``torch.func.jvp`` with the unit tangent: exact, no finite differences. ``f`` may return
    a tensor or a tuple of tensors (then each of the three is a tuple); works under `torch.func.vmap`. The one
    place where the package takes second derivatives along a path by nested jvp.
    """
    one = torch.ones_like(t)

    def first(s: Tensor):
        return torch.func.jvp(f, (s,), (one,))

    (v, d1), (_, d2) = torch.func.jvp(first, (t,), (one,))
    return v, d1, d2


def jet_of_function(g: Callable[[Tensor], Any], dtype: torch.dtype, device: torch.device) -> Any:
    """Jet of ``g(t)`` at t = 0 by nested forward mode."""
    v, d1, d2 = nested_jvp(g, torch.zeros((), dtype=dtype, device=device))
    if isinstance(v, (tuple, list)):
        return tuple(Jet(a, b, c) for a, b, c in zip(v, d1, d2))
    return Jet(v, d1, d2)


def first_jet(obj: Any) -> Jet | None:
    if isinstance(obj, Jet):
        return obj
    if isinstance(obj, (tuple, list)):
        for o in obj:
            j = first_jet(o)
            if j is not None:
                return j
    if isinstance(obj, dict):
        return first_jet(list(obj.values()))
    return None


def mean_of(parts: list[Tensor | None]) -> Tensor | None:
    if all(p is None for p in parts):
        return None
    ref = next(p for p in parts if p is not None)
    return sum((p if p is not None else torch.zeros_like(ref)) for p in parts) / len(parts)


def reshape(a: Any, shape: tuple) -> Any:
    if isinstance(a, Jet):
        return a.map(lambda t: t.view(shape))
    return a.view(shape)


def rsqrt(u: Any) -> Any:
    if not isinstance(u, Jet):
        return torch.rsqrt(u)
    r = torch.rsqrt(u.v)
    r3 = r * r * r
    return junary(u, r, -0.5 * r3, 0.75 * r3 * r * r)


def concat(fn: Callable, seq: list[Jet], *args: Any, **kwargs: Any) -> Jet:
    def comp(get: Callable[[Jet], Tensor | None]) -> Tensor | None:
        parts = [get(s) for s in seq]
        if all(p is None for p in parts):
            return None
        return fn([torch.zeros_like(s.v) if p is None else p for s, p in zip(seq, parts)], *args, **kwargs)

    return Jet(fn([s.v for s in seq], *args, **kwargs), comp(lambda s: s.d1), comp(lambda s: s.d2))


def _normalize(x: Tensor, dims: list[int] | tuple[int, ...], eps: float) -> Tensor:
    mu = x.mean(dims, keepdim=True)
    c = x - mu
    return c * torch.rsqrt((c * c).mean(dims, keepdim=True) + eps)


def _affine_channels(y: Tensor, weight: Tensor | None, bias: Tensor | None) -> Tensor:
    shape = (1, -1) + (1,) * (y.ndim - 2)
    if weight is not None:
        y = y * weight.view(shape)
    if bias is not None:
        y = y + bias.view(shape)
    return y


def _batch_norm_composite(mod: _BatchNorm, x: Tensor) -> Tensor:
    if mod.training and mod.track_running_stats:  # would update the running statistics: keep the native layer
        return type(mod).forward(mod, x)
    if mod.training or mod.running_mean is None:
        y = _normalize(x, [0, *range(2, x.ndim)], mod.eps)
    else:
        shape = (1, -1) + (1,) * (x.ndim - 2)
        y = (x - mod.running_mean.view(shape)) * torch.rsqrt(mod.running_var.view(shape) + mod.eps)
    return _affine_channels(y, mod.weight, mod.bias)


def _layer_norm_function(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    y = _normalize(x, tuple(range(-len(normalized_shape), 0)), eps)
    if weight is not None:
        y = y * weight
    return y if bias is None else y + bias


def _layer_norm_composite(mod: nn.LayerNorm, x: Tensor) -> Tensor:
    return _layer_norm_function(x, mod.normalized_shape, mod.weight, getattr(mod, "bias", None), mod.eps)


def _instance_norm_composite(mod: nn.modules.instancenorm._InstanceNorm, x: Tensor) -> Tensor:
    if mod.track_running_stats and not mod.training:
        shape = (1, -1) + (1,) * (x.ndim - 2)
        y = (x - mod.running_mean.view(shape)) * torch.rsqrt(mod.running_var.view(shape) + mod.eps)
    elif mod.track_running_stats:
        return type(mod).forward(mod, x)
    else:
        y = _normalize(x, list(range(2, x.ndim)), mod.eps)
    return _affine_channels(y, mod.weight, mod.bias)


COMPOSITE_FUNCTIONS: dict[Any, Callable] = {F.layer_norm: _layer_norm_function}


def _weight_norm_function(v: Tensor, g: Tensor, dim: int) -> Tensor:
    """``torch._weight_norm(v, g, dim)`` from elementary ops: ``v · g / ‖v‖`` (norm over all dims but ``dim``)."""
    norm = torch.linalg.vector_norm(v) if dim == -1 else torch.norm_except_dim(v, 2, dim)
    return v * (g / norm)


def _weight_norm_composite(mod: nn.Module, weight_g: Tensor, weight_v: Tensor) -> Tensor:
    return _weight_norm_function(weight_v, weight_g, mod.dim)


class _WeightNormHook:
    """The forward pre-hook of the old ``torch.nn.utils.weight_norm``, computing the weight by composition."""

    def __init__(self, hook: Any):
        self.hook = hook

    def __call__(self, module: nn.Module, inputs: Any) -> None:
        name = self.hook.name
        g, v = getattr(module, name + "_g"), getattr(module, name + "_v")
        setattr(module, name, _weight_norm_function(v, g, self.hook.dim))


def _old_weight_norm() -> type | None:
    import sys

    return getattr(sys.modules.get("torch.nn.utils.weight_norm"), "WeightNorm", None)


class CompositeNorms:
    """Within the block, layers without forward-mode derivatives run as compositions of elementary ops.

    PyTorch's fused ``layer_norm``, ``batch_norm`` with batch statistics and ``instance_norm`` return wrong
    second derivatives under forward-over-forward `torch.func.jvp` (torch 2.13; checked against finite
    differences in ``tests/test_taylor.py``), and ``batch_norm`` refuses forward derivatives with respect to the
    running statistics. Nested-jvp fallbacks therefore use these compositions.

    Attention and weight normalisation have fused kernels without forward derivatives at all (torch 2.13:
    ``_transformer_encoder_layer_fwd``, the flash ``scaled_dot_product_attention`` on CPU,
    ``_weight_norm_interface``). Within the block the fast paths of ``nn.MultiheadAttention`` and the
    Transformer layers are off (``torch.backends.mha.set_fastpath_enabled(False)``, restored after),
    ``scaled_dot_product_attention`` runs its math (unfused) implementation, and ``weight_norm``
    parametrizations (and the old ``weight_norm`` hook) compute ``v · g / ‖v‖`` from elementary ops. These
    switch only the private copy of the model and torch's global kernel choice for the duration of the block.
    """

    def __init__(self, view: ModelView):
        from torch.nn.utils.parametrizations import _WeightNorm

        self.mods: list[tuple[nn.Module, Callable]] = []
        self.hooks: list[tuple[dict, int, Any]] = []
        old = _old_weight_norm()
        for m in view.module.modules():
            if isinstance(m, _BatchNorm):
                self.mods.append((m, _batch_norm_composite))
            elif isinstance(m, nn.LayerNorm):
                self.mods.append((m, _layer_norm_composite))
            elif isinstance(m, nn.modules.instancenorm._InstanceNorm):
                self.mods.append((m, _instance_norm_composite))
            elif isinstance(m, _WeightNorm):
                self.mods.append((m, _weight_norm_composite))
            if old is not None:
                for key, hook in m._forward_pre_hooks.items():
                    if isinstance(hook, old):
                        self.hooks.append((m._forward_pre_hooks, key, hook))
        self._saved: list[tuple[bool, Any]] = []

    def __enter__(self) -> None:
        from torch.nn.attention import SDPBackend, sdpa_kernel

        for m, fn in self.mods:
            m.forward = functools.partial(fn, m)
        for table, key, hook in self.hooks:
            table[key] = _WeightNormHook(hook)
        fast = torch.backends.mha.get_fastpath_enabled()
        torch.backends.mha.set_fastpath_enabled(False)
        kernel = sdpa_kernel([SDPBackend.MATH])
        kernel.__enter__()
        self._saved.append((fast, kernel))

    def __exit__(self, *exc: object) -> None:
        fast, kernel = self._saved.pop()
        kernel.__exit__(None, None, None)
        torch.backends.mha.set_fastpath_enabled(fast)
        for table, key, hook in self.hooks:
            table[key] = hook
        for m, _ in self.mods:
            del m.forward
