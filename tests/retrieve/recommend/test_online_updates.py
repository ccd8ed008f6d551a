"""Online updates: interactions seen after training move popularity and co-visitation at
once, so a new item is recommended from its first co-views."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from paretorec.retrieve.recommend import CoVisitation, Popularity, Quotas, Recommender, Source

ITEMS = [f"i{n}" for n in range(6)]


def _fitted() -> Recommender:
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((6, 8)).astype(np.float32)
    train = [np.array([0, 1, 2]), np.array([1, 2, 3]), np.array([0, 2, 4])]
    return Recommender.fit(
        ITEMS,
        vectors,
        train,
        generators=[Popularity(), CoVisitation(text_neighbours=0)],
        quotas=Quotas({Source.COVISITATION: 1.0}),
        user_ids=["a", "b", "c"],
    )


def test_a_new_item_is_recommended_from_its_first_co_views() -> None:
    model = _fitted()
    model.add_items(["new"], np.ones((1, 8), dtype=np.float32))
    before = model.recommend(session=["i5"], k=3)
    assert "new" not in before.item_ids
    assert model.observe("shopper-1", ["i5", "new"]) == 2
    assert model.observe("shopper-2", ["i5", "new"]) == 2
    after = model.recommend(session=["i5"], k=3)
    assert after.item_ids[0] == "new"
    assert after.sources[0] == Source.COVISITATION
    assert model.history_of("shopper-1") == ("i5", "new")


def test_observed_counts_move_popularity_and_unknown_items_are_skipped() -> None:
    model = _fitted()
    popularity = model.generators[Source.POPULARITY]
    assert isinstance(popularity, Popularity)
    counts = popularity.counts.copy()
    assert model.observe("a", ["i5", "i5", "gone"]) == 2
    np.testing.assert_array_equal(popularity.counts - counts, [0, 0, 0, 0, 0, 2])
    assert model.history_of("a")[-2:] == ("i5", "i5")
    assert model.observe("a", ["gone"]) == 0


def test_online_co_visits_follow_the_fitted_window_and_weights() -> None:
    covisit = CoVisitation(window=2, order_decay=0.5, backward=0.0, text_neighbours=0)
    covisit._counts = np.ones(4)
    covisit._matrix = sp.csr_array((4, 4))
    covisit.observe(np.array([0]), np.array([1, 2]))
    # 0 -> 1 (offset 1), 1 -> 2 (offset 1), 0 -> 2 (offset 2, weight 0.5)
    assert covisit._online == {(0, 1): 1.0, (1, 2): 1.0, (0, 2): 0.5}
