"""The learned merge: exact features on a hand-built case, a planted signal learned, files,
the popularity fallback, and no test item in its training."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar, Self

import numpy as np
import pytest
from numpy.typing import NDArray

from paretorec.retrieve.recommend import (
    ActorCaps,
    CoVisitation,
    Generator,
    History,
    Popularity,
    Quotas,
    Recommender,
    Source,
    SplitSequences,
    TrainingData,
    evaluate_recommender,
)
from paretorec.retrieve.recommend.base import Progress
from paretorec.retrieve.recommend.evaluation import (
    QUOTA_MERGE,
    carve_validation,
    fit_learned_merge,
    merge_training_set,
)
from paretorec.retrieve.recommend.learned_merge import (
    MISSING,
    ItemStats,
    LearnedMerge,
    MergeConfig,
    build_candidates,
    feature_names,
    session_vectors,
)
from tests.retrieve.recommend.conftest import text_vectors

INF = np.inf


def test_item_stats_count_recent_and_age_exactly() -> None:
    stats = ItemStats.from_sequences(
        [np.array([1, 2, 3]), np.array([2, 3]), np.array([], dtype=np.int64)], 5, recent_steps=1
    )
    assert stats.counts.tolist() == [0, 1, 2, 2, 0]
    assert stats.recent.tolist() == [0, 0, 0, 2, 0]  # 3 is last in both sequences
    assert stats.age.tolist() == [MISSING, 2, 1, 0, MISSING]
    padded = stats.padded(7)
    assert padded.counts.tolist()[5:] == [0, 0] and padded.age.tolist()[5:] == [MISSING] * 2


def test_features_exact_on_a_hand_built_case() -> None:
    # two sources over 5 items; item 0 is user 0's history, item 4 user 1's (-inf: excluded)
    scores = {
        "a": np.array([[-INF, 3.0, 2.0, 0.0, 1.0], [5.0, 4.0, 0.0, 0.0, -INF]]),
        "b": np.array([[-INF, 0.1, 0.2, 0.9, 0.0], [0.3, 0.2, 0.1, 0.0, -INF]]),
    }
    stats = ItemStats.from_sequences([np.array([1, 2, 3]), np.array([2, 3])], 5, recent_steps=1)
    # 2-d text vectors: the cosine to the last history item (0 for user 0, 2 for user 1)
    angles = np.array([0.0, 0.5, 1.0, 1.5, 2.0])
    vectors = np.stack([np.cos(angles), np.sin(angles)], axis=1).astype(np.float32)
    found = build_candidates(
        scores,
        {"a": 0.0, "b": -INF},
        [np.array([0]), np.array([4, 1, 2])],
        stats,
        vectors,
        depth=2,
    )
    # user 0: a lists 1, 2 (0.0 is not above a's min score); b lists 3, 2
    # user 1: a lists 0, 1; b lists 0, 1
    assert found.user.tolist() == [0, 0, 0, 1, 1]
    assert found.item.tolist() == [1, 2, 3, 0, 1]
    assert feature_names(["a", "b"]) == (
        "a_score",
        "a_rank",
        "b_score",
        "b_rank",
        "n_sources",
        "recent_count",
        "age",
        "history_length",
        "last_item_text",
    )
    expected = [
        [3.0, 1, 0.1, MISSING, 1, 0, 2, 1, np.cos(0.5)],
        [2.0, 2, 0.2, 2, 2, 0, 1, 1, np.cos(1.0)],
        [0.0, MISSING, 0.9, 1, 1, 2, 0, 1, np.cos(1.5)],
        [5.0, 1, 0.3, 1, 2, 0, MISSING, 3, np.cos(1.0)],
        [4.0, 2, 0.2, 2, 2, 0, 2, 3, np.cos(0.5)],
    ]
    np.testing.assert_allclose(found.features, np.array(expected, dtype=np.float32), rtol=1e-6)
    assert found.source.tolist() == [0, 0, 1, 0, 0]  # the best rank, first source on ties


def test_session_vector_is_the_unit_mean_of_the_last_items() -> None:
    vectors = np.eye(3, dtype=np.float32)
    out = session_vectors([np.array([0, 1, 2]), np.zeros(0, dtype=np.int64)], vectors, last=2)
    np.testing.assert_allclose(out[0], [0, 2**-0.5, 2**-0.5], rtol=1e-6)
    assert not out[1].any()


class _Planted(Generator):
    """Scores noise, except the item after the history's last one (mod n): always right."""

    source: ClassVar[Source] = Source.SEQUENTIAL

    def __init__(self, n_items: int, seed: int = 0) -> None:
        self.n_items = n_items
        self.rng = np.random.default_rng(seed)

    def fit(self, data: TrainingData, *, on_progress: Progress = None) -> Self:
        return self

    def score(
        self, histories: Sequence[History], text_vectors: NDArray[np.float32]
    ) -> NDArray[np.float32]:
        out = self.rng.random((len(histories), text_vectors.shape[0])).astype(np.float32)
        for row, history in enumerate(histories):
            out[row, (int(history[-1]) + 1) % self.n_items] = 2.0
        return out

    def save(self, folder: str | Path) -> None:  # pragma: no cover - not saved here
        raise NotImplementedError

    @classmethod
    def load(cls, folder: str | Path) -> Self:  # pragma: no cover
        raise NotImplementedError


def _planted_world(n_items: int = 30) -> tuple[dict[Source, Generator], NDArray[np.float32]]:
    vectors = text_vectors(n_items, seed=3)
    train = [np.arange(n_items)[::-1][: 1 + n % 5].copy() for n in range(60)]  # popular decoys
    data = TrainingData(vectors, tuple(train))
    generators: dict[Source, Generator] = {
        Source.POPULARITY: Popularity().fit(data),
        Source.SEQUENTIAL: _Planted(n_items).fit(data),
    }
    return generators, vectors


def test_learned_merge_learns_a_planted_signal_and_ranks_its_item_first() -> None:
    n_items = 30
    generators, vectors = _planted_world(n_items)
    rng = np.random.default_rng(1)
    histories = [rng.choice(n_items, 3, replace=False) for _ in range(240)]
    targets = np.array([(int(h[-1]) + 1) % n_items for h in histories])
    keep = [t not in h for h, t in zip(histories, targets, strict=True)]
    histories = [h for h, k in zip(histories, keep, strict=True) if k]
    targets = targets[keep]
    config = MergeConfig(depth=10, trees=30, min_child_samples=5, threads=1)
    merge = LearnedMerge.fit(generators, vectors, [], histories[:150], targets[:150], config=config)
    items, sources = merge.rank(generators, vectors, histories[150:], k=5)
    assert (items[:, 0] == targets[150:]).all()
    # where popularity's first item is not the target, the planted source placed it
    elsewhere = items[:, 0] != np.argmax(
        generators[Source.POPULARITY].score([np.array([0])], vectors)[0]
    )
    assert elsewhere.sum() > 10 and (sources[elsewhere, 0] == Source.SEQUENTIAL.value).all()
    assert len({tuple(r) for r in items.tolist()}) > 1  # not one list for everyone


def test_a_user_no_source_proposes_to_gets_the_popularity_fallback() -> None:
    # items 0 and 1 are the only ones with interactions, and both are in her history;
    # zero text vectors: text proposes nothing either
    vectors = np.zeros((5, 4), dtype=np.float32)
    data = TrainingData(vectors, (np.array([0, 1]), np.array([1, 0]), np.array([0])))
    generators: dict[Source, Generator] = {
        Source.POPULARITY: Popularity().fit(data),
        Source.COVISITATION: CoVisitation().fit(data),
    }
    histories = [np.array([0]), np.array([1])]
    merge = LearnedMerge.fit(
        generators,
        vectors,
        data.sequences,
        histories,
        np.array([1, 0]),
        config=MergeConfig(depth=3, trees=2, min_child_samples=1, threads=1),
    )
    items, sources = merge.rank(generators, vectors, [np.array([0, 1])], k=3)
    assert items.tolist() == [[2, 3, 4]]  # popularity order: all 0, smaller index first
    assert sources.tolist() == [[Source.POPULARITY.value] * 3]


def test_the_item_statistics_count_what_the_capped_generators_counted() -> None:
    # a bot clicks item 2 ten times; under per_item=1 it counts once, as popularity counts
    vectors = np.zeros((5, 4), dtype=np.float32)
    sequences = (np.array([0, 1]), np.array([1, 0]), np.array([2] * 10))
    data = TrainingData(vectors, sequences)
    caps = ActorCaps(per_item=1)
    generators: dict[Source, Generator] = {
        Source.POPULARITY: Popularity(caps=caps).fit(data),
        Source.COVISITATION: CoVisitation(caps=caps).fit(data),
    }
    config = MergeConfig(depth=3, trees=2, min_child_samples=1, threads=1)
    merge = LearnedMerge.fit(
        generators, vectors, sequences, [np.array([0]), np.array([1])], np.array([1, 0]),
        config=config,
    )  # fmt: skip
    assert merge.stats.counts.tolist() == [2.0, 2.0, 1.0, 0.0, 0.0]
    assert merge.stats.recent[2] == 1.0
    # refitted on other sequences: the statistics follow them, the booster stays
    again = merge.restated(generators, (np.array([3, 3, 4]),), 5)
    assert again.stats.counts.tolist() == [0.0, 0.0, 0.0, 1.0, 1.0]
    assert again.booster is merge.booster


CHAINS = (list(range(6)), list(range(6, 12)))


def _sequences() -> SplitSequences:
    """Chains 0 -> ... -> 5 and 6 -> ... -> 11. Twenty users bought a whole chain (train
    only; item 11 never: it is cold); sixty bought two items of one from step s in
    {0, 1, 2} (train), the next one (valid) and the one after (test)."""
    train, valid, test = [], [], []
    empty = np.zeros(0, dtype=np.int64)
    for n in range(20):
        train.append(np.array(CHAINS[n % 2][: 6 - n % 2]))
        valid.append(empty)
        test.append(empty)
    for n in range(60):
        chain, step = CHAINS[n % 2], (n // 2) % 3
        train.append(np.array(chain[step : step + 2]))
        valid.append(np.array(chain[step + 2 : step + 3]))
        test.append(np.array(chain[step + 3 : step + 4]))
    return SplitSequences(
        tuple(f"i{n}" for n in range(12)),
        tuple(f"u{n:02d}" for n in range(80)),
        tuple(train),
        tuple(valid),
        tuple(test),
    )


def _recommender(sequences: SplitSequences) -> Recommender:
    return Recommender.fit(
        sequences.item_ids,
        text_vectors(12),
        sequences.train,
        generators=[Popularity(), CoVisitation()],
        quotas=Quotas({Source.COVISITATION: 1.0}),
        user_ids=sequences.user_ids,
    )


SMALL = MergeConfig(depth=5, trees=20, min_child_samples=2, threads=1)


def test_no_test_item_leaks_into_the_merge_training() -> None:
    sequences = _sequences()
    histories, targets = merge_training_set(sequences, users=100, seed=0)
    assert len(histories) == 60  # the learners, in user order: the whole-chain buyers have no valid
    for n, (history, target) in enumerate(zip(histories, targets, strict=True)):
        user = 20 + n
        assert np.array_equal(history, sequences.train[user])
        assert target == sequences.valid[user][0] != sequences.test[user][0]
        assert sequences.test[user][0] not in history
    choice = fit_learned_merge(_recommender(sequences), sequences, config=SMALL, users=100)
    # the item statistics count the train part alone, not valid or test items
    train_counts = np.bincount(np.concatenate(sequences.train), minlength=12)
    assert choice.learned.stats.counts.tolist() == train_counts.tolist()
    assert choice.train_users == 48 and choice.check_users == 12


def test_carve_validation_moves_the_last_train_item_only_where_valid_is_empty() -> None:
    sequences = SplitSequences(
        ("a", "b", "c", "d"),
        ("u", "v", "w"),
        (np.array([0, 1, 2]), np.array([0]), np.array([1, 2])),
        (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.array([3])),
        (np.array([3]), np.array([1]), np.zeros(0, dtype=np.int64)),
    )
    carved = carve_validation(sequences)
    assert [t.tolist() for t in carved.train] == [[0, 1], [0], [1, 2]]
    assert [v.tolist() for v in carved.valid] == [[2], [], [3]]
    assert carved.test == sequences.test


def test_recommender_with_a_learned_merge_saves_loads_and_evaluates(tmp_path: Path) -> None:
    sequences = _sequences()
    recommender = _recommender(sequences)
    choice = fit_learned_merge(recommender, sequences, config=SMALL, users=100)
    recommender.learned = choice.learned
    learners = list(range(20, 80, 2))[:6]  # chain 0 -> 5: every next item has co-visits
    histories = [sequences.history_before_test(u) for u in learners]
    items, sources = recommender.rank_many(histories, k=3)
    assert items[:, 0].tolist() == [sequences.test[u][0] for u in learners]
    recommender.save(tmp_path / "rec")
    loaded = Recommender.load(tmp_path / "rec")
    assert loaded.learned is not None
    again, again_sources = loaded.rank_many(histories, k=3)
    assert np.array_equal(items, again) and np.array_equal(sources, again_sources)
    every = np.ones((len(histories), 12), dtype=bool)
    found = choice.learned.candidates(
        recommender.generators, recommender.text_vectors, histories, every
    )
    reloaded = loaded.learned.candidates(loaded.generators, loaded.text_vectors, histories, every)
    assert np.array_equal(
        choice.learned.predict(found.features), loaded.learned.predict(reloaded.features)
    )
    one = loaded.recommend(session=["i1", "i2"], k=2)
    assert one.item_ids[0] == "i3" and not one.cold_start
    metrics = evaluate_recommender(recommender, sequences, ks=(1, 2))
    assert {"merge", QUOTA_MERGE, "covisitation", "merge [cold]"} <= set(metrics)
    assert metrics["merge [cold]"]["users"] == 10  # chain 6 -> 11 from step 2: item 11


def test_bad_configs_and_inputs_fail_in_one_line() -> None:
    with pytest.raises(ValueError, match="depth"):
        MergeConfig(depth=0)
    generators, vectors = _planted_world()
    with pytest.raises(ValueError, match="one target"):
        LearnedMerge.fit(generators, vectors, [], [np.array([1])], np.array([1, 2]))
    with pytest.raises(ValueError, match="outside"):
        LearnedMerge.fit(generators, vectors, [], [np.array([1])], np.array([99]))
