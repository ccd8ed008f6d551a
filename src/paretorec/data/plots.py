"""Pictures of a dataset's statistics (for `paretorec data stats --plot`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")  # files only; no display on servers
import matplotlib.pyplot as plt
import numpy as np
import polars as pl

from paretorec.data.stats import DatasetStats
from paretorec.types import Dataset

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

NO_DATA = "no data"
COLUMNS = 3

Panel = tuple[str, Callable[["Axes", DatasetStats, Dataset], bool]]
"""A panel's title, and what draws it: True when there was something to draw."""


def plot_stats(stats: DatasetStats, dataset: Dataset, path: Path) -> None:
    """Draw `stats_figure` into the PNG at `path`."""
    fig = stats_figure(stats, dataset)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def stats_figure(stats: DatasetStats, dataset: Dataset) -> Figure:
    """One panel for each thing the dataset has: items (price, categories, title length)
    always; judgments (grades, judgments per query, queries per item) and events (events
    by type, CTR by position, sequence lengths, interactions per item) when it has them.
    A panel with nothing to draw says "no data" instead of staying blank."""
    panels = list(ITEM_PANELS)
    if dataset.judgments is not None:
        panels += JUDGMENT_PANELS
    if dataset.events is not None:
        panels += EVENT_PANELS
    rows = -(-len(panels) // COLUMNS)
    fig, axes = plt.subplots(rows, COLUMNS, figsize=(6 * COLUMNS, 4 * rows), squeeze=False)
    fig.suptitle(f"{stats.name}: {stats.n_items:,} items")
    flat = list(axes.ravel())
    for ax, (title, draw) in zip(flat, panels, strict=False):
        if not draw(ax, stats, dataset):
            _no_data(ax)
        ax.set_title(title)
    for ax in flat[len(panels) :]:
        fig.delaxes(ax)
    fig.tight_layout()
    return fig


def _no_data(ax: Axes) -> None:
    ax.text(0.5, 0.5, NO_DATA, ha="center", va="center", transform=ax.transAxes, color="grey")
    ax.set_xticks([])
    ax.set_yticks([])


def _counts(ax: Axes, counts: np.ndarray, xlabel: str, ylabel: str, color: str) -> bool:
    """A histogram of positive counts: a bar per value over a range up to 120, else log bins."""
    counts = counts[counts > 0]
    if counts.size == 0:
        return False
    low, high = int(counts.min()), int(counts.max())
    if high - low <= 120:
        ax.hist(counts, bins=(np.arange(low, high + 2) - 0.5).tolist(), color=color)
    else:
        ax.hist(
            counts, bins=np.logspace(np.log10(low), np.log10(high + 1), 40).tolist(), color=color
        )
        ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set(xlabel=xlabel, ylabel=f"{ylabel} (log scale)")
    return True


# ----------------------------------------------------------------------------- items


def _price(ax: Axes, stats: DatasetStats, dataset: Dataset) -> bool:
    frame = dataset.items.frame
    prices = frame["price"].drop_nulls().to_numpy() if "price" in frame.columns else np.array([])
    positive = prices[prices > 0]
    if not positive.size:
        return False
    bins = (
        np.logspace(np.log10(positive.min()), np.log10(positive.max()), 40).tolist()
        if positive.max() > positive.min()
        else 10
    )
    ax.hist(positive, bins=bins, color="#4c72b0")
    ax.set_xscale("log")
    ax.set(xlabel="price (log scale)", ylabel="items")
    return True


def _categories(ax: Axes, stats: DatasetStats, dataset: Dataset) -> bool:
    top = stats.top_categories
    if top.is_empty():
        return False
    ax.barh(top["category"].to_list()[::-1], top["items"].to_list()[::-1], color="#8172b2")
    ax.set(xlabel="items")
    return True


def _title_words(ax: Axes, stats: DatasetStats, dataset: Dataset) -> bool:
    words = dataset.items.frame["title"].cast(pl.String).str.split(" ").list.len()
    return _counts(ax, words.drop_nulls().to_numpy(), "words in the title", "items", "#64b5cd")


ITEM_PANELS: tuple[Panel, ...] = (
    ("price distribution", _price),
    ("top categories", _categories),
    ("title length", _title_words),
)


# ----------------------------------------------------------------------------- judgments


def _grades(ax: Axes, stats: DatasetStats, dataset: Dataset) -> bool:
    grades = stats.grades
    if grades is None or grades.is_empty():
        return False
    ax.bar(
        [f"{g:g}" for g in grades["grade"].to_list()], grades["count"].to_list(), color="#dd8452"
    )
    ax.set(xlabel="grade", ylabel="judgments")
    return True


def _per(column: str, by: str, dataset: Dataset) -> np.ndarray:
    assert dataset.judgments is not None
    return dataset.judgments.frame.group_by(by).agg(pl.col(column).n_unique())[column].to_numpy()


def _judgments_per_query(ax: Axes, stats: DatasetStats, dataset: Dataset) -> bool:
    counts = _per("item_id", "query_id", dataset)
    return _counts(ax, counts, "judged items per query", "queries", "#937860")


def _queries_per_item(ax: Axes, stats: DatasetStats, dataset: Dataset) -> bool:
    counts = _per("query_id", "item_id", dataset)
    return _counts(ax, counts, "queries judging the item", "items", "#da8bc3")


JUDGMENT_PANELS: tuple[Panel, ...] = (
    ("judgment grades", _grades),
    ("judgments per query", _judgments_per_query),
    ("queries per judged item", _queries_per_item),
)


# ----------------------------------------------------------------------------- events


def _events_by_type(ax: Axes, stats: DatasetStats, dataset: Dataset) -> bool:
    counts = stats.events_by_type
    if counts is None or counts.is_empty():
        return False
    ax.bar(counts["event"].to_list(), counts["count"].to_list(), color="#55a868")
    ax.set_yscale("log")
    ax.set(ylabel="rows (log scale)")
    return True


def _ctr(ax: Axes, stats: DatasetStats, dataset: Dataset) -> bool:
    ctr = stats.ctr_by_position
    if ctr is None or ctr.is_empty():
        return False
    ax.bar(ctr["position"].to_list(), ctr["ctr"].to_list(), color="#c44e52")
    ax.set_xticks(ctr["position"].to_list())
    ax.set(xlabel="position", ylabel="CTR")
    return True


def _sequence_lengths(ax: Axes, stats: DatasetStats, dataset: Dataset) -> bool:
    assert dataset.events is not None
    counts = dataset.events.frame.group_by("user_id").len()["len"].to_numpy()
    return _counts(ax, counts, "events per user", "users", "#4c72b0")


def _interactions_per_item(ax: Axes, stats: DatasetStats, dataset: Dataset) -> bool:
    assert dataset.events is not None
    counts = dataset.events.frame.group_by("item_id").len()["len"].to_numpy()
    return _counts(ax, counts, "events per item", "items", "#8c8c8c")


EVENT_PANELS: tuple[Panel, ...] = (
    ("events by type", _events_by_type),
    ("click-through rate by position", _ctr),
    ("sequence length", _sequence_lengths),
    ("interactions per item", _interactions_per_item),
)
