"""A small shop of purchase chains, fitted recommenders on it, and the session's Ray."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from paretorec.data.validate import load_dataset
from paretorec.retrieve.recommend import (
    CoVisitation,
    Popularity,
    Quotas,
    Recommender,
    Source,
    SplitSequences,
    TwoTower,
    fit_on_train,
    split_sequences,
)
from tests.one_thread import one_thread  # noqa: F401  (autouse for this package)
from tests.ray_cluster import ray_cluster  # noqa: F401  (the session's local Ray)
from tests.theme_chains import write_theme_chains


@pytest.fixture(scope="session")
def chain_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """60 items in six themes; 150 shoppers each buy five items of one theme in order."""
    folder = tmp_path_factory.mktemp("scale-chains")
    themes = ["racing game", "puzzle book", "chess set", "garden hose", "coffee mug", "desk lamp"]
    return write_theme_chains(folder, themes, n_items=60, n_users=150, length=5, seed=1)


@pytest.fixture(scope="session")
def chains(chain_folder: Path) -> SplitSequences:
    return split_sequences(load_dataset(chain_folder))


@pytest.fixture(scope="session")
def recommender(chains: SplitSequences) -> Recommender:
    """Popularity, co-visitation and a one-epoch two-tower, merged."""
    vectors = np.random.default_rng(0).normal(size=(chains.n_items, 16)).astype(np.float32)
    quotas = Quotas({Source.COVISITATION: 0.5, Source.TWO_TOWER: 0.3, Source.POPULARITY: 0.2})
    generators = [Popularity(), CoVisitation(), TwoTower(dim=16, epochs=1, seed=0)]
    return fit_on_train(chains, vectors, generators=generators, quotas=quotas, seed=0)
