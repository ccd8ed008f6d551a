"""`data stats --plot`: each panel shows data, or says "no data"; none is left blank."""

from __future__ import annotations

import matplotlib.pyplot as plt
import polars as pl
import pytest
from matplotlib.axes import Axes

from paretorec.data.plots import NO_DATA, stats_figure
from paretorec.data.stats import dataset_stats
from paretorec.types import Catalog, Dataset, Events, Judgments, Queries

ITEMS = Catalog(pl.DataFrame({"item_id": ["a", "b", "c"], "title": ["red drill", "saw", "x y z"]}))
QUERIES = Queries(pl.DataFrame({"query_id": ["q1", "q2"], "text": ["drill", "saw"]}))
JUDGMENTS = Judgments(
    pl.DataFrame(
        {
            "query_id": ["q1", "q1", "q2"],
            "item_id": ["a", "b", "b"],
            "grade": [3.0, 1.0, 2.33],
        }
    )
)
EVENTS = Events(
    pl.DataFrame(
        {
            "user_id": ["u1", "u1", "u2"],
            "item_id": ["a", "b", "a"],
            "event": ["purchase", "purchase", "purchase"],
        }
    )
)


def panels(dataset: Dataset) -> dict[str, bool]:
    """Each panel's title, and whether it drew data (False: it says "no data")."""
    fig = stats_figure(dataset_stats(dataset), dataset)
    try:
        return {ax.get_title(): has_data(ax) for ax in fig.axes}
    finally:
        plt.close(fig)


def has_data(ax: Axes) -> bool:
    drawn = bool(ax.patches or ax.lines or ax.collections or ax.images)
    labelled = [t.get_text() for t in ax.texts] == [NO_DATA]
    assert drawn != labelled, f"{ax.get_title()!r}: drawn={drawn}, no-data label={labelled}"
    return drawn


def test_a_search_dataset_without_events_plots_its_judgments() -> None:
    dataset = Dataset(items=ITEMS, queries=QUERIES, judgments=JUDGMENTS, name="search")
    assert panels(dataset) == {
        "price distribution": False,
        "top categories": False,
        "title length": True,
        "judgment grades": True,
        "judgments per query": True,
        "queries per judged item": True,
    }


def test_a_sequence_dataset_plots_its_events() -> None:
    dataset = Dataset(items=ITEMS, events=EVENTS, name="sequences")
    assert panels(dataset) == {
        "price distribution": False,
        "top categories": False,
        "title length": True,
        "events by type": True,
        "click-through rate by position": False,  # no positions in the log
        "sequence length": True,
        "interactions per item": True,
    }


@pytest.mark.parametrize("column", ["price", "category"])
def test_items_with_prices_and_categories_fill_those_panels(column: str) -> None:
    values = [1.0, 20.0, 300.0] if column == "price" else ["Tools > Drills", "Tools", "Garden"]
    items = Catalog(ITEMS.frame.with_columns(pl.Series(column, values)))
    drawn = panels(Dataset(items=items, name="shop"))
    title = "price distribution" if column == "price" else "top categories"
    assert drawn[title] is True and drawn["title length"] is True
