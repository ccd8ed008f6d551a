"""Small real datasets written to folders, as `paretorec tune` reads them: a simulated
shop's logged exposures (ranker) and a shop of purchase chains (recommender)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from paretorec.data.io import FileFormat, write_dataset
from paretorec.rank import simulate_with_truth
from paretorec.simulate import WorldConfig
from tests.one_thread import one_thread  # noqa: F401  (autouse for this package)
from tests.theme_chains import write_theme_chains


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
    return write_theme_chains(folder, themes, n_items=30, n_users=60, length=4, seed=0)


@pytest.fixture(scope="session")
def items_only(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("items-only")
    pl.DataFrame({"item_id": ["a", "b"], "title": ["red shoe", "blue hat"]}).write_csv(
        folder / "items.csv"
    )
    return folder
