"""The exact interpreter: a model's ``torch.fx`` graph evaluated on polynomial coefficients over segments of α.

On a segment of α on which no activation changes, every intermediate value of a network built from the supported
operations is a polynomial in α, and a forward pass on its coefficients (``mlitheory.taylor``'s Taylor mode carried
to the full degree, so that nothing is truncated) is exact. `GraphEngine` runs that pass for a batch of
segments at once (one segment per row, as a model's batch), decides each ReLU's / LeakyReLU's / max-pool's pattern
at the segment's centre, and reports the **events** of the first nonlinear node (in graph order) whose pattern
changes inside a segment: the sign-changing roots of its input polynomials there (for max pooling, where another
candidate overtakes the selected one). Values of later nodes are not trusted on such a segment; the caller splits it
at the events and runs again. A segment without events is a piece: its output coefficients are exact.

Anything else — smooth activations, batch norm with batch statistics or with a running variance that moves along
the path (a division by $\\sqrt{\\sigma^2(\\alpha)+\\epsilon}$), layer norm, a data-dependent control flow that
``torch.fx`` cannot trace, an operation that mixes the rows of a batch — raises
[`Unsupported`][mlitheory.piecewise.path.Unsupported] naming it.
"""

from __future__ import annotations

import operator
from typing import Any

import torch
import torch.nn.functional as F
from torch import fx, nn
from torch.nn.modules.batchnorm import _BatchNorm

from mlitheory._jets import LINEAR_MODULES
from mlitheory._model import ModelView, extra_buffers
from mlitheory.paths import ParameterPath
from mlitheory.piecewise._poly import gamma, pick, radius_bound
from mlitheory.piecewise._values import (
    GlobalPoly,
    SegPoly,
    add,
    bilinear,
    localise,
    pad_k,
    to_seg,
)
from mlitheory.piecewise.roots import sign_changes

__all__ = ["SUPPORTED", "GraphEngine", "Unsupported", "unsupported"]

Tensor = torch.Tensor

SUPPORTED = (
    "Linear, Conv1d/2d/3d, ReLU, LeakyReLU, MaxPool1d/2d, AvgPool and AdaptiveAvgPool, Flatten, Identity, "
    "Dropout (eval), residual additions, products with parameters, zero padding, slicing, concatenation, and "
    "eval-mode batch norm whose running variance is constant along the path"
)


class Unsupported(TypeError):
    """The model, or one of its modules or operations, is not piecewise polynomial along the path."""


def unsupported(what: str, why: str) -> Unsupported:
    return Unsupported(
        f"{what} is not supported by the exact piecewise-polynomial tools: {why}. They handle {SUPPORTED}. "
        "For this model use the sampled tools (mlitheory.interpolate, mlitheory.logit_gauss_length with "
        "method='taylor', mlitheory.gauss_length_from_samples)."
    )


_ACT_MODULES = (nn.ReLU, nn.LeakyReLU)
# the Taylor engine's linear maps, plus dropout (the identity in eval mode, where paths are evaluated)
_LINEAR_MODULES = (
    *LINEAR_MODULES,
    nn.Dropout,
    nn.Dropout1d,
    nn.Dropout2d,
    nn.Dropout3d,
    nn.AlphaDropout,
)
_CONV = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
_MAXPOOL = (nn.MaxPool1d, nn.MaxPool2d)
_FUNCTIONS = {
    operator.add,
    operator.iadd,
    operator.sub,
    operator.isub,
    operator.mul,
    operator.imul,
    operator.truediv,
    operator.neg,
    operator.getitem,
    getattr,
    torch.add,
    torch.sub,
    torch.mul,
    torch.div,
    torch.neg,
    torch.flatten,
    torch.reshape,
    torch.cat,
    torch.concat,
    torch.relu,
    torch.mean,
    torch.sum,
    F.relu,
    F.leaky_relu,
    F.max_pool1d,
    F.max_pool2d,
    F.avg_pool1d,
    F.avg_pool2d,
    F.adaptive_avg_pool1d,
    F.adaptive_avg_pool2d,
    F.linear,
    F.conv1d,
    F.conv2d,
    F.pad,
    F.dropout,
}
_SHAPE_METHODS = {"view", "reshape", "flatten", "permute", "transpose", "contiguous", "squeeze", "unsqueeze"}
_METHODS = _SHAPE_METHODS | {
    "size",
    "dim",
    "numel",
    "view_as",
    "mean",
    "sum",
    "relu",
    "relu_",
    "add",
    "add_",
    "sub",
    "sub_",
    "mul",
    "mul_",
    "div",
    "neg",
    "expand",
    "expand_as",
}


def _param_poly(path: ParameterPath, key: str) -> GlobalPoly | Tensor:
    start, end = path.start[key], path.end[key]
    coef = path.coefficients.get(key)
    if coef is None:  # integer entries: the end value (as the path does)
        return end
    if coef.is_constant:
        return GlobalPoly({0: path.state(0.0)[key]})
    delta = end - start
    if not bool((delta != 0).any()):
        return GlobalPoly({0: start})
    return GlobalPoly({0: start, coef.power: coef.scale * delta})


def _get(module: nn.Module, target: str) -> Any:
    obj: Any = module
    for part in target.split("."):
        obj = getattr(obj, part)
    return obj


class GraphEngine:
    """The traced model and the parameter polynomials of a path (float64 on the path's device).

    Args:
        model: the network (never modified: a private clone in eval mode is traced).
        path: a [`ParameterPath`][mlitheory.paths.ParameterPath] (float64).
        overrides: state entries held constant (e.g. batch-norm statistics of the end state).

    Raises:
        Unsupported: the model cannot be traced, or a node has no exact rule (named).
    """

    def __init__(self, model: nn.Module, path: ParameterPath, *, overrides: dict[str, Tensor] | None = None):
        self.path = path
        self.view = ModelView(model)
        self.view.configure("eval")
        try:
            self.gm = fx.symbolic_trace(self.view.module)
        except Exception as e:
            self.view.close()
            raise unsupported(
                f"the model {type(model).__name__}", f"torch.fx cannot trace it ({type(e).__name__}: {e})"
            ) from e
        self.modules = dict(self.view.module.named_modules())
        self.state: dict[str, Any] = {k: _param_poly(path, k) for k in path.end}
        for k, v in (overrides or {}).items():
            self.state[k] = GlobalPoly({0: v}) if v.is_floating_point() else v
        ref = next(iter(path.start.values()))
        for k, v in extra_buffers(model, path.start, ref.device).items():
            self.state.setdefault(k, v.to(torch.float64) if v.is_floating_point() else v)
        self._check_graph()
        self.nonlinear = [n.name for n in self.gm.graph.nodes if self._is_nonlinear(n)]

    def close(self) -> None:
        self.view.close()

    # -- static checks -------------------------------------------------------------------------------------
    def _is_nonlinear(self, n: fx.Node) -> bool:
        if n.op == "call_module":
            return isinstance(self.modules[n.target], (*_ACT_MODULES, *_MAXPOOL))
        if n.op == "call_function":
            return n.target in (torch.relu, F.relu, F.leaky_relu, F.max_pool1d, F.max_pool2d)
        if n.op == "call_method":
            return n.target in ("relu", "relu_")
        return False

    def _check_graph(self) -> None:
        for n in self.gm.graph.nodes:
            if n.op == "call_module":
                mod = self.modules[n.target]
                what = f"module {n.target!r} ({type(mod).__name__})"
                if hasattr(mod, "parametrizations"):
                    raise unsupported(what, "its weights are reparametrised (not polynomial along the path)")
                if isinstance(mod, (nn.Linear, *_CONV, *_ACT_MODULES, *_LINEAR_MODULES)):
                    if isinstance(mod, _CONV) and mod.padding_mode != "zeros":
                        raise unsupported(what, f"padding_mode={mod.padding_mode!r} (only 'zeros')")
                    continue
                if isinstance(mod, _MAXPOOL):
                    if mod.ceil_mode or mod.return_indices:
                        raise unsupported(what, "ceil_mode or return_indices")
                    continue
                if isinstance(mod, _BatchNorm):
                    if not mod.track_running_stats or mod.running_mean is None:
                        raise unsupported(
                            what,
                            "it normalises with batch statistics (track_running_stats=False): a division by "
                            "sqrt(σ²(α) + ε) of the data, not a polynomial",
                        )
                    p = f"{n.target}."
                    var = self.state.get(p + "running_var")
                    if isinstance(var, GlobalPoly) and not var.constant:
                        raise unsupported(
                            what,
                            "its running variance moves along the path, so it divides by sqrt(σ²(α) + ε), which is "
                            "not a polynomial (hold the statistics fixed, e.g. bn='none', or use equal running "
                            "variances at both ends)",
                        )
                    continue
                raise unsupported(what, "no exact rule for this module (smooth or unknown)")
            if n.op == "call_function" and n.target not in _FUNCTIONS:
                name = getattr(n.target, "__name__", str(n.target))
                raise unsupported(f"operation {name!r} (graph node {n.name!r})", "no exact rule for this function")
            if n.op == "call_method" and n.target not in _METHODS:
                raise unsupported(f"method .{n.target}() (graph node {n.name!r})", "no exact rule for this method")

    # -- running -------------------------------------------------------------------------------------------
    def run(self, x: Tensor, centres: Tensor, radius: Tensor, edge: float) -> tuple[SegPoly, list[tuple]]:
        """Forward on the segments with centres ``centres`` and half-widths ``radius``; ``x`` is ``(S, ...)``.

        Returns:
            The output polynomial ``(K, S, *out)`` and the events ``[(segment indices, τ roots)]`` (at most one
            node's events per segment: the first nonlinear node whose pattern changes inside it).
        """
        self._centres, self._radius, self._edge = centres, radius, edge
        self._pending = torch.ones(centres.shape[0], dtype=torch.bool, device=centres.device)
        self._events: list[tuple[Tensor, Tensor]] = []
        s = centres.shape[0]
        env: dict[fx.Node, Any] = {}
        first = True

        def load(a: Any) -> Any:
            return fx.node.map_arg(a, lambda nd: env[nd])

        out: Any = None
        with torch.no_grad():
            for n in self.gm.graph.nodes:
                if n.op == "placeholder":
                    if first:
                        env[n] = SegPoly(x.unsqueeze(0))
                        first = False
                    elif n.args:
                        env[n] = n.args[0]
                    else:
                        raise TypeError(f"the exact tools call the model with one input; {n.target!r} is missing")
                elif n.op == "get_attr":
                    env[n] = self.state[n.target] if n.target in self.state else _get(self.view.module, n.target)
                elif n.op == "call_module":
                    env[n] = self._module(n, load(n.args), load(n.kwargs))
                elif n.op == "call_function":
                    env[n] = self._function(n, load(n.args), load(n.kwargs))
                elif n.op == "call_method":
                    env[n] = self._method(n, load(n.args), load(n.kwargs))
                elif n.op == "output":
                    out = load(n.args[0])
        if isinstance(out, GlobalPoly):
            out = localise(out, centres, out.ref.ndim + 1)
        elif isinstance(out, Tensor):
            out = SegPoly(out.expand(s, *out.shape[1:]).unsqueeze(0) if out.shape[:1] == (s,) else out.unsqueeze(0))
        if not isinstance(out, SegPoly):
            raise TypeError(f"the model must return a tensor of logits, got {type(out).__name__}")
        if out.c.shape[1] != s:
            raise unsupported("the model's output", f"it has {out.c.shape[1]} rows for {s} inputs")
        return out, self._events

    # -- helpers ---------------------------------------------------------------------------------------------
    def _seg(self, v: Any, ndim: int) -> SegPoly:
        return to_seg(v, self._centres, ndim)

    def _check_rows(self, out: Any, what: str) -> Any:
        s = self._centres.shape[0]
        if isinstance(out, SegPoly) and (out.c.ndim < 2 or out.c.shape[1] != s):
            raise unsupported(what, "it mixes the rows of the batch (the exact tools keep one segment per row)")
        return out

    def _params(self, target: str, mod: nn.Module) -> dict[str, Any]:
        p = f"{target}." if target else ""
        out = {}
        for name, _ in list(mod.named_parameters(recurse=False)) + list(mod.named_buffers(recurse=False)):
            out[name] = self.state.get(p + name)
        return out

    # -- nonlinear nodes ---------------------------------------------------------------------------------------
    def _record(self, seg: Tensor, tau: Tensor) -> None:
        if seg.numel():
            self._events.append((seg, tau))
            self._pending[seg] = False

    def _relu(self, x: Any, slope: float) -> Any:
        if isinstance(x, GlobalPoly):
            if x.constant:
                return x.map(lambda t: F.leaky_relu(t, slope) if slope else torch.relu(t))
            x = localise(x, self._centres, x.ref.ndim + 1)
        if not isinstance(x, SegPoly):
            return F.leaky_relu(x, slope) if slope else torch.relu(x)
        mask = x.c[0] > 0
        if x.K > 1:
            self._events_sign(x.c)
        factor = pick(mask, 1.0, slope, x.c.dtype)
        return SegPoly(x.c * factor)

    def _events_sign(self, c: Tensor) -> None:
        """Sign-changing roots inside the pending segments of every component of ``c`` ``(K, S, *shape)``."""
        pend = self._pending.nonzero().squeeze(1)
        if pend.numel() == 0:
            return
        k = c.shape[0]
        sub = c[:, pend].reshape(k, pend.numel(), -1).permute(1, 2, 0)  # (P, F, K)
        r = self._radius[pend].unsqueeze(1)
        spread = radius_bound(sub, r)
        v0 = sub[..., 0].abs()
        cand = (v0 <= spread * (1 + gamma(4 * k)) + 1e-300) & (spread > 0)
        if not bool(cand.any()):
            return
        ps, fs = cand.nonzero(as_tuple=True)
        polys = sub[ps, fs]
        rr = self._radius[pend[ps]]
        roots = sign_changes(polys, -rr, rr, edge=self._edge)
        if len(roots):
            self._record(pend[ps[roots.index]], roots.root)

    def _maxpool(self, x: Any, kernel, stride, padding, dilation, dims: int) -> Any:
        def pool(t, **kw):
            fn = F.max_pool1d if dims == 1 else F.max_pool2d
            return fn(t, kernel, stride, padding, dilation, **kw)

        if isinstance(x, GlobalPoly):
            if x.constant:
                return x.map(pool)
            x = localise(x, self._centres, x.ref.ndim + 1)
        if not isinstance(x, SegPoly):
            return pool(x)
        c = x.c
        if dims == 1:
            c = c.unsqueeze(-2)  # (K, S, C, 1, L)
            kernel_, stride_, padding_, dilation_ = (
                (1, _one(kernel)),
                (1, _one(stride if stride is not None else kernel)),
                (0, _one(padding)),
                (1, _one(dilation)),
            )
        else:
            kernel_, stride_ = _pair(kernel), _pair(stride if stride is not None else kernel)
            padding_, dilation_ = _pair(padding), _pair(dilation)
        k, s = c.shape[:2]
        lead = c.shape[2:-2]
        h, w = c.shape[-2:]
        v4 = c[0].reshape(s, -1, h, w)
        out_v, idx = F.max_pool2d(v4, kernel_, stride_, padding_, dilation_, return_indices=True)
        ho, wo = out_v.shape[-2:]
        flat = c.reshape(k, s, -1, h * w)
        gidx = idx.reshape(1, s, -1, ho * wo).expand(k, -1, -1, -1)
        sel = flat.gather(3, gidx)  # (K, S, C', L)
        if k > 1:
            self._events_pool(c.reshape(k, s, -1, h, w), sel, kernel_, stride_, padding_, dilation_)
        out = sel.reshape(k, s, *lead, ho, wo) if lead else sel.reshape(k, s, ho, wo)
        if dims == 1:
            out = out.squeeze(-2)
        return SegPoly(out)

    def _events_pool(self, c: Tensor, sel: Tensor, kernel, stride, padding, dilation) -> None:
        pend = self._pending.nonzero().squeeze(1)
        if pend.numel() == 0:
            return
        k = c.shape[0]
        cp = c[:, pend]  # (K, P, C, H, W)
        p, ch, h, w = cp.shape[1:]
        cols = F.unfold(cp.reshape(k * p, ch, h, w), kernel, dilation, padding, stride)
        nk = kernel[0] * kernel[1]
        cols = cols.reshape(k, p, ch, nk, -1)  # (K, P, C, nk, L)
        valid = F.unfold(torch.ones(1, 1, h, w, dtype=c.dtype, device=c.device), kernel, dilation, padding, stride)
        valid = valid.reshape(1, 1, 1, nk, -1) > 0.5
        diff = sel[:, pend].unsqueeze(3) - cols  # (K, P, C, nk, L): selected minus candidate, >= 0 at the centre
        d = diff.permute(1, 2, 3, 4, 0)  # (P, C, nk, L, K)
        r = self._radius[pend].reshape(-1, 1, 1, 1)
        spread = radius_bound(d, r)
        valid = valid.reshape(1, 1, nk, -1)
        cand = valid & (d[..., 0].abs() <= spread * (1 + gamma(4 * k)) + 1e-300) & (spread > 0)
        if not bool(cand.any()):
            return
        ii = cand.nonzero(as_tuple=True)
        polys = d[ii]
        seg = ii[0]
        rr = self._radius[pend[seg]]
        roots = sign_changes(polys, -rr, rr, edge=self._edge)
        if not len(roots):
            return
        # per window, the nearest overtake on each side of the centre: the selection is valid between them
        win = torch.stack([ii[0], ii[1], ii[3]], 1)[roots.index]  # (R, 3): segment, channel, window
        key = (win[:, 0] * (ch + 1) + win[:, 1]) * (cols.shape[-1] + 1) + win[:, 2]
        uniq, inv = torch.unique(key, return_inverse=True)
        big = torch.full((uniq.numel(),), float("inf"), dtype=c.dtype, device=c.device)
        right = big.scatter_reduce(0, inv, torch.where(roots.root > 0, roots.root, big[inv]), "amin")
        left = (-big).scatter_reduce(0, inv, torch.where(roots.root < 0, roots.root, -big[inv]), "amax")
        seg_of = torch.zeros_like(uniq).scatter_reduce(0, inv, win[:, 0], "amax")
        taus = torch.cat([right, left])
        segs = torch.cat([seg_of, seg_of])
        keep = torch.isfinite(taus)
        self._record(pend[segs[keep]], taus[keep])

    # -- module rules ------------------------------------------------------------------------------------------
    def _module(self, n: fx.Node, args: tuple, kwargs: dict) -> Any:
        mod = self.modules[n.target]
        what = f"module {n.target!r} ({type(mod).__name__})"
        x = args[0] if args else kwargs.get("input")
        pr = self._params(n.target, mod)
        if isinstance(mod, nn.Linear):
            y = bilinear(lambda a, w: F.linear(a, w), x, pr["weight"], self._centres, batched="a")
            return y if pr.get("bias") is None else add(y, pr["bias"], self._centres)
        if isinstance(mod, _CONV):
            y = bilinear(lambda a, w: mod._conv_forward(a, w, None), x, pr["weight"], self._centres, batched="a")
            b = pr.get("bias")
            if b is None:
                return y
            nd = len(mod.kernel_size)
            return add(y, b.map(lambda t: t.reshape(-1, *([1] * nd))), self._centres)
        if isinstance(mod, nn.LeakyReLU):
            return self._relu(x, float(mod.negative_slope))
        if isinstance(mod, nn.ReLU):
            return self._relu(x, 0.0)
        if isinstance(mod, _MAXPOOL):
            dims = 1 if isinstance(mod, nn.MaxPool1d) else 2
            return self._maxpool(x, mod.kernel_size, mod.stride, mod.padding, mod.dilation, dims)
        if isinstance(mod, _BatchNorm):
            return self._batchnorm(mod, x, pr)
        if isinstance(mod, nn.Flatten) and _dim0(mod.start_dim, x):
            raise unsupported(what, "it flattens the batch dimension")
        if isinstance(mod, nn.Unflatten) and _dim0(mod.dim, x):
            raise unsupported(what, "it unflattens the batch dimension")
        if isinstance(x, SegPoly):
            return self._check_rows(x.map_batched(mod), what)
        if isinstance(x, GlobalPoly):
            return x.map(mod)
        return mod(x)

    def _batchnorm(self, mod: _BatchNorm, x: Any, pr: dict[str, Any]) -> Any:
        mean, var = pr["running_mean"], pr["running_var"]
        var0 = var.terms[0] if isinstance(var, GlobalPoly) else var
        nd = x.c.ndim - 1 if isinstance(x, SegPoly) else x.ndim
        shape = (-1,) + (1,) * (nd - 2)
        inv = torch.rsqrt(var0 + mod.eps)
        scale: Any = GlobalPoly({0: inv})
        if pr.get("weight") is not None:
            scale = bilinear(operator.mul, pr["weight"], scale, self._centres)
        shift: Any = bilinear(operator.mul, mean, scale, self._centres)
        shift = (
            add(pr["bias"], shift, self._centres, -1.0)
            if pr.get("bias") is not None
            else add(0.0, shift, self._centres, -1.0)
        )
        scale_v = scale.map(lambda t: t.reshape(shape)) if isinstance(scale, GlobalPoly) else scale.reshape(shape)
        shift_v = shift.map(lambda t: t.reshape(shape)) if isinstance(shift, GlobalPoly) else shift.reshape(shape)
        y = bilinear(operator.mul, x, scale_v, self._centres)
        return add(y, shift_v, self._centres)

    # -- functions ---------------------------------------------------------------------------------------------
    def _function(self, n: fx.Node, args: tuple, kwargs: dict) -> Any:
        fn = n.target
        what = f"operation {getattr(fn, '__name__', fn)!r} (graph node {n.name!r})"
        x = args[0] if args else None
        c = self._centres
        if fn is getattr:
            return getattr(x.value if isinstance(x, SegPoly) else x.ref if isinstance(x, GlobalPoly) else x, args[1])
        if fn in (operator.add, operator.iadd, torch.add):
            alpha = kwargs.get("alpha", 1.0)
            return add(args[0], args[1], c, float(alpha))
        if fn in (operator.sub, operator.isub, torch.sub):
            return add(args[0], args[1], c, -float(kwargs.get("alpha", 1.0)))
        if fn in (operator.mul, operator.imul, torch.mul):
            return bilinear(operator.mul, args[0], args[1], c)
        if fn in (operator.truediv, torch.div):
            if isinstance(args[1], (SegPoly, GlobalPoly)) and not (
                isinstance(args[1], GlobalPoly) and args[1].constant
            ):
                raise unsupported(what, "a division by a value that depends on α is not a polynomial")
            den = args[1].terms[0] if isinstance(args[1], GlobalPoly) else args[1]
            return _linear(x, lambda t: t / den)
        if fn in (operator.neg, torch.neg):
            return _linear(x, operator.neg)
        if fn is operator.getitem:
            if isinstance(x, SegPoly):
                idx = args[1] if isinstance(args[1], tuple) else (args[1],)
                if not idx or not (idx[0] == slice(None) or (idx[0] is Ellipsis and len(idx) == 1)):
                    raise unsupported(what, "indexing that selects along the batch dimension")
                return self._check_rows(x.map(lambda t: t[args[1]]), what)
            if isinstance(x, GlobalPoly):
                return x.map(lambda t: t[args[1]])
            return x[args[1]]
        if fn in (torch.relu, F.relu):
            return self._relu(x, 0.0)
        if fn is F.leaky_relu:
            slope = args[1] if len(args) > 1 else kwargs.get("negative_slope", 0.01)
            return self._relu(x, float(slope))
        if fn in (F.max_pool1d, F.max_pool2d):
            names = ("kernel_size", "stride", "padding", "dilation", "ceil_mode", "return_indices")
            defaults = (None, None, 0, 1, False, False)
            vals = dict(zip(names, defaults))
            vals.update(dict(zip(names, args[1:])))
            vals.update(kwargs)
            if vals["ceil_mode"] or vals["return_indices"]:
                raise unsupported(what, "ceil_mode or return_indices")
            dims = 1 if fn is F.max_pool1d else 2
            return self._maxpool(x, vals["kernel_size"], vals["stride"], vals["padding"], vals["dilation"], dims)
        if fn in (F.avg_pool1d, F.avg_pool2d, F.adaptive_avg_pool1d, F.adaptive_avg_pool2d):
            return self._batched(x, lambda t: fn(t, *args[1:], **kwargs), what)
        if fn is F.dropout:
            training = args[2] if len(args) > 2 else kwargs.get("training", True)
            if training:
                raise unsupported(what, "dropout in training mode is random")
            return x
        if fn is F.linear:
            w = args[1] if len(args) > 1 else kwargs["weight"]
            b = args[2] if len(args) > 2 else kwargs.get("bias")
            y = bilinear(lambda a, ww: F.linear(a, ww), x, w, c, batched="a")
            return y if b is None else add(y, b, c)
        if fn in (F.conv1d, F.conv2d):
            w = args[1] if len(args) > 1 else kwargs["weight"]
            b = args[2] if len(args) > 2 else kwargs.get("bias")
            rest = args[3:]
            kw = {k: v for k, v in kwargs.items() if k not in ("weight", "bias")}
            y = bilinear(lambda a, ww: fn(a, ww, None, *rest, **kw), x, w, c, batched="a")
            if b is None:
                return y
            nd = 1 if fn is F.conv1d else 2
            bb = (
                b.map(lambda t: t.reshape(-1, *([1] * nd))) if isinstance(b, GlobalPoly) else b.reshape(-1, *([1] * nd))
            )
            return add(y, bb, c)
        if fn is F.pad:
            padding = args[1] if len(args) > 1 else kwargs["pad"]
            mode = args[2] if len(args) > 2 else kwargs.get("mode", "constant")
            value = args[3] if len(args) > 3 else kwargs.get("value", None)
            nd = (x.c.ndim - 1) if isinstance(x, SegPoly) else None
            if nd is not None and len(padding) > 2 * (nd - 1):
                raise unsupported(what, "padding of the batch dimension")
            if isinstance(x, SegPoly) and mode == "constant" and value not in (None, 0, 0.0):
                out = x.map(lambda t: F.pad(t, padding, mode, 0.0))
                first = F.pad(x.c[0], padding, mode, value)
                return SegPoly(torch.cat([first.unsqueeze(0), out.c[1:]]))
            return _linear(
                x, lambda t: F.pad(t, padding, mode, value) if mode == "constant" else F.pad(t, padding, mode)
            )
        if fn in (torch.flatten,):
            start = args[1] if len(args) > 1 else kwargs.get("start_dim", 0)
            if isinstance(x, SegPoly) and _dim0(start, x):
                raise unsupported(what, "it flattens the batch dimension (use start_dim=1)")
            return self._check_rows(_linear(x, lambda t: torch.flatten(t, *args[1:], **kwargs)), what)
        if fn is torch.reshape:
            return self._check_rows(_linear(x, lambda t: torch.reshape(t, *args[1:], **kwargs)), what)
        if fn in (torch.cat, torch.concat):
            seq = list(args[0])
            dim = args[1] if len(args) > 1 else kwargs.get("dim", 0)
            if not any(isinstance(v, (SegPoly, GlobalPoly)) for v in seq):
                return fn(seq, dim)
            nd = (
                max((v.c.ndim - 1) for v in seq if isinstance(v, SegPoly))
                if any(isinstance(v, SegPoly) for v in seq)
                else None
            )
            if nd is None:
                raise unsupported(what, "concatenation of parameters")
            if dim % nd == 0:
                raise unsupported(what, "concatenation along the batch dimension")
            parts = [self._seg(v, nd) for v in seq]
            k = max(p.K for p in parts)
            cs = [pad_k(p.c, k).expand(k, *parts[0].c.shape[1:2], *p.c.shape[2:]) for p in parts]
            return SegPoly(torch.cat(cs, dim=dim % nd + 1))
        if fn in (torch.mean, torch.sum):
            dim = args[1] if len(args) > 1 else kwargs.get("dim")
            return self._reduce(x, fn, dim, args[2:], {k: v for k, v in kwargs.items() if k != "dim"}, what)
        raise unsupported(what, "no exact rule for these arguments")

    def _batched(self, x: Any, fn, what: str) -> Any:
        if isinstance(x, SegPoly):
            return self._check_rows(x.map_batched(fn), what)
        if isinstance(x, GlobalPoly):
            return x.map(fn)
        return fn(x)

    def _reduce(self, x: Any, fn, dim, rest, kw, what: str) -> Any:
        if isinstance(x, SegPoly):
            nd = x.c.ndim - 1
            dims = (dim,) if isinstance(dim, int) else tuple(dim) if dim is not None else tuple(range(nd))
            if any(d % nd == 0 for d in dims):
                raise unsupported(what, "a reduction over the batch dimension")
            return x.map(lambda t: fn(t, dim, *rest, **kw))
        return _linear(x, lambda t: fn(t, dim, *rest, **kw) if dim is not None else fn(t, *rest, **kw))

    # -- methods -----------------------------------------------------------------------------------------------
    def _method(self, n: fx.Node, args: tuple, kwargs: dict) -> Any:
        name = n.target
        obj, rest = args[0], args[1:]
        what = f"method .{name}() (graph node {n.name!r})"
        c = self._centres
        if name in ("size", "dim", "numel"):
            base = obj.value if isinstance(obj, SegPoly) else obj.ref if isinstance(obj, GlobalPoly) else obj
            return getattr(base, name)(*rest, **kwargs)
        if name in ("relu", "relu_"):
            return self._relu(obj, 0.0)
        if name in ("add", "add_"):
            return add(obj, rest[0], c, float(kwargs.get("alpha", 1.0)))
        if name in ("sub", "sub_"):
            return add(obj, rest[0], c, -float(kwargs.get("alpha", 1.0)))
        if name in ("mul", "mul_"):
            return bilinear(operator.mul, obj, rest[0], c)
        if name == "div":
            if isinstance(rest[0], (SegPoly, GlobalPoly)):
                raise unsupported(what, "a division by a value that depends on α")
            return _linear(obj, lambda t: t / rest[0])
        if name == "neg":
            return _linear(obj, operator.neg)
        if name in ("mean", "sum"):
            dim = rest[0] if rest else kwargs.get("dim")
            kw = {k: v for k, v in kwargs.items() if k != "dim"}
            return self._reduce(obj, lambda t, d, *r, **k: getattr(t, name)(d, *r, **k), dim, rest[1:], kw, what)
        if name in ("view_as", "expand_as"):
            target = rest[0].value if isinstance(rest[0], SegPoly) else rest[0]
            return self._check_rows(_linear(obj, lambda t: getattr(t, name)(target)), what)
        if name in _SHAPE_METHODS or name == "expand":
            if isinstance(obj, SegPoly):
                nd = obj.c.ndim - 1
                if name in ("permute",):
                    perm = rest[0] if len(rest) == 1 and isinstance(rest[0], (tuple, list)) else rest
                    if perm and perm[0] % nd != 0:
                        raise unsupported(what, "a permutation that moves the batch dimension")
                if name == "transpose" and any(int(d) % nd == 0 for d in rest[:2]):
                    raise unsupported(what, "a transposition of the batch dimension")
                if name in ("squeeze", "unsqueeze") and rest and int(rest[0]) % (nd + (name == "unsqueeze")) == 0:
                    raise unsupported(what, "squeezing or unsqueezing the batch dimension")
                if name == "flatten":
                    start = rest[0] if rest else kwargs.get("start_dim", 0)
                    if _dim0(start, obj):
                        raise unsupported(what, "it flattens the batch dimension (use flatten(1))")
            return self._check_rows(_linear(obj, lambda t: getattr(t, name)(*rest, **kwargs)), what)
        raise unsupported(what, "no exact rule")


def _linear(x: Any, fn) -> Any:
    if isinstance(x, SegPoly):
        return x.map(fn)
    if isinstance(x, GlobalPoly):
        return x.map(fn)
    return fn(x)


def _dim0(d: int, x: Any) -> bool:
    nd = (x.c.ndim - 1) if isinstance(x, SegPoly) else (x.ndim if isinstance(x, Tensor) else None)
    if nd is None:
        return d == 0
    return d % nd == 0


def _pair(v) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else tuple(v)  # type: ignore[return-value]


def _one(v) -> int:
    return v if isinstance(v, int) else int(v[0])
