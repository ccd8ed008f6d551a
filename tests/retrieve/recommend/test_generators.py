"""Each generator on tiny hand-checked histories: the expected next item comes first."""

from __future__ import annotations

import numpy as np
import pytest

from paretorec.retrieve.recommend import (
    CoVisitation,
    Popularity,
    Sequential,
    TrainingData,
    TwoTower,
    co_visit_matrix,
    popular_diverse,
)
from tests.retrieve.recommend.conftest import N_ITEMS, chains, text_vectors


def top(scores: np.ndarray, history: list[int]) -> int:
    row = scores.astype(np.float64).copy()
    row[history] = -np.inf
    return int(np.argmax(row))


def test_popularity_ranks_by_count_and_ignores_history(data: TrainingData) -> None:
    model = Popularity().fit(data)
    scores = model.score([np.array([0]), np.array([3])], text_vectors())
    assert top(scores[0], []) == 6  # 6 is bought 90 times, the others 30
    np.testing.assert_array_equal(scores[0], scores[1])


def test_popular_diverse_skips_near_duplicates() -> None:
    vectors = text_vectors(4)
    vectors[1] = vectors[0]  # item 1 is item 0 again (another edition)
    popularity = np.array([10.0, 9.0, 5.0, 4.0])
    allowed = np.ones(4, dtype=bool)
    plain = popular_diverse(popularity, vectors, allowed, k=2, diversity=0.0, pool=4)
    diverse = popular_diverse(popularity, vectors, allowed, k=2, diversity=0.5, pool=4)
    assert plain.tolist() == [0, 1]
    assert diverse.tolist() == [0, 2]
    allowed[0] = False
    assert 0 not in popular_diverse(popularity, vectors, allowed, k=3, diversity=0.5, pool=4)


def test_co_visit_matrix_decays_with_order_distance() -> None:
    matrix = co_visit_matrix(
        [np.array([0, 1, 2])], 3, window=2, order_decay=0.5, backward=0.25
    ).toarray()
    assert matrix[0, 1] == 1.0 and matrix[0, 2] == 0.5  # forward, one and two steps on
    assert matrix[1, 0] == 0.25 and matrix[2, 0] == 0.125  # backward
    assert np.all(np.diag(matrix) == 0)


@pytest.mark.parametrize("history, expected", [([0], 1), ([0, 1], 2), ([3], 4), ([3, 4], 5)])
def test_covisitation_next_item(data: TrainingData, history: list[int], expected: int) -> None:
    scores = CoVisitation().fit(data).score([np.array(history)], text_vectors())
    assert top(scores[0], history) == expected


def test_covisitation_votes_for_a_new_item_through_its_text(data: TrainingData) -> None:
    model = CoVisitation(text_neighbours=1).fit(data)
    vectors = np.concatenate([text_vectors(), text_vectors()[3:4]])  # new item 8 reads like 3
    scores = model.score([np.array([N_ITEMS])], vectors)
    assert top(scores[0], [N_ITEMS]) == 4
    assert scores[0, N_ITEMS] == 0.0  # no co-visits of its own to earn


def test_two_tower_next_item(data: TrainingData) -> None:
    model = TwoTower(dim=16, epochs=60, batch_size=32, learning_rate=1e-2, seed=0).fit(data)
    scores = model.score([np.array([0]), np.array([3])], text_vectors())
    assert top(scores[0], [0]) in (1, 2)
    assert top(scores[1], [3]) in (4, 5)


def test_sequential_next_item_follows_the_order(data: TrainingData) -> None:
    model = Sequential(
        dim=16, max_length=4, layers=1, heads=2, dropout=0.0, epochs=60, batch_size=32,
        learning_rate=1e-2, seed=0,
    ).fit(data)  # fmt: skip
    histories = [np.array([0]), np.array([0, 1]), np.array([3]), np.array([3, 4])]
    scores = model.score(histories, text_vectors())
    assert [top(s, h.tolist()) for s, h in zip(scores, histories, strict=True)] == [1, 2, 4, 5]


def test_sequential_recommends_from_and_to_a_text_only_item() -> None:
    vectors = text_vectors()
    data = TrainingData(vectors, chains(12))
    model = Sequential(
        dim=16, max_length=4, layers=1, heads=2, dropout=0.0, id_dropout=0.5, epochs=60,
        batch_size=32, learning_rate=1e-2, seed=0,
    ).fit(data)  # fmt: skip
    with_new = np.concatenate([vectors, vectors[4:5]])  # item 8: a new edition of item 4
    scores = model.score([np.array([3]), np.array([3, N_ITEMS])], with_new)
    ranked = np.argsort(-scores[0])
    assert np.flatnonzero(ranked == N_ITEMS)[0] < 3  # the new item ranks near its twin
    assert top(scores[1], [3, N_ITEMS]) in (4, 5)  # and is recommended from


def test_neural_models_need_pairs() -> None:
    data = TrainingData(text_vectors(), (np.array([1]),))
    with pytest.raises(ValueError, match="at least"):
        Sequential(epochs=1).fit(data)
    with pytest.raises(ValueError, match="at least"):
        TwoTower(epochs=1).fit(data)


@pytest.mark.parametrize(
    "build",
    [
        lambda: CoVisitation(window=0),
        lambda: CoVisitation(order_decay=0.0),
        lambda: Popularity(diversity=2.0),
        lambda: TwoTower(temperature=0.0),
        lambda: Sequential(dim=10, heads=3),
        lambda: Sequential(negatives="sampled"),  # type: ignore[arg-type]
    ],
)
def test_bad_hyperparameters_are_rejected(build: object) -> None:
    with pytest.raises(ValueError):
        build()  # type: ignore[operator]


def test_sequential_full_softmax_learns_the_order_too(data: TrainingData) -> None:
    model = Sequential(
        dim=16, max_length=4, layers=1, heads=2, dropout=0.0, epochs=40, batch_size=32,
        learning_rate=1e-2, negatives="full", seed=0,
    ).fit(data)  # fmt: skip
    scores = model.score([np.array([0, 1]), np.array([3, 4])], text_vectors())
    assert top(scores[0], [0, 1]) == 2 and top(scores[1], [3, 4]) == 5
