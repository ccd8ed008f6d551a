"""Pictures of a dataset's statistics (for `paretorec data stats --plot`)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; no display on servers
import matplotlib.pyplot as plt
import numpy as np

from paretorec.data.stats import DatasetStats
from paretorec.types import Dataset


def plot_stats(stats: DatasetStats, dataset: Dataset, path: Path) -> None:
    """Four panels: price histogram, events by type, CTR by position, top categories."""
    fig, axes = plt.subplots(2, 2, figsize=(12, 8))
    fig.suptitle(f"{stats.name}: {stats.n_items:,} items")
    price_ax, events_ax, ctr_ax, category_ax = axes.ravel()

    prices = (
        dataset.items.frame["price"].drop_nulls().to_numpy()
        if "price" in dataset.items.frame.columns
        else np.array([])
    )
    positive = prices[prices > 0]
    if positive.size:
        bins = (
            np.logspace(np.log10(positive.min()), np.log10(positive.max()), 40)
            if positive.max() > positive.min()
            else 10
        )
        price_ax.hist(positive, bins=bins, color="#4c72b0")
        price_ax.set_xscale("log")
    price_ax.set(title="price distribution (log scale)", xlabel="price", ylabel="items")

    if stats.events_by_type is not None:
        events_ax.bar(
            stats.events_by_type["event"].to_list(),
            stats.events_by_type["count"].to_list(),
            color="#55a868",
        )
        events_ax.set_yscale("log")
    events_ax.set(title="events by type", ylabel="rows (log scale)")

    if stats.ctr_by_position is not None and not stats.ctr_by_position.is_empty():
        ctr = stats.ctr_by_position
        ctr_ax.bar(ctr["position"].to_list(), ctr["ctr"].to_list(), color="#c44e52")
        ctr_ax.set_xticks(ctr["position"].to_list())
    ctr_ax.set(title="click-through rate by position", xlabel="position", ylabel="CTR")

    top = stats.top_categories
    if not top.is_empty():
        category_ax.barh(
            top["category"].to_list()[::-1], top["items"].to_list()[::-1], color="#8172b2"
        )
    category_ax.set(title="top categories", xlabel="items")

    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
