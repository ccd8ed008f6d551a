"""Per-actor caps: one click bot must not put its items in everyone's top 10, at training
or online; with no caps the counting generators are unchanged."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.typing import NDArray

from paretorec.retrieve.recommend import (
    ActorCaps,
    CoVisitation,
    Popularity,
    Quotas,
    Recommender,
    Source,
    TrainingData,
)
from paretorec.retrieve.recommend.caps import capped, capped_sequences, counted_new
from tests.retrieve.recommend.conftest import text_vectors

N_ITEMS = 60
TARGETS = (57, 58, 59)  # items no shopper buys; the bot promotes them
BOT_CAPS = ActorCaps(per_user=200, per_item=1)


def shoppers(n: int = 400, seed: int = 0) -> list[NDArray[np.int64]]:
    """Shoppers walking chains of neighbouring items (popularity falls with the index)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        start = int(min(rng.geometric(0.08), 50))
        out.append(np.arange(start, start + int(rng.integers(2, 6))) % 57)
    return out


def bot(clicks: int = 5000, anchors: tuple[int, ...] = (1, 2, 3)) -> NDArray[np.int64]:
    """A bot alternating popular anchors with its targets: 5,000 clicks on 3 items."""
    steps = np.arange(clicks)
    anchor = np.asarray(anchors)[(steps // 2) % len(anchors)]
    target = np.asarray(TARGETS)[(steps // 2) % len(TARGETS)]
    return np.where(steps % 2 == 0, anchor, target).astype(np.int64)


def top10_share(model: Recommender, users: list[str]) -> float:
    """Share of users whose top 10 holds a bot target."""
    hits = [
        any(i in {f"i{t}" for t in TARGETS} for i in model.recommend(user_id=u, k=10).item_ids)
        for u in users
    ]
    return float(np.mean(hits))


def fitted(train: list[NDArray[np.int64]], caps: ActorCaps) -> Recommender:
    return Recommender.fit(
        [f"i{n}" for n in range(N_ITEMS)],
        text_vectors(N_ITEMS),
        train,
        generators=[Popularity(caps=caps), CoVisitation(text_neighbours=0, caps=caps)],
        quotas=Quotas({Source.COVISITATION: 0.5, Source.POPULARITY: 0.5}),
        user_ids=[f"u{n}" for n in range(len(train))],
    )


def test_capped_keeps_the_first_occurrences_then_the_first_per_user() -> None:
    history = np.array([1, 2, 1, 1, 3, 2, 4])
    assert capped(history, ActorCaps(per_item=1)).tolist() == [1, 2, 3, 4]
    assert capped(history, ActorCaps(per_item=2)).tolist() == [1, 2, 1, 3, 2, 4]
    assert capped(history, ActorCaps(per_user=3)).tolist() == [1, 2, 1]
    assert capped(history, ActorCaps(per_user=3, per_item=1)).tolist() == [1, 2, 3]
    assert capped(history, ActorCaps()).tolist() == history.tolist()
    before, new = counted_new(np.array([1, 2, 1]), np.array([1, 5, 2, 6]), ActorCaps(per_item=1))
    assert before.tolist() == [1, 2] and new.tolist() == [5, 6]


@given(
    st.lists(st.integers(0, 6), max_size=40),
    st.lists(st.integers(0, 6), max_size=20),
    st.one_of(st.none(), st.integers(1, 10)),
    st.one_of(st.none(), st.integers(1, 3)),
)
def test_capped_is_prefix_consistent_and_bounded(
    a: list[int], b: list[int], per_user: int | None, per_item: int | None
) -> None:
    caps = ActorCaps(per_user=per_user, per_item=per_item)
    whole = capped(np.array(a + b, dtype=np.int64), caps)
    head = capped(np.array(a, dtype=np.int64), caps)
    assert whole[: head.size].tolist() == head.tolist()
    _, new = counted_new(np.array(a, dtype=np.int64), np.array(b, dtype=np.int64), caps)
    assert whole[head.size :].tolist() == new.tolist()
    if per_user is not None:
        assert whole.size <= per_user
    if per_item is not None and whole.size:
        assert np.bincount(whole).max() <= per_item


@pytest.mark.parametrize("value", [0, -1, True])
def test_bad_caps_say_so(value: int) -> None:
    with pytest.raises(ValueError, match="per_item must be None or an integer >= 1"):
        ActorCaps(per_item=value)


def test_a_bot_in_training_tops_everyones_list_unless_capped() -> None:
    train = [*shoppers(), bot()]
    users = [f"u{n}" for n in range(400)]
    assert top10_share(fitted(train, ActorCaps()), users) > 0.9
    # capped, the bot counts as one shopper: its targets reach only some users who hold
    # its anchors (items 1-3) in their history, as one shopper's co-visits would
    assert top10_share(fitted(train, BOT_CAPS), users) < 0.25
    popularity = Popularity(caps=BOT_CAPS).fit(TrainingData(text_vectors(N_ITEMS), tuple(train)))
    assert popularity.counts[list(TARGETS)].tolist() == [1.0, 1.0, 1.0]


def test_a_bot_online_tops_everyones_list_unless_capped() -> None:
    users = [f"u{n}" for n in range(400)]
    shares = []
    for caps in (ActorCaps(), BOT_CAPS):
        model = fitted(shoppers(), caps)
        assert top10_share(model, users) == 0.0
        for start in range(0, 5000, 500):  # the bot's clicks arrive in batches
            model.observe("bot", [f"i{i}" for i in bot()[start : start + 500]])
        shares.append(top10_share(model, users))
    assert shares[0] > 0.9
    assert shares[1] < 0.25  # one shopper's worth, as at training


def test_no_caps_leaves_the_counts_and_the_matrix_unchanged() -> None:
    train = tuple([*shoppers(50), np.array([1, 1, 1, 2, 2])])
    data = TrainingData(text_vectors(N_ITEMS), train)
    plain, none = CoVisitation().fit(data), CoVisitation(caps=ActorCaps()).fit(data)
    assert (plain.matrix != none.matrix).nnz == 0
    assert capped_sequences(train, ActorCaps()) == train
    capped_model = CoVisitation(caps=ActorCaps(per_item=1)).fit(data)
    assert (plain.matrix != capped_model.matrix).nnz > 0


def test_caps_survive_save_and_load(tmp_path: object) -> None:
    from pathlib import Path

    folder = Path(str(tmp_path))
    data = TrainingData(text_vectors(N_ITEMS), tuple(shoppers(20)))
    CoVisitation(caps=BOT_CAPS, min_support=3).fit(data).save(folder / "c")
    Popularity(caps=BOT_CAPS).fit(data).save(folder / "p")
    assert CoVisitation.load(folder / "c").caps == BOT_CAPS
    assert CoVisitation.load(folder / "c").min_support == 3
    assert Popularity.load(folder / "p").caps == BOT_CAPS


def test_pair_support_counts_distinct_shoppers_within_the_window() -> None:
    from paretorec.retrieve.recommend.caps import pair_support

    sequences = [np.array([0, 1, 0, 1]), np.array([1, 0]), np.array([2, 0, 3])]
    support = pair_support(sequences, 4, window=1).toarray()
    assert support[0, 1] == support[1, 0] == 2  # two shoppers, however often
    assert support[0, 2] == support[0, 3] == 1 and support[2, 3] == 0  # 2-3 are 2 apart
    assert pair_support(sequences, 4, window=2).toarray()[2, 3] == 1
    assert np.diag(support).sum() == 0


def test_min_support_drops_the_pairs_of_stray_clicks() -> None:
    """Shoppers buy 0 -> 1 -> 2; one stray click on 7 in one sequence must not make 7 a
    co-visitation candidate after 0 (it is, without support)."""
    clean = [np.array([0, 1, 2])] * 20 + [np.array([3, 4, 5])] * 20
    noisy = [*clean, np.array([0, 7, 1, 2])]
    data = TrainingData(text_vectors(8), tuple(noisy))
    plain = CoVisitation(text_neighbours=0).fit(data)
    robust = CoVisitation(text_neighbours=0, min_support=2).fit(data)
    history = [np.array([0])]
    assert plain.score(history, text_vectors(8))[0, 7] > 0
    scores = robust.score(history, text_vectors(8))[0]
    assert scores[7] == 0 and scores[1] > scores[2] > 0
    assert CoVisitation(min_support=2).fit(data).min_support == 2
    with pytest.raises(ValueError, match="min_support must be >= 1"):
        CoVisitation(min_support=0)


def test_min_support_online_needs_that_many_distinct_shoppers() -> None:
    data = TrainingData(text_vectors(8), tuple([np.array([0, 1, 2])] * 5))
    model = CoVisitation(text_neighbours=0, min_support=2).fit(data)
    model.observe(np.array([0]), np.array([6]), shopper="a")
    assert model.score([np.array([0])], text_vectors(8))[0, 6] == 0  # one shopper
    model.observe(np.array([0]), np.array([6]), shopper="a")
    model.observe(np.array([]), np.array([4, 5, 4, 5]), shopper="a")
    model.observe(np.array([0]), np.array([6]))  # anonymous: weight, no support
    scores = model.score([np.array([0]), np.array([4])], text_vectors(8))
    assert scores[0, 6] == 0 and scores[1, 5] == 0  # still one shopper each
    model.observe(np.array([6]), np.array([0]), shopper="b")  # either order
    assert model.score([np.array([0])], text_vectors(8))[0, 6] > 0  # two shoppers


def test_min_support_online_adds_to_the_shoppers_seen_at_training() -> None:
    sequences = (*[np.array([0, 1, 2])] * 5, np.array([0, 6]))
    model = CoVisitation(text_neighbours=0, min_support=3).fit(
        TrainingData(text_vectors(8), sequences)
    )
    assert model.score([np.array([0])], text_vectors(8))[0, 6] == 0  # one shopper at training
    model.observe(np.array([0]), np.array([6]), shopper="a")
    assert model.score([np.array([0])], text_vectors(8))[0, 6] == 0  # two
    model.observe(np.array([0]), np.array([6]), shopper="b")
    assert model.score([np.array([0])], text_vectors(8))[0, 6] > 0  # three
    assert all(len(ids) <= 3 for ids in model._online_shoppers.values())


def test_min_support_training_support_survives_save_and_load(tmp_path: Path) -> None:
    sequences = (*[np.array([0, 1, 2])] * 5, np.array([0, 6]))
    fitted = CoVisitation(text_neighbours=0, min_support=2).fit(
        TrainingData(text_vectors(8), sequences)
    )
    fitted.save(tmp_path / "covisit")
    model = CoVisitation.load(tmp_path / "covisit")
    model.observe(np.array([0]), np.array([6]), shopper="a")
    assert model.score([np.array([0])], text_vectors(8))[0, 6] > 0  # 1 at training + 1
