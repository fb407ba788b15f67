"""Figures of loss planes: a contour map with the trajectory and the straight path, and a surface.

Every function takes a [`PlaneSurface`][mlitheory.plane.PlaneSurface] and draws on a Matplotlib axes (a new
`matplotlib.figure.Figure`, Agg-safe, when none is given). Matplotlib is imported only when a figure is
drawn, so the rest of the package does not need it.

* [`plot_contour`][mlitheory.plotting.plot_contour]: filled contours of a metric, the named states (the centre, or the
  three states), the projected states drawn as a trajectory, and a straight path: by default the segments between the
  three states, or, on a plane through a centre (the final state) with projected checkpoints, the segment from the first
  projected state (the initialisation) to the centre: the shadow on the plane of the linear path
  $(1-\\alpha)\\theta_0 + \\alpha\\theta_T$ of monotonic linear interpolation. It lies in the plane exactly
  when the first state does (its distance from the plane is in ``projected_distance``).
* [`plot_surface`][mlitheory.plotting.plot_surface]: the same metric as a 3-D surface.
* [`save_landscape`][mlitheory.plotting.save_landscape]: both figures as PNG and PDF files.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["plot_contour", "plot_surface", "save_landscape"]


def _grid_values(surface: Any, metric: str, log: bool, clip: float | None = None) -> np.ndarray:
    if metric not in surface.values:
        raise KeyError(f"no metric {metric!r}; this surface has {sorted(surface.values)}")
    z = np.where(surface.finite, surface.values[metric], np.nan).astype(float)
    if clip is not None:
        z = np.minimum(z, clip)
    if log:
        if np.nanmin(z) <= 0:
            raise ValueError(f"log=True needs positive values of {metric!r}; its minimum is {np.nanmin(z):.4g}")
        z = np.log10(z)
    return z


def _sorted(surface: Any, z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    iu, iv = np.argsort(surface.u, kind="stable"), np.argsort(surface.v, kind="stable")
    return surface.u[iu], surface.v[iv], z[np.ix_(iv, iu)]


def _resolve_line(surface: Any, line: Any) -> list[tuple[np.ndarray, np.ndarray, str]]:
    """Segments ``(start, end, label)`` to draw for ``line``."""
    if line is None or line is False:
        return []
    named = {str(n): p for n, p in zip(surface.labels, surface.points)}
    named.update({str(n): p for n, p in zip(surface.projected_labels, surface.projected)})
    if isinstance(line, str) and line == "auto":
        if surface.kind == "states":
            pairs = [(0, 1), (0, 2), (1, 2)]
            return [(surface.points[i], surface.points[j], "") for i, j in pairs if max(i, j) < len(surface.points)]
        if len(surface.projected):
            a, b = str(surface.projected_labels[0]), str(surface.labels[0])
            return [(surface.projected[0], surface.points[0], f"straight path {a} → {b}")]
        return []
    if isinstance(line, Sequence) and len(line) == 2:
        ends = []
        for end in line:
            if isinstance(end, str):
                if end not in named:
                    raise ValueError(f"line end {end!r} is not a named or projected state; names are {sorted(named)}")
                ends.append(np.asarray(named[end], float))
            else:
                ends.append(np.asarray(end, float).reshape(2))
        label = f"straight path {line[0]} → {line[1]}" if all(isinstance(e, str) for e in line) else "straight path"
        return [(ends[0], ends[1], label)]
    raise ValueError(f"line must be 'auto', None, or a pair of state names or (u, v) points, got {line!r}")


def _equal_axes(surface: Any) -> bool:
    """Whether the coordinates are Euclidean up to one scale (orthogonal directions of equal norms)."""
    g = surface.gram
    if g is None:
        return True
    g = np.asarray(g, float)
    return abs(g[0, 1]) <= 1e-6 * np.sqrt(g[0, 0] * g[1, 1]) and abs(g[0, 0] - g[1, 1]) <= 1e-6 * g[0, 0]


def plot_contour(
    surface: Any,
    *,
    ax: Any = None,
    metric: str = "loss",
    levels: int | Sequence[float] = 30,
    log: bool = False,
    clip: float | None = None,
    line: Any = "auto",
    trajectory: bool = True,
    cmap: str = "viridis",
    xlabel: str | None = None,
    ylabel: str | None = None,
    title: str | None = None,
) -> Any:
    """Filled contour map of ``metric`` on the plane, with the states, the trajectory and a straight path.

    Args:
        surface: a [`PlaneSurface`][mlitheory.plane.PlaneSurface].
        ax: Matplotlib axes (default: a new Agg figure).
        metric: which of ``surface.values``. levels: number of levels or their values.
        log: contour ``log10`` of the metric. clip: cap the metric at this value first (large losses far from
            the centre otherwise take every level).
        line: ``"auto"`` (see the module docstring), ``None``, or two ends, each a state name (named or projected)
            or a ``(u, v)`` point.
        trajectory: draw the projected states as a polyline with markers.
        cmap: colour map. xlabel, ylabel, title: texts (default ``"u"``, ``"v"``, none).

    Returns:
        The axes.
    """
    if ax is None:
        from matplotlib.figure import Figure

        ax = Figure(figsize=(5.4, 4.6)).add_subplot()
    z = _grid_values(surface, metric, log, clip)
    u, v, z = _sorted(surface, z)
    name = f"log10 {metric}" if log else metric
    equal = _equal_axes(surface)
    if equal:
        ax.set_aspect("equal")
    if len(u) >= 2 and len(v) >= 2 and np.isfinite(z).any():
        mappable = ax.contourf(u, v, z, levels=levels, cmap=cmap)
        ax.contour(u, v, z, levels=mappable.levels, colors="k", linewidths=0.3, alpha=0.4)
    else:  # a single row or column: a scatter of the values
        uu, vv = np.meshgrid(u, v)
        mappable = ax.scatter(uu.ravel(), vv.ravel(), c=z.ravel(), cmap=cmap)
    if equal:  # a colour bar as tall as the (equal-aspect) axes
        from mpl_toolkits.axes_grid1 import make_axes_locatable

        cax = make_axes_locatable(ax).append_axes("right", size="4%", pad=0.08)
        ax.figure.colorbar(mappable, cax=cax, label=name)
    else:
        ax.figure.colorbar(mappable, ax=ax, label=name)
    for start, end, label in _resolve_line(surface, line):
        ax.plot([start[0], end[0]], [start[1], end[1]], "w--", lw=1.0, label=label or None)
    if trajectory and len(surface.projected):
        p = surface.projected
        ax.plot(p[:, 0], p[:, 1], "-", color="tab:red", lw=1.0, marker=".", ms=5, label="trajectory (projected)")
        named = {str(n) for n in surface.labels}
        for idx in sorted({0, len(p) - 1}):
            if str(surface.projected_labels[idx]) in named:  # the same state is already labelled
                continue
            ax.annotate(
                str(surface.projected_labels[idx]),
                tuple(p[idx]),
                textcoords="offset points",
                xytext=(4, -10),
                color="tab:red",
                fontsize=8,
            )
    pts = surface.points
    ax.scatter(pts[:, 0], pts[:, 1], c="white", edgecolors="black", zorder=3)
    for (x, y), label in zip(pts, surface.labels):
        ax.annotate(str(label), (x, y), textcoords="offset points", xytext=(4, 4), color="white")
    ax.set_xlabel(xlabel if xlabel is not None else "u")
    ax.set_ylabel(ylabel if ylabel is not None else "v")
    if title:
        ax.set_title(title)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="best", fontsize=7, framealpha=0.6)
    return ax


def plot_surface(
    surface: Any,
    *,
    ax: Any = None,
    metric: str = "loss",
    log: bool = False,
    clip: float | None = None,
    cmap: str = "viridis",
    xlabel: str | None = None,
    ylabel: str | None = None,
    title: str | None = None,
    elev: float = 35.0,
    azim: float = -60.0,
) -> Any:
    """``metric`` on the plane as a 3-D surface (non-finite points left out), the named states marked.

    Args:
        surface: a [`PlaneSurface`][mlitheory.plane.PlaneSurface].
        ax: a 3-D axes (``projection="3d"``; default: a new Agg figure).
        metric, log, clip, cmap, xlabel, ylabel, title: as in [`plot_contour`][mlitheory.plotting.plot_contour].
        elev, azim: view angles in degrees.

    Returns:
        The 3-D axes.
    """
    if ax is None:
        from matplotlib.figure import Figure

        ax = Figure(figsize=(6, 4.8)).add_subplot(projection="3d")
    z = _grid_values(surface, metric, log, clip)
    u, v, z = _sorted(surface, z)
    uu, vv = np.meshgrid(u, v)
    ax.plot_surface(uu, vv, z, cmap=cmap, linewidth=0, antialiased=True, rstride=1, cstride=1)
    named = surface.point_values.get(metric) if surface.point_values else None
    if named is not None:
        zn = np.minimum(named, clip) if clip is not None else named
        zn = np.log10(zn) if log else zn
        ax.scatter(surface.points[:, 0], surface.points[:, 1], zn, c="white", edgecolors="black", depthshade=False)
    ax.set_xlabel(xlabel if xlabel is not None else "u")
    ax.set_ylabel(ylabel if ylabel is not None else "v")
    ax.set_zlabel(f"log10 {metric}" if log else metric)
    ax.view_init(elev=elev, azim=azim)
    if title:
        ax.set_title(title)
    return ax


def save_landscape(
    surface: Any,
    out: str | os.PathLike,
    *,
    name: str = "landscape",
    formats: Sequence[str] = ("png", "pdf"),
    dpi: int = 130,
    contour: dict | None = None,
    surface_options: dict | None = None,
) -> list[Path]:
    """Write ``<name>_contour.<fmt>`` and ``<name>_surface.<fmt>`` into folder ``out``; return the paths.

    ``contour`` and ``surface_options`` are keyword arguments of [`plot_contour`][mlitheory.plotting.plot_contour] and
    [`plot_surface`][mlitheory.plotting.plot_surface].
    """
    from matplotlib.figure import Figure

    bad = [f for f in formats if f not in ("png", "pdf", "svg")]
    if bad or not formats:
        raise ValueError(f"formats must be among 'png', 'pdf', 'svg', got {list(formats)!r}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    fig = Figure(figsize=(5.6, 4.6))
    plot_contour(surface, ax=fig.add_subplot(), **(contour or {}))
    fig.tight_layout()
    for fmt in formats:
        paths.append(out / f"{name}_contour.{fmt}")
        fig.savefig(paths[-1], dpi=dpi, bbox_inches="tight")
    fig = Figure(figsize=(6.2, 4.8))
    plot_surface(surface, ax=fig.add_subplot(projection="3d"), **(surface_options or {}))
    fig.subplots_adjust(left=0.0, right=0.95, bottom=0.05, top=0.95)
    for fmt in formats:
        paths.append(out / f"{name}_surface.{fmt}")
        fig.savefig(paths[-1], dpi=dpi)
    return paths
