r"""Second-order forward (Taylor) mode along a parameter path: :math:`(z, z', z'')` of a network's outputs.

For a path :math:`\theta(\alpha)` (:mod:`mlitheory.paths`) and inputs :math:`x`, the outputs
:math:`z(\alpha)=f(x;\theta(\alpha))` have derivatives :math:`z'` and :math:`z''` in α. Instead of nesting two
forward-mode passes (:func:`torch.func.jvp` of :func:`torch.func.jvp`, which carries four tensors per value),
this module carries the *jet* :math:`(v, v', v'')` of every intermediate value through the network once, with
the second-order rules

.. math::

    (ab)'' = a''b + 2a'b' + ab'', \qquad \phi(u)'' = \phi''(u)\,u'^2 + \phi'(u)\,u'' ,

for bilinear maps (Linear, Conv, matmul, products) and elementwise functions. The parameters enter as the exact
jets of the path: :math:`\theta_k' = c_k'(\alpha)\Delta_k`, :math:`\theta_k'' = c_k''(\alpha)\Delta_k`, and
:math:`\theta''=0` on a linear path, which removes most second-order terms. The first Linear/Conv layer, whose
input does not depend on α, is computed once per input for both endpoint states and mixed at every α.

Known rules: Linear, Conv1d/2d/3d, ReLU, LeakyReLU, Tanh, Sigmoid, GELU, SiLU, Softplus, ELU, Identity,
Dropout (eval), Flatten, Unflatten, batch norm (running statistics, or batch statistics in ``"batch"`` mode),
LayerNorm, max/average/adaptive-average pooling, residual additions, products, concatenation, reshaping and
indexing. The graph comes from :func:`torch.fx.symbolic_trace`; any node without a rule (or a whole model that
cannot be traced) falls back to nested :func:`torch.func.jvp` on that node alone, so every model works and
the known layers are fast.

References:
    Griewank, Walther. *Evaluating Derivatives*, 2nd ed., SIAM 2008, ch. 13 (univariate Taylor propagation).
    Bettencourt, Johnson, Duvenaud. *Taylor-mode automatic differentiation for higher-order derivatives in JAX*,
    NeurIPS 2019 workshop.
"""

from __future__ import annotations

import functools
import math
import operator
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import fx, nn
from torch.nn.modules.batchnorm import _BatchNorm

from mlitheory import _data
from mlitheory._model import ModelView, extra_buffers
from mlitheory.paths import ParameterPath

__all__ = ["Jet", "TaylorForward", "nested_jvp_outputs"]

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


def _lift(a: Any) -> Jet:
    return a if isinstance(a, Jet) else Jet(a)


def jadd(a: Any, b: Any, alpha: float = 1.0) -> Any:
    if not isinstance(a, Jet) and not isinstance(b, Jet):
        return a + alpha * b if alpha != 1.0 else a + b
    a, b = _lift(a), _lift(b)
    s = (lambda t: t) if alpha == 1.0 else (lambda t: None if t is None else alpha * t)
    return Jet(a.v + (b.v if alpha == 1.0 else alpha * b.v), _sum(a.d1, s(b.d1)), _sum(a.d2, s(b.d2)))


def jmul(a: Any, b: Any) -> Any:
    """Product rule for ``a * b`` (either may be a constant)."""
    return jbilinear(operator.mul, a, b)


def jbilinear(op: Callable[[Tensor, Tensor], Tensor], a: Any, b: Any) -> Any:
    """Second-order jet of ``op(a, b)`` for ``op`` bilinear (matmul, linear, conv, product)."""
    if not isinstance(a, Jet) and not isinstance(b, Jet):
        return op(a, b)
    a, b = _lift(a), _lift(b)

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
    return F.leaky_relu(v, negative_slope), torch.where(pos, 1.0, negative_slope).to(v.dtype), None


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


_ACT_MODULES: dict[type, Callable[[nn.Module], dict]] = {
    nn.ReLU: lambda m: {},
    nn.LeakyReLU: lambda m: {"negative_slope": m.negative_slope},
    nn.Tanh: lambda m: {},
    nn.Sigmoid: lambda m: {},
    nn.GELU: lambda m: {"approximate": m.approximate},
    nn.SiLU: lambda m: {},
    nn.Softplus: lambda m: {"beta": m.beta, "threshold": m.threshold},
    nn.ELU: lambda m: {"alpha": m.alpha},
}
_ACT_RULE = {
    nn.ReLU: _relu,
    nn.LeakyReLU: _leaky,
    nn.Tanh: _tanh,
    nn.Sigmoid: _sigmoid,
    nn.GELU: _gelu,
    nn.SiLU: _silu,
    nn.Softplus: _softplus,
    nn.ELU: _elu,
}
_ACT_FUNCTIONS: dict[Any, Callable] = {
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
_ACT_METHODS = {"relu": _relu, "tanh": _tanh, "sigmoid": _sigmoid, "relu_": _relu, "tanh_": _tanh}
_ACT_ARGS = {F.leaky_relu: ("negative_slope",), F.softplus: ("beta", "threshold"), F.elu: ("alpha",)}

# maps linear in their tensor argument, applied to every component
_LINEAR_MODULES = (
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
_LINEAR_FUNCTIONS = {
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
_LINEAR_METHODS = {
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
_VALUE_METHODS = {"size", "dim", "numel", "type", "ndimension", "nelement", "is_contiguous"}
_MAX_CACHE = 256  # first-layer endpoint outputs kept (one per layer and input chunk)
_MAX_POOL = {nn.MaxPool1d: F.max_pool1d, nn.MaxPool2d: F.max_pool2d, nn.MaxPool3d: F.max_pool3d}


def _linear_apply(fn: Callable[[Tensor], Any], x: Jet) -> Any:
    v = fn(x.v)
    d1 = None if x.d1 is None else fn(x.d1)
    d2 = None if x.d2 is None else fn(x.d2)
    if isinstance(v, (tuple, list)):
        n = len(v)
        return tuple(Jet(v[i], None if d1 is None else d1[i], None if d2 is None else d2[i]) for i in range(n))
    return Jet(v, d1, d2)


def _contains_jet(obj: Any) -> bool:
    if isinstance(obj, Jet):
        return True
    if isinstance(obj, (tuple, list)):
        return any(_contains_jet(o) for o in obj)
    if isinstance(obj, dict):
        return any(_contains_jet(o) for o in obj.values())
    return False


def _values(obj: Any) -> Any:
    if isinstance(obj, Jet):
        return obj.v
    if isinstance(obj, (tuple, list)):
        return type(obj)(_values(o) for o in obj)
    if isinstance(obj, dict):
        return {k: _values(v) for k, v in obj.items()}
    return obj


def _poly(obj: Any, t: Tensor) -> Any:
    """Replace every Jet by the polynomial v + t v′ + t²/2 v″ (whose first two derivatives at 0 are the jet)."""
    if isinstance(obj, Jet):
        out = obj.v
        if obj.d1 is not None:
            out = out + t * obj.d1
        if obj.d2 is not None:
            out = out + (0.5 * t * t) * obj.d2
        return out
    if isinstance(obj, (tuple, list)):
        return type(obj)(_poly(o, t) for o in obj)
    if isinstance(obj, dict):
        return {k: _poly(v, t) for k, v in obj.items()}
    return obj


def _jet_of_function(g: Callable[[Tensor], Any], dtype: torch.dtype, device: torch.device) -> Any:
    """Jet of ``g(t)`` at t = 0 by nested forward mode."""
    t0 = torch.zeros((), dtype=dtype, device=device)
    one = torch.ones((), dtype=dtype, device=device)

    def first(t: Tensor):
        return torch.func.jvp(g, (t,), (one,))

    (v, d1), (_, d2) = torch.func.jvp(first, (t0,), (one,))
    if isinstance(v, (tuple, list)):
        return tuple(Jet(a, b, c) for a, b, c in zip(v, d1, d2))
    return Jet(v, d1, d2)


def _first_jet(obj: Any) -> Jet | None:
    if isinstance(obj, Jet):
        return obj
    if isinstance(obj, (tuple, list)):
        for o in obj:
            j = _first_jet(o)
            if j is not None:
                return j
    if isinstance(obj, dict):
        return _first_jet(list(obj.values()))
    return None


class TaylorForward:
    r"""Outputs of ``model`` along ``path`` with their first two α-derivatives, by Taylor mode.

    Args:
        model: any ``nn.Module`` (never modified; a private clone shares its tensors).
        path: the :class:`~mlitheory.paths.ParameterPath` (already on the compute device and dtype).
        mode: ``"eval"`` (running statistics from the state supplied to :meth:`__call__`) or ``"batch"``
            (batch-norm layers use the statistics of the inputs).
        statistics: ``"path"`` (float buffers follow the path and are differentiated) or ``"constant"``
            (buffers are the constants supplied per call, derivative zero).

    Attributes:
        fallback_nodes: names of graph nodes evaluated by nested ``jvp`` (no rule); ``["<model>"]`` when the
            model could not be traced.
    """

    def __init__(self, model: nn.Module, path: ParameterPath, *, mode: str = "eval", statistics: str = "path"):
        self.view = ModelView(model)
        self.view.configure("batch" if mode == "batch" else "eval")
        self.path = path
        self.statistics = statistics
        self.stat_keys = set(self.view.statistic_keys)
        self.delta = {k: path.end[k] - path.start[k] for k, c in path.coefficients.items() if not c.is_constant}
        self.extra = extra_buffers(model, path.start, next(iter(path.start.values())).device)
        self.fallback_nodes: list[str] = []
        self._cache: dict[tuple[str, int], tuple[Any, Tensor, Tensor, Tensor]] = {}
        self._mode = "batch" if mode == "batch" else "eval"
        self._record: dict[str, list[tuple[Any, Any]]] | None = None
        try:
            self.graph: fx.GraphModule | None = fx.symbolic_trace(self.view.module)
        except Exception as e:  # data-dependent control flow and the like: the whole model by nested jvp
            self.graph = None
            self.trace_error = f"{type(e).__name__}: {e}"
            self.fallback_nodes = ["<model>"]
        self.modules = dict(self.view.module.named_modules())
        self._norms = _CompositeNorms(self.view)

    def close(self) -> None:
        self.view.close()

    # -- parameters --------------------------------------------------------------------------------------------
    def _jets(self, alpha: float, buffers: dict[str, Tensor] | None) -> dict[str, Any]:
        state = self.path.state(alpha)
        state.update(self.extra)
        out: dict[str, Any] = dict(state)
        for k, delta in self.delta.items():
            if self.statistics == "constant" and k in self.stat_keys:
                continue
            c = self.path.coefficients[k]
            a1, a2 = c.d1(alpha), c.d2(alpha)
            out[k] = Jet(
                state[k],
                None if a1 == 0.0 else (delta if a1 == 1.0 else a1 * delta),
                None if a2 == 0.0 else a2 * delta,
            )
        if buffers:
            out.update(buffers)
        return out

    # -- public ------------------------------------------------------------------------------------------------
    def __call__(self, x: Any, alpha: float, buffers: dict[str, Tensor] | None = None) -> Jet:
        """Jet of the model's output at ``alpha`` for the inputs ``x`` (``buffers`` override state entries)."""
        jets = self._jets(alpha, buffers)
        if self.graph is None:
            return self._whole_model(x, jets)
        self._alpha = alpha
        with torch.no_grad():
            out = self._interpret(x, jets)
        if not isinstance(out, Jet):
            raise TypeError(f"the model must return a tensor of logits, got {type(_values(out)).__name__}")
        return out

    def recomputed_statistics(self, bn_inputs: Any, alpha: float, device=None, dtype=None) -> dict[str, Any]:
        """Jets of the running statistics re-estimated at ``alpha`` over ``bn_inputs``.

        Exactly what :func:`torch.optim.swa_utils.update_bn` computes (the average over batches of each batch's
        mean and unbiased variance, with batch-norm layers normalising by batch statistics meanwhile), with
        their first two α-derivatives. Requires a traced model.
        """
        if self.graph is None:
            raise RuntimeError("statistics jets need a model that torch.fx can trace")
        self.view.configure("stats")
        self._record = {}
        batches = 0
        try:
            jets = self._jets(alpha, None)
            self._alpha = alpha
            with torch.no_grad():
                for x in _data.inputs(bn_inputs, "bn_data"):
                    self._interpret(_data.move(x, device, dtype), jets)
                    batches += 1
            record = self._record
        finally:
            self._record = None
            self.view.configure(self._mode)
        out: dict[str, Any] = {}
        for target, pairs in record.items():
            p = f"{target}." if target else ""
            for i, name in enumerate(("running_mean", "running_var")):
                comps = [pair[i] for pair in pairs]
                out[p + name] = Jet(*(_mean_of([getattr(c, f) for c in comps]) for f in ("v", "d1", "d2")))
            mod = self.modules[target]
            if mod.num_batches_tracked is not None:
                out[p + "num_batches_tracked"] = torch.full_like(mod.num_batches_tracked, len(pairs))
        return out

    def _whole_model(self, x: Any, jets: dict[str, Any]) -> Jet:
        args, kwargs = _data.args_kwargs(x)
        ref = _first_jet(list(jets.values())) or Jet(next(iter(jets.values())))

        def g(t: Tensor):
            return torch.func.functional_call(self.view.module, _poly(jets, t), args, kwargs)

        with _CompositeNorms(self.view):
            return _jet_of_function(g, ref.v.dtype, ref.v.device)

    # -- the interpreter ---------------------------------------------------------------------------------------
    def _interpret(self, x: Any, jets: dict[str, Any]) -> Any:
        assert self.graph is not None
        args, kwargs = _data.args_kwargs(x)
        env: dict[fx.Node, Any] = {}
        positional = list(args)

        def load(a: Any) -> Any:
            return fx.node.map_arg(a, lambda n: env[n])

        for node in self.graph.graph.nodes:
            if node.op == "placeholder":
                name = node.target.lstrip("*")
                if positional:
                    env[node] = positional.pop(0)
                elif name in kwargs:
                    env[node] = kwargs[name]
                elif node.args:
                    env[node] = node.args[0]
                else:
                    raise TypeError(f"missing input {name!r} for the model")
            elif node.op == "get_attr":
                env[node] = jets[node.target] if node.target in jets else _getattr(self.view.module, node.target)
            elif node.op == "call_module":
                env[node] = self._module(node, load(node.args), load(node.kwargs), jets)
            elif node.op == "call_function":
                env[node] = self._function(node, load(node.args), load(node.kwargs))
            elif node.op == "call_method":
                env[node] = self._method(node, load(node.args), load(node.kwargs))
            elif node.op == "output":
                return load(node.args[0])
        raise RuntimeError("the traced graph has no output node")

    def _fallback(self, node: fx.Node, fn: Callable[..., Any], args: tuple, kwargs: dict) -> Any:
        if node.name not in self.fallback_nodes:
            self.fallback_nodes.append(node.name)
        ref = _first_jet((args, kwargs))
        assert ref is not None
        fn = _COMPOSITE_FUNCTIONS.get(fn, fn)
        with self._norms:
            return _jet_of_function(lambda t: fn(*_poly(args, t), **_poly(kwargs, t)), ref.v.dtype, ref.v.device)

    def _params(self, target: str, mod: nn.Module, jets: dict[str, Any]) -> dict[str, Any]:
        p = f"{target}." if target else ""
        out = {}
        for name, _ in list(mod.named_parameters(recurse=False)) + list(mod.named_buffers(recurse=False)):
            if p + name in jets:
                out[name] = jets[p + name]
        return out

    def _module(self, node: fx.Node, args: tuple, kwargs: dict, jets: dict[str, Any]) -> Any:
        target = node.target
        mod = self.modules[target]
        params = self._params(target, mod, jets)
        x = args[0] if args else None
        typ = type(mod)
        simple = len(args) == 1 and not kwargs and isinstance(x, Jet)
        if not _contains_jet((args, kwargs)) and not any(isinstance(v, Jet) for v in params.values()):
            return torch.func.functional_call(mod, {k: _values(v) for k, v in params.items()}, args, kwargs)
        if len(args) == 1 and not kwargs and not isinstance(x, (tuple, list, dict)):
            if typ in (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d):
                return self._affine(target, mod, _lift(x), params)
            if simple:
                if typ in _ACT_RULE:
                    r = _ACT_RULE[typ](x.v, **_ACT_MODULES[typ](mod))
                    if r is not None:
                        return junary(x, *r)
                if isinstance(mod, _LINEAR_MODULES) or (isinstance(mod, nn.Dropout) and not mod.training):
                    return _linear_apply(mod, x)
                if isinstance(mod, _BatchNorm):
                    return self._batchnorm(mod, x, params)
                if typ is nn.LayerNorm:
                    return self._layernorm(mod, x, params)
                if typ in _MAX_POOL and not mod.return_indices:
                    return self._maxpool(mod, x)

        def fn(*a: Any, **kw: Any) -> Any:
            return torch.func.functional_call(mod, kw.pop("__params"), a, kw)

        return self._fallback(node, fn, args, {**kwargs, "__params": params})

    def _affine(self, target: str, mod: nn.Module, x: Jet, params: dict[str, Any]) -> Any:
        w, b = params.get("weight"), params.get("bias")
        p = f"{target}." if target else ""
        if isinstance(mod, nn.Linear):
            op = F.linear
        else:

            def op(a: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
                return mod._conv_forward(a, weight, bias)

        coefs = self.path.coefficients
        wk, bk = p + "weight", p + "bias"
        same = wk in coefs and (b is None or (bk in coefs and coefs[bk] == coefs[wk]))
        if x.constant and same and not coefs[wk].is_constant:
            # input independent of α: the output is (1 − c) a₀ + c a₁ with a_j the endpoint outputs
            key = (target, id(x.v))
            hit = self._cache.get(key)
            if hit is None or hit[0] is not x.v:
                s, e = self.path.start, self.path.end
                a0 = op(x.v, s[wk], s[bk] if b is not None else None)
                a1 = op(x.v, e[wk], e[bk] if b is not None else None)
                hit = (x.v, a0, a1, a1 - a0)
                if len(self._cache) >= _MAX_CACHE:
                    self._cache.clear()
                self._cache[key] = hit
            _, a0, a1, diff = hit
            c = coefs[wk]
            a = self._alpha
            d1, d2 = c.d1(a), c.d2(a)
            return Jet(torch.lerp(a0, a1, c.value(a)), None if d1 == 0 else d1 * diff, None if d2 == 0 else d2 * diff)
        y = jbilinear(lambda a, weight: op(a, weight), x, w)
        if b is None:
            return y
        if isinstance(mod, nn.Linear):
            return jadd(y, b)
        shape = (-1,) + (1,) * (x.v.ndim - 2)
        return jadd(y, b.map(lambda t: t.view(shape)) if isinstance(b, Jet) else b.view(shape))

    def _batchnorm(self, mod: _BatchNorm, x: Jet, params: dict[str, Any]) -> Any:
        nd = x.v.ndim
        shape = (1, -1) + (1,) * (nd - 2)
        use_batch = mod.training or params.get("running_mean") is None
        if use_batch:
            dims = [0, *range(2, nd)]
            mu = x.map(lambda t: t.mean(dims, keepdim=True))
            c = jadd(x, mu, -1.0)
            var = jmul(c, c)
            var = var.map(lambda t: t.mean(dims, keepdim=True)) if isinstance(var, Jet) else var.mean(dims, True)
            if self._record is not None and mod.track_running_stats:
                n = x.v.numel() // x.v.shape[1]
                if n < 2:
                    raise ValueError("batch norm needs more than 1 value per channel to estimate statistics")
                target = next(t for t, m in self.modules.items() if m is mod)
                flat = _lift(var).map(lambda t: t.reshape(-1) * (n / (n - 1)))
                self._record.setdefault(target, []).append((mu.map(lambda t: t.reshape(-1)), flat))
        else:
            mu = _reshape(params["running_mean"], shape)
            var = _reshape(params["running_var"], shape)
            c = jadd(x, mu, -1.0)
        scale = _rsqrt(jadd(var, mod.eps))
        if params.get("weight") is not None:
            scale = jmul(scale, _reshape(params["weight"], shape))
        y = jmul(c, scale)
        if params.get("bias") is not None:
            y = jadd(y, _reshape(params["bias"], shape))
        return y

    def _layernorm(self, mod: nn.LayerNorm, x: Jet, params: dict[str, Any]) -> Any:
        dims = tuple(range(-len(mod.normalized_shape), 0))
        mu = x.map(lambda t: t.mean(dims, keepdim=True))
        c = jadd(x, mu, -1.0)
        var = _lift(jmul(c, c)).map(lambda t: t.mean(dims, keepdim=True))
        y = jmul(c, _rsqrt(jadd(var, mod.eps)))
        if params.get("weight") is not None:
            y = jmul(y, params["weight"])
        if params.get("bias") is not None:
            y = jadd(y, params["bias"])
        return y

    def _maxpool(self, mod: nn.Module, x: Jet) -> Jet:
        fn = _MAX_POOL[type(mod)]
        kw = {
            "kernel_size": mod.kernel_size,
            "stride": mod.stride,
            "padding": mod.padding,
            "dilation": mod.dilation,
            "ceil_mode": mod.ceil_mode,
        }
        v, idx = fn(x.v, return_indices=True, **kw)
        flat = idx.flatten(2)

        def take(t: Tensor | None) -> Tensor | None:
            return None if t is None else t.flatten(2).gather(2, flat).view_as(v)

        return Jet(v, take(x.d1), take(x.d2))

    def _function(self, node: fx.Node, args: tuple, kwargs: dict) -> Any:
        fn = node.target
        if not _contains_jet((args, kwargs)):
            return fn(*args, **kwargs)
        x = args[0] if args else None
        if fn is getattr:
            return getattr(_values(x), args[1])
        if fn in (operator.add, torch.add, operator.iadd) and len(args) == 2:
            alpha = kwargs.get("alpha", 1.0)
            if set(kwargs) <= {"alpha"}:
                return jadd(args[0], args[1], alpha)
        if fn in (operator.sub, torch.sub, operator.isub) and len(args) == 2 and not kwargs:
            return jadd(args[0], args[1], -1.0)
        if fn in (operator.mul, torch.mul, operator.imul) and len(args) == 2 and not kwargs:
            return jmul(args[0], args[1])
        if fn is operator.truediv and len(args) == 2 and not isinstance(args[1], Jet):
            return _lift(x).map(lambda t: t / args[1])
        if fn in (operator.matmul, torch.matmul, torch.mm, torch.bmm) and len(args) == 2 and not kwargs:
            return jbilinear(fn, args[0], args[1])
        if fn is F.linear and isinstance(x, Jet | Tensor):
            w = args[1] if len(args) > 1 else kwargs.get("weight")
            b = args[2] if len(args) > 2 else kwargs.get("bias")
            y = jbilinear(lambda a, weight: F.linear(a, weight), x, w)
            return y if b is None else jadd(y, b)
        if fn in _ACT_FUNCTIONS and isinstance(x, Jet):
            names = _ACT_ARGS.get(fn, ())
            extra = dict(zip(names, args[1:]))
            extra.update({k: v for k, v in kwargs.items() if k != "inplace"})
            if fn is F.leaky_relu or fn is F.elu or fn is F.softplus or not (args[1:] or extra):
                r = _ACT_FUNCTIONS[fn](x.v, **extra)
                if r is not None:
                    return junary(x, *r)
        if fn in (torch.cat, torch.stack):
            seq = args[0]
            if isinstance(seq, (tuple, list)) and all(isinstance(s, (Jet, Tensor)) for s in seq):
                return _concat(fn, [_lift(s) for s in seq], *args[1:], **kwargs)
        if fn in _LINEAR_FUNCTIONS and isinstance(x, Jet) and not _contains_jet((args[1:], kwargs)):
            return _linear_apply(lambda t: fn(t, *args[1:], **kwargs), x)
        if fn is operator.getitem and isinstance(x, (tuple, list)):
            return x[args[1]]
        return self._fallback(node, fn, args, kwargs)

    def _method(self, node: fx.Node, args: tuple, kwargs: dict) -> Any:
        name = node.target
        obj, rest = args[0], args[1:]
        if not _contains_jet((args, kwargs)):
            return getattr(obj, name)(*rest, **kwargs)
        if name in _VALUE_METHODS:
            return getattr(_values(obj), name)(*_values(rest), **kwargs)
        if isinstance(obj, Jet) and not _contains_jet((rest, kwargs)):
            if name in _LINEAR_METHODS:
                return _linear_apply(lambda t: getattr(t, name)(*rest, **kwargs), obj)
            if name in _ACT_METHODS and not rest and not kwargs:
                return junary(obj, *_ACT_METHODS[name](obj.v))
        if name in ("add", "add_") and len(rest) == 1 and set(kwargs) <= {"alpha"}:
            return jadd(obj, rest[0], kwargs.get("alpha", 1.0))
        if name in ("mul", "mul_") and len(rest) == 1 and not kwargs:
            return jmul(obj, rest[0])
        if name in ("sub", "sub_") and len(rest) == 1 and not kwargs:
            return jadd(obj, rest[0], -1.0)
        if name in ("view_as", "expand_as", "reshape_as", "type_as") and isinstance(rest[0], Jet):
            return _linear_apply(lambda t: getattr(t, name)(rest[0].v), _lift(obj))
        return self._fallback(node, lambda o, *a, **kw: getattr(o, name)(*a, **kw), args, kwargs)


def _mean_of(parts: list[Tensor | None]) -> Tensor | None:
    if all(p is None for p in parts):
        return None
    ref = next(p for p in parts if p is not None)
    return sum((p if p is not None else torch.zeros_like(ref)) for p in parts) / len(parts)


def _getattr(module: nn.Module, target: str) -> Any:
    obj: Any = module
    for part in target.split("."):
        obj = getattr(obj, part)
    return obj


def _reshape(a: Any, shape: tuple) -> Any:
    if isinstance(a, Jet):
        return a.map(lambda t: t.view(shape))
    return a.view(shape)


def _rsqrt(u: Any) -> Any:
    if not isinstance(u, Jet):
        return torch.rsqrt(u)
    r = torch.rsqrt(u.v)
    r3 = r * r * r
    return junary(u, r, -0.5 * r3, 0.75 * r3 * r * r)


def _concat(fn: Callable, seq: list[Jet], *args: Any, **kwargs: Any) -> Jet:
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


_COMPOSITE_FUNCTIONS: dict[Any, Callable] = {F.layer_norm: _layer_norm_function}


class _CompositeNorms:
    """Within the block, the normalisation layers of ``view`` run as compositions of elementary ops.

    PyTorch's fused ``layer_norm``, ``batch_norm`` with batch statistics and ``instance_norm`` return wrong
    second derivatives under forward-over-forward :func:`torch.func.jvp` (torch 2.13; checked against finite
    differences in ``tests/test_taylor.py``), and ``batch_norm`` refuses forward derivatives with respect to the
    running statistics. Nested-jvp fallbacks therefore use these compositions.
    """

    def __init__(self, view: ModelView):
        self.mods: list[tuple[nn.Module, Callable]] = []
        for m in view.module.modules():
            if isinstance(m, _BatchNorm):
                self.mods.append((m, _batch_norm_composite))
            elif isinstance(m, nn.LayerNorm):
                self.mods.append((m, _layer_norm_composite))
            elif isinstance(m, nn.modules.instancenorm._InstanceNorm):
                self.mods.append((m, _instance_norm_composite))

    def __enter__(self) -> None:
        for m, fn in self.mods:
            m.forward = functools.partial(fn, m)

    def __exit__(self, *exc: object) -> None:
        for m, _ in self.mods:
            del m.forward


def nested_jvp_outputs(
    model: nn.Module,
    path: ParameterPath,
    x: Any,
    alpha: float,
    *,
    buffers: dict[str, Tensor] | None = None,
    statistics: str = "path",
    mode: str = "eval",
    view: ModelView | None = None,
) -> tuple[Tensor, Tensor, Tensor]:
    """:math:`(z, z', z'')` at ``alpha`` by nested :func:`torch.func.jvp` through :func:`functional_call`.

    The reference for :class:`TaylorForward`: the path's coefficients :math:`c_k(\\alpha)` are evaluated on a
    tensor α so both derivatives flow through every parameter; ``buffers`` (constants) override state entries.
    """
    own = view is None
    view = view or ModelView(model)
    try:
        view.configure("batch" if mode == "batch" else "eval")
        _stat = set(view.statistic_keys)
        ref = next(iter(path.start.values()))
        a0 = torch.tensor(float(alpha), dtype=ref.dtype if ref.is_floating_point() else torch.float64)
        a0 = a0.to(ref.device)
        one = torch.ones_like(a0)
        args, kwargs = _data.args_kwargs(x)
        at = path.state(float(alpha))
        buffers = buffers or {}
        jet_bufs = {k: v for k, v in buffers.items() if isinstance(v, Jet)}
        consts = {**at, **extra_buffers(model, path.start, ref.device)}
        consts.update({k: v for k, v in buffers.items() if not isinstance(v, Jet)})
        moving = {
            k: c
            for k, c in path.coefficients.items()
            if not c.is_constant and not (buffers and k in buffers) and not (statistics == "constant" and k in _stat)
        }

        def f(a: Tensor) -> Tensor:
            state = dict(consts)
            state.update(_poly(jet_bufs, a - a0))
            for k, c in moving.items():
                coef = c.scale * a**c.power
                state[k] = path.start[k] + coef.to(path.start[k].dtype) * (path.end[k] - path.start[k])
            return torch.func.functional_call(view.module, state, args, kwargs)

        def first(a: Tensor):
            return torch.func.jvp(f, (a,), (one,))

        with _CompositeNorms(view):
            (z, dz), (_, d2z) = torch.func.jvp(first, (a0,), (one,))
        return z, dz, d2z
    finally:
        if own:
            view.close()
