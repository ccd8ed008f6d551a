"""Merging under quotas, and the `Recommender` a server calls: users, sessions, cold
start, live catalog changes, bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from paretorec.retrieve.recommend import (
    CoVisitation,
    Popularity,
    Quotas,
    Recommender,
    Sequential,
    Source,
    TwoTower,
    UnknownItemsError,
    merge_ranked,
)
from tests.retrieve.recommend.conftest import N_ITEMS, chains, text_vectors

A, B = Source.SEQUENTIAL, Source.COVISITATION


def test_merge_interleaves_by_share() -> None:
    quotas = Quotas({A: 2.0, B: 1.0})
    items, sources = merge_ranked({A: [1, 2, 3], B: [4, 5, 6]}, quotas, k=3)
    assert items == [1, 4, 2]
    assert sources == [A, B, A]


def test_merge_places_an_item_once_and_floor_fills() -> None:
    quotas = Quotas({A: 1.0, B: 1.0})
    items, sources = merge_ranked({A: [1, 2], B: [1, 3]}, quotas, k=5, floor=[3, 9, 8])
    assert items == [1, 3, 2, 9, 8]
    assert sources == [A, B, A, Source.POPULARITY, Source.POPULARITY]


def test_merge_zero_share_source_never_places() -> None:
    items, sources = merge_ranked({A: [1], B: [2, 3]}, Quotas({A: 0.0, B: 1.0}), k=2)
    assert items == [2, 3] and set(sources) == {B}


@pytest.mark.parametrize("shares", [{A: -1.0}, {A: 0.0}, {A: float("nan")}])
def test_bad_quotas(shares: dict[Source, float]) -> None:
    with pytest.raises(ValueError):
        Quotas(shares)


def test_merge_rejects_bad_k() -> None:
    with pytest.raises(ValueError, match="k"):
        merge_ranked({A: [1]}, Quotas({A: 1.0}), k=0)


IDS = [f"i{n}" for n in range(N_ITEMS)]


@pytest.fixture(scope="module")
def recommender() -> Recommender:
    train = chains(10)
    return Recommender.fit(
        IDS,
        text_vectors(),
        train,
        user_ids=[f"u{n}" for n in range(len(train))],
        generators=[
            Popularity(),
            CoVisitation(),
            TwoTower(dim=16, epochs=30, batch_size=16, learning_rate=1e-2),
            Sequential(
                dim=16, max_length=4, layers=1, epochs=30, batch_size=16, learning_rate=1e-2
            ),
        ],
        quotas=Quotas({Source.SEQUENTIAL: 0.5, Source.COVISITATION: 0.3, Source.TWO_TOWER: 0.2}),
    )


def test_known_user_gets_her_next_item_with_sources(recommender: Recommender) -> None:
    assert recommender.history_of("u0") == ("i0", "i1", "i2")
    result = recommender.recommend(session=["i0"], k=3)
    assert result.item_ids[0] == "i1"
    assert "i0" not in result.item_ids
    assert all(isinstance(s, Source) for s in result.sources)
    assert list(result.scores) == sorted(result.scores, reverse=True)


def test_user_history_is_excluded(recommender: Recommender) -> None:
    result = recommender.recommend(user_id="u1", k=5)  # u1 bought 3, 4, 5
    assert not {"i3", "i4", "i5"} & set(result.item_ids)
    assert len(result) == 5


@pytest.mark.parametrize(
    "request_args", [{"user_id": "nobody"}, {"session": []}, {"user_id": None}]
)
def test_no_history_gets_popular_and_diverse(
    recommender: Recommender, request_args: dict[str, object]
) -> None:
    result = recommender.recommend(k=4, **request_args)  # type: ignore[arg-type]
    assert result.item_ids[0] == "i6"  # the most bought
    assert set(result.sources) == {Source.POPULARITY}
    assert len(set(result.item_ids)) == 4


def test_unknown_session_items_are_ignored_and_reported(recommender: Recommender) -> None:
    result = recommender.recommend(session=["nope", "i3"], k=2, exclude=["zzz", "i5"])
    assert result.ignored == ("nope",)
    assert result.item_ids[0] == "i4"
    assert "i5" not in result.item_ids
    only_unknown = recommender.recommend(session=["nope"], k=2)
    assert set(only_unknown.sources) == {Source.POPULARITY}


@pytest.mark.parametrize("k", [0, -1, 2.5, True])
def test_bad_k_is_a_clear_error(recommender: Recommender, k: object) -> None:
    with pytest.raises(ValueError, match="k must"):
        recommender.recommend(session=["i0"], k=k)  # type: ignore[arg-type]


def test_session_as_one_string_is_a_clear_error(recommender: Recommender) -> None:
    with pytest.raises(TypeError, match="list"):
        recommender.recommend(session="i0", k=2)


def test_new_item_is_recommendable_at_once_and_removal_is_respected(tmp_path: Path) -> None:
    train = chains(10)
    model = Recommender.fit(
        IDS,
        text_vectors(),
        train,
        generators=[Popularity(), TwoTower(dim=16, epochs=5, batch_size=16)],
        quotas=Quotas({Source.TWO_TOWER: 1.0}),
    )
    model.add_items(["fresh"], text_vectors()[4:5])  # text only, like item 4
    assert "fresh" in model
    everything = model.recommend(session=["i3"], k=N_ITEMS)
    assert "fresh" in everything.item_ids
    assert everything.sources[everything.item_ids.index("fresh")] is Source.TWO_TOWER
    from_new = model.recommend(session=["fresh"], k=3)
    assert len(from_new) == 3 and "fresh" not in from_new.item_ids
    model.remove_items(["i4", "fresh"])
    after = model.recommend(session=["i3"], k=N_ITEMS - 2)
    assert not {"i4", "fresh"} & set(after.item_ids)
    assert model.recommend(session=["fresh"], k=2).ignored == ("fresh",)
    model.save(tmp_path / "model")
    loaded = Recommender.load(tmp_path / "model")
    assert (
        loaded.recommend(session=["i3"], k=4).item_ids
        == model.recommend(session=["i3"], k=4).item_ids
    )
    assert "i4" not in loaded


def test_catalog_change_errors(recommender: Recommender) -> None:
    with pytest.raises(ValueError, match="already"):
        recommender.add_items(["i0"], text_vectors(1))
    with pytest.raises(ValueError, match="shape"):
        recommender.add_items(["x", "y"], text_vectors(1))
    with pytest.raises(UnknownItemsError, match="not in the catalog"):
        recommender.remove_items(["ghost"])


def test_save_load_round_trip(recommender: Recommender, tmp_path: Path) -> None:
    recommender.save(tmp_path / "r")
    loaded = Recommender.load(tmp_path / "r")
    for request in ({"user_id": "u0"}, {"session": ["i3"]}, {"user_id": "nobody"}):
        a = recommender.recommend(k=4, **request)  # type: ignore[arg-type]
        b = loaded.recommend(k=4, **request)  # type: ignore[arg-type]
        assert a.item_ids == b.item_ids and a.sources == b.sources


def test_rank_many_matches_single_requests(recommender: Recommender) -> None:
    histories = [np.array([0]), np.array([3, 4])]
    items, sources = recommender.rank_many(histories, k=3)
    for row, history in enumerate(histories):
        single = recommender.recommend(session=[IDS[i] for i in history], k=3)
        assert items[row].tolist() == single.indices.tolist()
        assert sources[row].tolist() == [s.value for s in single.sources]


def test_recommender_needs_popularity() -> None:
    with pytest.raises(ValueError, match="popularity"):
        Recommender(IDS, text_vectors(), {}, quotas=Quotas({Source.SEQUENTIAL: 1.0}))
