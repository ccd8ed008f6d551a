"""The contract every generator passes: fit, score (finite, full catalog, new items
included), save/load to identical scores, and clear errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from paretorec.retrieve.recommend import (
    CoVisitation,
    Generator,
    NotFittedError,
    Popularity,
    Sequential,
    TrainingData,
    TwoTower,
)
from tests.retrieve.recommend.conftest import DIM, N_ITEMS, text_vectors


def make(name: str) -> Generator:
    if name == "popularity":
        return Popularity()
    if name == "covisitation":
        return CoVisitation()
    if name == "two-tower":
        return TwoTower(dim=16, epochs=30, batch_size=32, learning_rate=1e-2, seed=1)
    return Sequential(
        dim=16, max_length=4, layers=1, heads=2, dropout=0.0, epochs=30, batch_size=32,
        learning_rate=1e-2, seed=1,
    )  # fmt: skip


NAMES = ["popularity", "covisitation", "two-tower", "sequential"]


@pytest.fixture(scope="module")
def fitted(request: pytest.FixtureRequest) -> dict[str, Generator]:
    from tests.retrieve.recommend.conftest import chains

    data = TrainingData(text_vectors(), chains(12))
    return {name: make(name).fit(data) for name in NAMES}


@pytest.mark.parametrize("name", NAMES)
def test_scores_every_item_finitely(fitted: dict[str, Generator], name: str) -> None:
    histories = [np.array([0]), np.array([3, 4]), np.array([], dtype=np.int64)]
    scores = fitted[name].score(histories, text_vectors())
    assert scores.shape == (3, N_ITEMS)
    assert scores.dtype == np.float32
    assert np.isfinite(scores).all()


@pytest.mark.parametrize("name", NAMES)
def test_new_items_are_scored_from_their_text(fitted: dict[str, Generator], name: str) -> None:
    vectors = np.concatenate([text_vectors(), text_vectors(2, seed=9)])
    scores = fitted[name].score([np.array([0]), np.array([N_ITEMS])], vectors)
    assert scores.shape == (2, N_ITEMS + 2)
    assert np.isfinite(scores).all()


@pytest.mark.parametrize("name", NAMES)
def test_save_and_load_score_identically(
    fitted: dict[str, Generator], name: str, tmp_path: Path
) -> None:
    model = fitted[name]
    model.save(tmp_path / name)
    loaded = type(model).load(tmp_path / name)
    histories = [np.array([0, 1]), np.array([5])]
    np.testing.assert_allclose(
        loaded.score(histories, text_vectors()), model.score(histories, text_vectors()), atol=1e-6
    )


@pytest.mark.parametrize("name", NAMES)
def test_scoring_before_fit_is_a_clear_error(name: str) -> None:
    with pytest.raises(NotFittedError, match="fit"):
        make(name).score([np.array([0])], text_vectors())


@pytest.mark.parametrize("name", NAMES)
def test_out_of_range_history_is_a_clear_error(fitted: dict[str, Generator], name: str) -> None:
    with pytest.raises(IndexError, match="outside"):
        fitted[name].score([np.array([N_ITEMS + 5])], text_vectors())


@pytest.mark.parametrize("name", NAMES)
def test_loading_another_kind_is_a_clear_error(
    fitted: dict[str, Generator], name: str, tmp_path: Path
) -> None:
    fitted["popularity" if name != "popularity" else "covisitation"].save(tmp_path)
    with pytest.raises(ValueError, match="expected"):
        type(fitted[name]).load(tmp_path)


def test_training_data_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="outside"):
        TrainingData(text_vectors(), (np.array([0, N_ITEMS]),))
    with pytest.raises(ValueError, match="n_items"):
        TrainingData(np.zeros((0, DIM), dtype=np.float32), ())
    bad = text_vectors()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        TrainingData(bad, ())
