"""Small real datasets written to folders, as `paretorec tune` reads them: a simulated
shop's logged exposures (ranker) and a shop of purchase chains (recommender)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from paretorec.data.io import FileFormat, write_dataset
from paretorec.rank import simulate_with_truth
from paretorec.simulate import WorldConfig
from tests.one_thread import one_thread  # noqa: F401  (autouse for this package)


@pytest.fixture(scope="session")
def logged_shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Logged impressions, clicks, carts and purchases of a small simulated shop."""
    logs = simulate_with_truth(200, 150, 1200, seed=5, config=WorldConfig.lively())
    folder = tmp_path_factory.mktemp("logged") / "shop"
    write_dataset(logs.dataset, folder, FileFormat.PARQUET)
    return folder


@pytest.fixture(scope="session")
def chain_shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """30 items in five themes; 60 shoppers each buy four items of one theme in order
    (leave-last-out: two train, one valid, one test)."""
    folder = tmp_path_factory.mktemp("chains")
    themes = ["racing game", "puzzle book", "chess set", "garden hose", "coffee mug"]
    ids = [f"i{n}" for n in range(30)]
    titles = [f"{themes[n % 5]} model {n}" for n in range(30)]
    pl.DataFrame({"item_id": ids, "title": titles}).write_csv(folder / "items.csv")
    rng = np.random.default_rng(0)
    users, items, times = [], [], []
    for user in range(60):
        theme = user % 5
        chain = rng.choice(np.arange(theme, 30, 5), size=4, replace=False)
        users += [f"u{user}"] * 4
        items += [ids[i] for i in chain]
        times += list(range(4))
    pl.DataFrame(
        {"user_id": users, "item_id": items, "event": ["purchase"] * len(items), "timestamp": times}
    ).write_csv(folder / "events.csv")
    return folder


@pytest.fixture(scope="session")
def items_only(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("items-only")
    pl.DataFrame({"item_id": ["a", "b"], "title": ["red shoe", "blue hat"]}).write_csv(
        folder / "items.csv"
    )
    return folder
