r"""Second-order forward (Taylor) mode along a parameter path: $(z, z', z'')$ of a network's outputs.

For a path $\theta(\alpha)$ ([`mlitheory.paths`][mlitheory.paths]) and inputs $x$, the outputs
$z(\alpha)=f(x;\theta(\alpha))$ have derivatives $z'$ and $z''$ in α. Instead of nesting two
forward-mode passes (`torch.func.jvp` of `torch.func.jvp`, which carries four tensors per value),
this module carries the *jet* $(v, v', v'')$ of every intermediate value through the network once, with
the second-order rules

$$
(ab)'' = a''b + 2a'b' + ab'', \qquad \phi(u)'' = \phi''(u)\,u'^2 + \phi'(u)\,u'' ,
$$

for bilinear maps (Linear, Conv, matmul, products) and elementwise functions. The parameters enter as the exact
jets of the path: $\theta_k' = c_k'(\alpha)\Delta_k$, $\theta_k'' = c_k''(\alpha)\Delta_k$, and
$\theta''=0$ on a linear path, which removes most second-order terms. The first Linear/Conv layer, whose
input does not depend on α, is computed once per input for both endpoint states and mixed at every α.

Known rules: Linear, Conv1d/2d/3d, ReLU, LeakyReLU, Tanh, Sigmoid, GELU, SiLU, Softplus, ELU, Identity,
Dropout (eval), Flatten, Unflatten, batch norm (running statistics, or batch statistics in ``"batch"`` mode),
LayerNorm, max/average/adaptive-average pooling, residual additions, products, concatenation, reshaping and
indexing. The graph comes from `torch.fx.symbolic_trace`; any node without a rule (or a whole model that
cannot be traced) falls back to nested `torch.func.jvp` on that node alone, so every model works and
the known layers are fast.

References:
    Griewank, Walther. *Evaluating Derivatives*, 2nd ed., SIAM 2008, ch. 13 (univariate Taylor propagation).
    Bettencourt, Johnson, Duvenaud. *Taylor-mode automatic differentiation for higher-order derivatives in JAX*,
    NeurIPS 2019 workshop.
"""

from __future__ import annotations

import contextlib
import operator
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import fx, nn
from torch.nn.modules.batchnorm import _BatchNorm

from mlitheory import _data
from mlitheory._jets import (
    ACT_ARGS,
    ACT_FUNCTIONS,
    ACT_METHODS,
    ACT_MODULES,
    ACT_RULE,
    COMPOSITE_FUNCTIONS,
    LINEAR_FUNCTIONS,
    LINEAR_METHODS,
    LINEAR_MODULES,
    MAX_POOL,
    VALUE_METHODS,
    CompositeNorms,
    Jet,
    concat,
    contains_jet,
    first_jet,
    jadd,
    jbilinear,
    jet_of_function,
    jmul,
    junary,
    lift,
    linear_apply,
    mean_of,
    nested_jvp,
    poly,
    primal,
    reshape,
    rsqrt,
)
from mlitheory._model import ModelView, extra_buffers, tied_names
from mlitheory.paths import ParameterPath

__all__ = ["Jet", "TaylorForward", "jbilinear", "nested_jvp_outputs"]

Tensor = torch.Tensor
_MAX_CACHE = 256  # first-layer endpoint outputs kept (one per layer and input chunk)


class TaylorForward:
    r"""Outputs of ``model`` along ``path`` with their first two α-derivatives, by Taylor mode.

    Args:
        model: any ``nn.Module`` (never modified; a private clone shares its tensors).
        path: the [`ParameterPath`][mlitheory.paths.ParameterPath] (already on the compute device and dtype).
        mode: ``"eval"`` (running statistics from the state supplied to `__call__`) or ``"batch"``
            (batch-norm layers use the statistics of the inputs).
        statistics: ``"path"`` (float buffers follow the path and are differentiated) or ``"constant"``
            (buffers are the constants supplied per call, derivative zero).

    Attributes:
        fallback_nodes: names of graph nodes evaluated by nested ``jvp`` (no rule); ``["<model>"]`` when the
            model could not be traced.
    """

    def __init__(self, model: nn.Module, path: ParameterPath, *, mode: str = "eval", statistics: str = "path"):
        if not isinstance(path, ParameterPath):
            raise TypeError(
                f"path must be a ParameterPath (mlitheory.linear_path(start, end), ...), got {type(path).__name__}"
            )
        if mode not in ("eval", "batch"):
            raise ValueError(f"mode must be 'eval' or 'batch', got {mode!r}")
        if statistics not in ("path", "constant"):
            raise ValueError(f"statistics must be 'path' or 'constant', got {statistics!r}")
        if not path.start:
            raise ValueError("the path's states are empty")
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
        self._ties: dict[str, dict[str, str]] = {}
        try:
            self.graph: fx.GraphModule | None = fx.symbolic_trace(self.view.module)
        except Exception as e:  # data-dependent control flow and the like: the whole model by nested jvp
            self.graph = None
            self.trace_error = f"{type(e).__name__}: {e}"
            self.fallback_nodes = ["<model>"]
        self.modules = dict(self.view.module.named_modules())
        self._norms = CompositeNorms(self.view)

    def close(self) -> None:
        self.view.close()

    # -- parameters --------------------------------------------------------------------------------------------
    def _jets(self, alpha: float, buffers: dict[str, Tensor] | None) -> dict[str, Any]:
        state = self.path.state(alpha)
        state.update(self.extra)
        state = self.view.private(state)
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
            raise TypeError(f"the model must return a tensor of logits, got {type(primal(out)).__name__}")
        return out

    def recomputed_statistics(self, bn_inputs: Any, alpha: float, device=None, dtype=None) -> dict[str, Any]:
        """Jets of the running statistics re-estimated at ``alpha`` over ``bn_inputs``.

        Exactly what `torch.optim.swa_utils.update_bn` computes (the average over batches of each batch's
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
                out[p + name] = Jet(*(mean_of([getattr(c, f) for c in comps]) for f in ("v", "d1", "d2")))
            mod = self.modules[target]
            if mod.num_batches_tracked is not None:
                out[p + "num_batches_tracked"] = torch.full_like(mod.num_batches_tracked, len(pairs))
        return out

    def _whole_model(self, x: Any, jets: dict[str, Any]) -> Jet:
        args, kwargs = _data.args_kwargs(x)
        ref = first_jet(list(jets.values())) or Jet(next(iter(jets.values())))

        def g(t: Tensor):
            return torch.func.functional_call(self.view.module, self.view.private(poly(jets, t)), args, kwargs)

        with CompositeNorms(self.view), _forward_ad(f"the model ({type(self.view.module).__name__}, not traceable)"):
            return jet_of_function(g, ref.v.dtype, ref.v.device)

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
        ref = first_jet((args, kwargs))
        assert ref is not None
        fn = COMPOSITE_FUNCTIONS.get(fn, fn)
        where = f"graph node {node.name!r}" + (
            f" (module {type(self.modules[node.target]).__name__})" if node.op == "call_module" else f" ({node.target})"
        )
        with self._norms, _forward_ad(where):
            return jet_of_function(lambda t: fn(*poly(args, t), **poly(kwargs, t)), ref.v.dtype, ref.v.device)

    def _params(self, target: str, mod: nn.Module, jets: dict[str, Any]) -> dict[str, Any]:
        p = f"{target}." if target else ""
        out = {}
        named = list(mod.named_parameters(remove_duplicate=False)) + list(mod.named_buffers(remove_duplicate=False))
        for name, _ in named:  # recursive: parametrized weights live in a submodule
            if p + name in jets:
                out[name] = jets[p + name]
        if target not in self._ties:
            self._ties[target] = tied_names(mod)
        for alias, canon in self._ties[target].items():  # one value per tied tensor; functional_call ties the rest
            if canon in out:
                out.pop(alias, None)
        return out

    def _module(self, node: fx.Node, args: tuple, kwargs: dict, jets: dict[str, Any]) -> Any:
        target = node.target
        mod = self.modules[target]
        params = self._params(target, mod, jets)
        x = args[0] if args else None
        typ = type(mod)
        simple = len(args) == 1 and not kwargs and isinstance(x, Jet)
        if not contains_jet((args, kwargs)) and not any(isinstance(v, Jet) for v in params.values()):
            return torch.func.functional_call(mod, {k: primal(v) for k, v in params.items()}, args, kwargs)
        plain = not hasattr(mod, "parametrizations")  # a parametrized layer: its own forward, by fallback
        if plain and len(args) == 1 and not kwargs and not isinstance(x, (tuple, list, dict)):
            if typ in (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d):
                return self._affine(target, mod, lift(x), params)
            if simple:
                if typ in ACT_RULE:
                    r = ACT_RULE[typ](x.v, **ACT_MODULES[typ](mod))
                    if r is not None:
                        return junary(x, *r)
                if isinstance(mod, LINEAR_MODULES) or (isinstance(mod, nn.Dropout) and not mod.training):
                    return linear_apply(mod, x)
                if isinstance(mod, _BatchNorm):
                    return self._batchnorm(mod, x, params)
                if typ is nn.LayerNorm:
                    return self._layernorm(mod, x, params)
                if typ in MAX_POOL and not mod.return_indices:
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
                flat = lift(var).map(lambda t: t.reshape(-1) * (n / (n - 1)))
                self._record.setdefault(target, []).append((mu.map(lambda t: t.reshape(-1)), flat))
        else:
            mu = reshape(params["running_mean"], shape)
            var = reshape(params["running_var"], shape)
            c = jadd(x, mu, -1.0)
        scale = rsqrt(jadd(var, mod.eps))
        if params.get("weight") is not None:
            scale = jmul(scale, reshape(params["weight"], shape))
        y = jmul(c, scale)
        if params.get("bias") is not None:
            y = jadd(y, reshape(params["bias"], shape))
        return y

    def _layernorm(self, mod: nn.LayerNorm, x: Jet, params: dict[str, Any]) -> Any:
        dims = tuple(range(-len(mod.normalized_shape), 0))
        mu = x.map(lambda t: t.mean(dims, keepdim=True))
        c = jadd(x, mu, -1.0)
        var = lift(jmul(c, c)).map(lambda t: t.mean(dims, keepdim=True))
        y = jmul(c, rsqrt(jadd(var, mod.eps)))
        if params.get("weight") is not None:
            y = jmul(y, params["weight"])
        if params.get("bias") is not None:
            y = jadd(y, params["bias"])
        return y

    def _maxpool(self, mod: nn.Module, x: Jet) -> Jet:
        fn = MAX_POOL[type(mod)]
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
        if not contains_jet((args, kwargs)):
            return fn(*args, **kwargs)
        x = args[0] if args else None
        if fn is getattr:
            return getattr(primal(x), args[1])
        if fn in (operator.add, torch.add, operator.iadd) and len(args) == 2:
            alpha = kwargs.get("alpha", 1.0)
            if set(kwargs) <= {"alpha"}:
                return jadd(args[0], args[1], alpha)
        if fn in (operator.sub, torch.sub, operator.isub) and len(args) == 2 and not kwargs:
            return jadd(args[0], args[1], -1.0)
        if fn in (operator.mul, torch.mul, operator.imul) and len(args) == 2 and not kwargs:
            return jmul(args[0], args[1])
        if fn is operator.truediv and len(args) == 2 and not isinstance(args[1], Jet):
            return lift(x).map(lambda t: t / args[1])
        if fn in (operator.matmul, torch.matmul, torch.mm, torch.bmm) and len(args) == 2 and not kwargs:
            return jbilinear(fn, args[0], args[1])
        if fn is F.linear and isinstance(x, Jet | Tensor):
            w = args[1] if len(args) > 1 else kwargs.get("weight")
            b = args[2] if len(args) > 2 else kwargs.get("bias")
            y = jbilinear(lambda a, weight: F.linear(a, weight), x, w)
            return y if b is None else jadd(y, b)
        if fn in ACT_FUNCTIONS and isinstance(x, Jet):
            names = ACT_ARGS.get(fn, ())
            extra = dict(zip(names, args[1:]))
            extra.update({k: v for k, v in kwargs.items() if k != "inplace"})
            if fn is F.leaky_relu or fn is F.elu or fn is F.softplus or not (args[1:] or extra):
                r = ACT_FUNCTIONS[fn](x.v, **extra)
                if r is not None:
                    return junary(x, *r)
        if fn in (torch.cat, torch.stack):
            seq = args[0]
            if isinstance(seq, (tuple, list)) and all(isinstance(s, (Jet, Tensor)) for s in seq):
                return concat(fn, [lift(s) for s in seq], *args[1:], **kwargs)
        if fn in LINEAR_FUNCTIONS and isinstance(x, Jet) and not contains_jet((args[1:], kwargs)):
            return linear_apply(lambda t: fn(t, *args[1:], **kwargs), x)
        if fn is operator.getitem and isinstance(x, (tuple, list)):
            return x[args[1]]
        return self._fallback(node, fn, args, kwargs)

    def _method(self, node: fx.Node, args: tuple, kwargs: dict) -> Any:
        name = node.target
        obj, rest = args[0], args[1:]
        if not contains_jet((args, kwargs)):
            return getattr(obj, name)(*rest, **kwargs)
        if name in VALUE_METHODS:
            return getattr(primal(obj), name)(*primal(rest), **kwargs)
        if isinstance(obj, Jet) and not contains_jet((rest, kwargs)):
            if name in LINEAR_METHODS:
                return linear_apply(lambda t: getattr(t, name)(*rest, **kwargs), obj)
            if name in ACT_METHODS and not rest and not kwargs:
                return junary(obj, *ACT_METHODS[name](obj.v))
        if name in ("add", "add_") and len(rest) == 1 and set(kwargs) <= {"alpha"}:
            return jadd(obj, rest[0], kwargs.get("alpha", 1.0))
        if name in ("mul", "mul_") and len(rest) == 1 and not kwargs:
            return jmul(obj, rest[0])
        if name in ("sub", "sub_") and len(rest) == 1 and not kwargs:
            return jadd(obj, rest[0], -1.0)
        if name in ("view_as", "expand_as", "reshape_as", "type_as") and isinstance(rest[0], Jet):
            return linear_apply(lambda t: getattr(t, name)(rest[0].v), lift(obj))
        return self._fallback(node, lambda o, *a, **kw: getattr(o, name)(*a, **kw), args, kwargs)


@contextlib.contextmanager
def _forward_ad(where: str):
    """Re-raise torch's "no forward AD" failure naming the part of the model that has no forward derivative."""
    try:
        yield
    except (NotImplementedError, RuntimeError) as e:
        text = str(e)
        if "forward AD" not in text and "forward-mode" not in text and "jvp" not in text:
            raise
        raise NotImplementedError(
            f"no forward-mode derivative through {where}: {text.splitlines()[0]} Attention, batch, layer and "
            "instance norm and weight_norm are handled (unfused compositions); for another fused operation, "
            "write the layer's forward with elementary torch operations (they all have forward derivatives)"
        ) from e


def _getattr(module: nn.Module, target: str) -> Any:
    obj: Any = module
    for part in target.split("."):
        obj = getattr(obj, part)
    return obj


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
    """$(z, z', z'')$ at ``alpha`` by nested `torch.func.jvp` through `functional_call`.

    The reference for [`TaylorForward`][mlitheory.taylor.TaylorForward]: the path's coefficients $c_k(\\alpha)$ are
    evaluated on a tensor α so both derivatives flow through every parameter; ``buffers`` (constants) override state
    entries.
    """
    own = view is None
    view = view or ModelView(model)
    try:
        view.configure("batch" if mode == "batch" else "eval")
        _stat = set(view.statistic_keys)
        ref = next(iter(path.start.values()))
        a0 = torch.tensor(float(alpha), dtype=ref.dtype if ref.is_floating_point() else torch.float64)
        a0 = a0.to(ref.device)
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
            state.update(poly(jet_bufs, a - a0))
            for k, c in moving.items():
                coef = c.scale * a**c.power
                state[k] = path.start[k] + coef.to(path.start[k].dtype) * (path.end[k] - path.start[k])
            return torch.func.functional_call(view.module, view.private(state), args, kwargs)

        with CompositeNorms(view), _forward_ad(f"the model ({type(view.module).__name__})"):
            return nested_jvp(f, a0)
    finally:
        if own:
            view.close()
