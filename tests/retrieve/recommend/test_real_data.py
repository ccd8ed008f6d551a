"""On real Amazon Video Games sequences: co-visitation beats popularity on the valid item."""

from __future__ import annotations

import numpy as np
import pytest

from paretorec.data.datasets import BuiltinDataset, DatasetUnavailableError, load_builtin
from paretorec.retrieve.recommend import (
    CoVisitation,
    Popularity,
    TrainingData,
    split_sequences,
)
from paretorec.retrieve.recommend._neural import ValidationSet, recall_at


@pytest.mark.slow
def test_covisitation_beats_popularity_on_amazon_games() -> None:
    try:
        dataset = load_builtin(BuiltinDataset.AMAZON_GAMES)
    except DatasetUnavailableError as error:
        pytest.skip(str(error))
    sequences = split_sequences(dataset)
    assert len(sequences.user_ids) == 50_546 and sequences.n_items == 16_859
    # Random unit vectors stand in for text: these two generators do not read it.
    vectors = np.random.default_rng(0).normal(size=(sequences.n_items, 4)).astype(np.float32)
    data = TrainingData(vectors, sequences.train)
    users = np.random.default_rng(0).choice(len(sequences.user_ids), 2000, replace=False)
    validation = ValidationSet(
        tuple(sequences.train[u] for u in users),
        np.array([sequences.valid[u][0] for u in users]),
    )
    popular = recall_at(Popularity().fit(data).score(validation.histories, vectors), validation)
    covisit = recall_at(CoVisitation().fit(data).score(validation.histories, vectors), validation)
    assert covisit > 2 * popular > 0
