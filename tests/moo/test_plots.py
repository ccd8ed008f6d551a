"""Front plots: files are written and the artists show what they should (no pixels)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from matplotlib.axes import Axes
from matplotlib.collections import PathCollection
from numpy.typing import NDArray

from paretorec.moo.pareto import Direction, pareto_front_mask
from paretorec.moo.plots import axis_label, plot_front_2d, plot_scatter_matrix
from paretorec.moo.selection import select_knee

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _offsets(ax: Axes, gid: str) -> NDArray[np.float64]:
    """The data coordinates of the one scatter collection with this gid."""
    found = [c for c in ax.collections if c.get_gid() == gid]
    assert len(found) == 1, gid
    assert isinstance(found[0], PathCollection)
    return np.asarray(found[0].get_offsets(), dtype=np.float64)


def test_front_plot(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    points = rng.random((50, 2)) * [100.0, 1.0]
    directions = [Direction.MAXIMIZE, Direction.MINIMIZE]
    choice = select_knee(points, directions)
    path = tmp_path / "front.png"
    fig = plot_front_2d(points, directions, labels=["revenue", "latency"], chosen=choice, path=path)
    assert path.read_bytes()[:8] == PNG_MAGIC

    (ax,) = fig.axes
    mask = pareto_front_mask(points, directions)
    front = _offsets(ax, "front")
    assert len(front) == mask.sum()
    assert len(_offsets(ax, "dominated")) == len(points) - mask.sum()
    np.testing.assert_allclose(_offsets(ax, "chosen"), points[choice.index][None, :])
    (line,) = [ln for ln in ax.lines if ln.get_gid() == "front-line"]
    xs = np.asarray(line.get_xdata())
    assert len(xs) == mask.sum()
    assert np.all(np.diff(xs) <= 0)  # joined from the best revenue down
    assert ax.get_xlabel() == "revenue ↑"
    assert ax.get_ylabel() == "latency ↓"
    (label,) = [t for t in ax.texts if t.get_gid() == "chosen-label"]
    assert f"#{choice.index}" in label.get_text()


def test_front_plot_without_a_choice_or_file() -> None:
    fig = plot_front_2d([[1.0, 2.0], [2.0, 1.0], [3.0, 3.0]], "minimize")
    (ax,) = fig.axes
    assert not [c for c in ax.collections if c.get_gid() == "chosen"]
    assert ax.get_xlabel() == "f1 ↓"


def test_scatter_matrix(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    points = rng.random((60, 3))
    path = tmp_path / "matrix.png"
    fig = plot_scatter_matrix(
        points, "maximize", labels=["ndcg", "revenue", "diversity"], chosen=5, path=path
    )
    assert path.read_bytes()[:8] == PNG_MAGIC
    assert len(fig.axes) == 9
    n_front = int(pareto_front_mask(points, "maximize").sum())
    for k, ax in enumerate(fig.axes):
        i, j = divmod(k, 3)
        if i == j:
            continue
        assert len(_offsets(ax, "front")) == n_front
        np.testing.assert_allclose(_offsets(ax, "chosen"), points[5, [j, i]][None, :])
    assert fig.axes[6].get_xlabel() == "ndcg ↑"
    assert fig.axes[3].get_ylabel() == "revenue ↑"


def test_plot_errors() -> None:
    three = np.zeros((2, 3))
    with pytest.raises(ValueError, match="2 objectives"):
        plot_front_2d(three, "minimize")
    with pytest.raises(ValueError, match="out of range"):
        plot_front_2d(np.zeros((2, 2)), "minimize", chosen=2)
    with pytest.raises(ValueError, match="label"):
        plot_scatter_matrix(three, "minimize", labels=["a", "b"])
    with pytest.raises(ValueError, match="at least 2"):
        plot_scatter_matrix(np.zeros((2, 1)), "minimize")
    assert axis_label("x", Direction.MINIMIZE) == "x ↓"
