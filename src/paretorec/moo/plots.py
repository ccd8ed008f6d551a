"""Pictures of a Pareto front: a 2-D front plot and a scatter matrix for 3+ objectives.

Both draw every point, highlight the Pareto front and mark the chosen point (an index or
a `Selection`), label each axis with its objective's direction (↑ maximize, ↓ minimize)
and return a `matplotlib.figure.Figure` (built without pyplot, so no global state); with
`path` they also write it as a PNG.  The artists carry ids for inspection: ``gid`` is
"dominated", "front", "front-line" or "chosen".
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from numpy.typing import ArrayLike, NDArray

from paretorec.moo.pareto import Direction, Directions, _front_mask_min, _minimized, _signs
from paretorec.moo.selection import Selection

__all__ = ["axis_label", "plot_front_2d", "plot_scatter_matrix"]

FloatArray = NDArray[np.float64]


def axis_label(name: str, direction: Direction) -> str:
    """``"revenue ↑"`` for a maximized objective, ``"latency ↓"`` for a minimized one."""
    return f"{name} {'↑' if direction is Direction.MAXIMIZE else '↓'}"


def plot_front_2d(
    points: ArrayLike,
    directions: Directions,
    *,
    labels: Sequence[str] | None = None,
    chosen: int | Selection | None = None,
    title: str | None = None,
    path: str | os.PathLike[str] | None = None,
) -> Figure:
    """A 2-objective front: dominated points in grey, the front in blue joined in order
    of the first objective, the chosen point as a red star annotated with its values."""
    arr, dirs, names, mask, index = _inputs(points, directions, labels, chosen)
    if arr.shape[1] != 2:
        raise ValueError(f"plot_front_2d needs 2 objectives, got {arr.shape[1]}")
    fig = Figure(figsize=(6.0, 4.5), layout="constrained")
    ax = fig.add_subplot()
    _draw_pair(ax, arr, mask, index, 0, 1)
    front = arr[mask]
    order = np.lexsort((front[:, 1] * _signs(dirs)[1], front[:, 0] * _signs(dirs)[0]))
    ax.plot(front[order, 0], front[order, 1], color="tab:blue", lw=1.2, gid="front-line")
    if index is not None:
        x, y = arr[index]
        right_half = x > (arr[:, 0].min() + arr[:, 0].max()) / 2
        ax.annotate(
            f"#{index} ({x:.4g}, {y:.4g})",
            (x, y),
            xytext=(-10, 8) if right_half else (10, 8),
            textcoords="offset points",
            ha="right" if right_half else "left",
            fontsize=9,
            gid="chosen-label",
        )
    ax.set_xlabel(axis_label(names[0], dirs[0]))
    ax.set_ylabel(axis_label(names[1], dirs[1]))
    ax.set_title(title or f"Pareto front: {int(mask.sum())} of {len(arr)} points")
    ax.legend(loc="best", fontsize=8)
    ax.grid(alpha=0.3)
    _save(fig, path)
    return fig


def plot_scatter_matrix(
    points: ArrayLike,
    directions: Directions,
    *,
    labels: Sequence[str] | None = None,
    chosen: int | Selection | None = None,
    title: str | None = None,
    path: str | os.PathLike[str] | None = None,
) -> Figure:
    """Pairwise scatter plots of m ≥ 2 objectives (row i, column j: objective j across,
    objective i up), the m-objective front highlighted in each; the diagonal shows each
    objective's histogram, all points and the front's."""
    arr, dirs, names, mask, index = _inputs(points, directions, labels, chosen)
    m = arr.shape[1]
    if m < 2:
        raise ValueError("a scatter matrix needs at least 2 objectives")
    size = 2.2 * m
    fig = Figure(figsize=(size, size), layout="constrained")
    axes = fig.subplots(m, m, squeeze=False)
    for i in range(m):
        for j in range(m):
            ax = axes[i][j]
            if i == j:
                edges = np.histogram_bin_edges(arr[:, i], bins=20)
                ax.hist(arr[:, i], bins=edges, color="0.75")
                ax.hist(arr[mask, i], bins=edges, color="tab:blue", alpha=0.7)
                if index is not None:
                    ax.axvline(arr[index, i], color="tab:red", gid="chosen")
            else:
                _draw_pair(ax, arr, mask, index, j, i)
            if i == m - 1:
                ax.set_xlabel(axis_label(names[j], dirs[j]))
            if j == 0:
                ax.set_ylabel(axis_label(names[i], dirs[i]))
            ax.tick_params(labelsize=7)
    chosen_text = "" if index is None else f", chosen #{index}"
    fig.suptitle(title or f"Pareto front: {int(mask.sum())} of {len(arr)} points{chosen_text}")
    _save(fig, path)
    return fig


def _inputs(
    points: ArrayLike,
    directions: Directions,
    labels: Sequence[str] | None,
    chosen: int | Selection | None,
) -> tuple[FloatArray, tuple[Direction, ...], list[str], NDArray[np.bool_], int | None]:
    mins, dirs = _minimized(points, directions)
    n, m = mins.shape
    names = [f"f{j + 1}" for j in range(m)] if labels is None else [str(x) for x in labels]
    if len(names) != m:
        raise ValueError(f"got {len(names)} label(s) for {m} objective(s)")
    index = chosen.index if isinstance(chosen, Selection) else chosen
    if index is not None:
        if isinstance(index, bool) or not isinstance(index, int | np.integer):
            raise ValueError(f"chosen must be an int index or a Selection, got {chosen!r}")
        if not 0 <= index < n:
            raise ValueError(f"chosen index {index} is out of range for {n} point(s)")
        index = int(index)
    return mins * _signs(dirs), dirs, names, _front_mask_min(mins), index


def _draw_pair(
    ax: Axes, arr: FloatArray, mask: NDArray[np.bool_], index: int | None, x: int, y: int
) -> None:
    rest = arr[~mask]
    ax.scatter(
        rest[:, x], rest[:, y], s=14, color="0.7", linewidths=0, label="dominated", gid="dominated"
    )
    front = arr[mask]
    ax.scatter(
        front[:, x],
        front[:, y],
        s=28,
        color="tab:blue",
        zorder=3,
        label="Pareto front",
        gid="front",
    )
    if index is not None:
        ax.scatter(
            [arr[index, x]],
            [arr[index, y]],
            s=220,
            color="tab:red",
            marker="*",
            edgecolors="black",
            zorder=4,
            label="chosen",
            gid="chosen",
        )


def _save(fig: Figure, path: str | os.PathLike[str] | None) -> None:
    if path is not None:
        fig.savefig(path, format="png", dpi=120)
