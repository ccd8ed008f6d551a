"""`simulate_dataset`: logs in the data contract, deterministic, calibrated."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from paretorec.data.schema import EVENT_TYPES, SCHEMAS, conform
from paretorec.simulate import (
    OBD_RANDOM_ALL_OVERALL_CTR,
    LoggingPolicyKind,
    RankingEnv,
    UniformRandomPolicy,
    WorldConfig,
    generate_world,
    random_policy_ctr,
    simulate_dataset,
)
from paretorec.types import Dataset, EventType

N_ITEMS, N_USERS, N_SESSIONS, K = 2500, 400, 3000, 4


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return simulate_dataset(
        N_ITEMS, N_USERS, N_SESSIONS, seed=5, list_size=K, config=WorldConfig.lively()
    )


def test_same_seed_same_dataset_other_seed_differs(dataset: Dataset) -> None:
    again = simulate_dataset(
        N_ITEMS, N_USERS, N_SESSIONS, seed=5, list_size=K, config=WorldConfig.lively()
    )
    for name, frame in dataset.tables().items():
        assert frame.equals(again.tables()[name]), name
    other = simulate_dataset(
        N_ITEMS, N_USERS, N_SESSIONS, seed=6, list_size=K, config=WorldConfig.lively()
    )
    assert not other.events.frame.equals(dataset.events.frame)  # type: ignore[union-attr]
    assert not other.items.frame.equals(dataset.items.frame)


def test_tables_follow_the_contract(dataset: Dataset) -> None:
    for name, frame in dataset.tables().items():
        assert conform(frame, name).equals(frame), name
        required = [c.name for c in SCHEMAS[name] if c.required]
        for column in required:
            assert frame[column].null_count() == 0, (name, column)
    assert dataset.users is not None and dataset.queries is not None
    assert dataset.events is not None
    ev = dataset.events.frame
    assert set(ev["event"].unique()) <= set(EVENT_TYPES)
    assert ev["item_id"].is_in(dataset.items.frame["item_id"].implode()).all()
    assert ev["user_id"].is_in(dataset.users.frame["user_id"].implode()).all()
    queries = ev["query_id"].drop_nulls()
    assert queries.is_in(dataset.queries.frame["query_id"].implode()).all()
    assert dataset.queries.frame["query_id"].n_unique() == dataset.queries.frame.height
    assert dataset.queries.frame["text"].str.len_chars().min() > 0  # type: ignore[operator]


def test_impressions_positions_propensities_and_values(dataset: Dataset) -> None:
    assert dataset.events is not None
    ev = dataset.events.frame
    imp = ev.filter(pl.col("event") == EventType.IMPRESSION.value)
    assert imp.height == N_SESSIONS * K
    per_list = imp.group_by("session_id").agg(
        pl.col("position").sort().alias("pos"), pl.col("item_id").n_unique().alias("items")
    )
    assert (per_list["items"] == K).all()
    assert per_list["pos"].to_list() == [list(range(1, K + 1))] * N_SESSIONS
    for column in ("propensity", "propensity_given_above"):
        assert ev[column].null_count() == 0, column
        assert ((ev[column] > 0) & (ev[column] <= 1)).all(), column
    # the uniform policy: marginal 1 / n_candidates at every position (like the Open
    # Bandit Dataset), 1 / (n_candidates - k + 1) given the items above
    c = WorldConfig().sessions.n_candidates
    np.testing.assert_allclose(ev["propensity"].to_numpy(), 1.0 / c)
    given_above = 1.0 / (c - imp["position"].to_numpy() + 1)
    np.testing.assert_allclose(imp["propensity_given_above"].to_numpy(), given_above)
    counts = ev["event"].value_counts()
    assert set(counts["event"]) == set(EVENT_TYPES)
    bought = ev.filter(pl.col("event") == EventType.PURCHASE.value)
    assert bought["value"].null_count() == 0
    assert ev.filter(pl.col("event") != EventType.PURCHASE.value)["value"].null_count() == (
        ev.height - bought.height
    )
    prices = bought.join(dataset.items.frame.select("item_id", "price"), on="item_id")
    np.testing.assert_allclose(prices["value"].to_numpy(), prices["price"].to_numpy())
    # every click has its impression, every cart its click, every purchase its cart
    key = ["session_id", "item_id", "position"]
    for later, earlier in (("click", "impression"), ("cart", "click"), ("purchase", "cart")):
        a = ev.filter(pl.col("event") == later).select(*key, pl.col("timestamp").alias("t1"))
        b = ev.filter(pl.col("event") == earlier).select(*key, pl.col("timestamp").alias("t0"))
        joined = a.join(b, on=key, how="left")
        assert joined["t0"].null_count() == 0, later
        assert (joined["t1"] >= joined["t0"]).all(), later
    assert ev["timestamp"].is_sorted() or ev["session_id"].is_sorted()


def test_progress_is_reported_in_increments() -> None:
    seen: list[int] = []
    simulate_dataset(500, 50, 2500, seed=0, list_size=3, on_progress=seen.append, batch_size=1000)
    assert seen == [1000, 1000, 500]


def test_softmax_logging_and_multi_step_sessions() -> None:
    ds = simulate_dataset(
        1500,
        200,
        600,
        seed=1,
        list_size=3,
        logging_policy=LoggingPolicyKind.SOFTMAX,
        max_steps=3,
        config=WorldConfig.lively(),
    )
    assert ds.events is not None
    imp = ds.events.frame.filter(pl.col("event") == "impression")
    lists = imp.group_by("session_id").len()
    assert lists.height == 600
    assert lists["len"].to_numpy().max() > 3  # some sessions saw more than one list
    assert imp["propensity"].n_unique() > 100  # softmax propensities vary
    ev = ds.events.frame
    for column in ("propensity", "propensity_given_above"):
        assert ev[column].null_count() == 0, column
        assert ((ev[column] > 0) & (ev[column] <= 1)).all(), column
    # marginal and given-the-items-above agree at the top position only
    top = imp.filter(pl.col("position") == 1)
    np.testing.assert_allclose(top["propensity"], top["propensity_given_above"], rtol=1e-12)
    lower = imp.filter(pl.col("position") > 1)
    assert (lower["propensity"] != lower["propensity_given_above"]).mean() > 0.9  # type: ignore[operator]
    # a click row carries its impression's propensities (the latest impression of that
    # item at that position in the session, as a session's lists can repeat items; a
    # click comes within a minute, before the session's next list)
    key = ["session_id", "item_id", "position"]
    shown = imp.select(*key, "timestamp", "propensity", "propensity_given_above")
    clicks = (
        ev.filter(pl.col("event") == "click")
        .sort(*key, "timestamp")
        .join_asof(
            shown.sort(*key, "timestamp"),
            on="timestamp",
            by=key,
            suffix="_imp",
            check_sortedness=False,  # sorted within each group
        )
    )
    assert clicks.height > 0
    for column in ("propensity", "propensity_given_above"):
        np.testing.assert_array_equal(clicks[column], clicks[f"{column}_imp"])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_items": 0}, "n_items"),
        ({"list_size": 51}, "list_size"),
        ({"n_sessions": -1}, "n_sessions"),
    ],
)
def test_bad_input_raises(kwargs: dict[str, int], message: str) -> None:
    args = {"n_items": 300, "n_users": 20, "n_sessions": 10, "list_size": 10} | kwargs
    with pytest.raises(ValueError, match=message):
        simulate_dataset(
            args["n_items"], args["n_users"], args["n_sessions"], list_size=args["list_size"]
        )


def test_empty_log_is_still_a_dataset() -> None:
    ds = simulate_dataset(200, 10, 0, seed=0)
    assert ds.events is not None and ds.events.frame.height == 0
    assert ds.queries is not None and ds.queries.frame.height == 0


@pytest.mark.slow
def test_default_world_is_calibrated_to_the_open_bandit_dataset() -> None:
    """300,000 rounds (100,000 lists of 3) of the uniformly random policy: overall CTR
    within 20% of OBD random/ALL's 0.0038."""
    world = generate_world(20_000, 5000, seed=3)
    env = RankingEnv(world, n_sessions=100_000, list_size=3)
    obs = env.reset(seed=9)
    ranking = UniformRandomPolicy().sample(obs, 3, np.random.default_rng(9))
    clicks = env.step(ranking.actions).feedback.clicks
    ctr = float(clicks.mean())
    assert ctr == pytest.approx(OBD_RANDOM_ALL_OVERALL_CTR, rel=0.2)
    by_position = clicks.mean(axis=0)
    assert by_position[0] > by_position[2]  # a mild position bias
    exact = random_policy_ctr(world, world.click_intercept, 3, 20_000, seed=1)
    assert exact == pytest.approx(OBD_RANDOM_ALL_OVERALL_CTR, rel=0.1)


def test_judgments_grade_shown_items_by_the_intent() -> None:
    from paretorec.simulate.sessions import decode_query_keys

    dataset = simulate_dataset(800, 100, 1_500, seed=4)
    assert (
        dataset.judgments is not None and dataset.queries is not None and dataset.events is not None
    )
    judged = dataset.judgments.frame
    assert judged.select("query_id", "item_id").n_unique() == judged.height
    assert set(judged["query_id"]) <= set(dataset.queries.frame["query_id"])
    assert judged["grade"].min() >= 0.0 and judged["grade"].max() <= 3.5
    shown = (
        dataset.events.frame.filter(pl.col("query_id").is_not_null())
        .select("query_id", "item_id")
        .unique()
    )
    assert shown.height == judged.height  # every item shown for a query is judged, once
    # An item of the query's own leaf gets at least 2 (2 x relevance 1).
    world = generate_world(800, 100, seed=4)
    first = judged.row(0, named=True)
    key = np.array([int(first["query_id"][1:])])
    leaf = int(decode_query_keys(world, key).leaf[0])
    same_leaf = judged.filter(pl.col("query_id") == first["query_id"]).with_columns(
        pl.col("item_id").str.slice(1).cast(pl.Int64).alias("row")
    )
    leaves = world.items.leaf[same_leaf["row"].to_numpy()]
    assert (same_leaf.filter(pl.Series(leaves == leaf))["grade"] >= 2.0).all()


def test_expected_feedback_hook_sees_every_shown_list_and_changes_nothing() -> None:
    from paretorec.simulate import Feedback, generate_world, simulate_logs

    world = generate_world(300, 50, seed=4)
    plain = simulate_logs(world, 120, seed=4, batch_size=50, max_steps=2)
    seen: list[tuple[np.ndarray, np.ndarray, Feedback]] = []
    hooked = simulate_logs(
        world, 120, seed=4, batch_size=50, max_steps=2,
        on_expected_feedback=lambda s, k, f: seen.append((s, k, f)),
    )  # fmt: skip
    assert plain.events is not None and hooked.events is not None
    assert hooked.events.frame.equals(plain.events.frame)
    impressions = plain.events.frame.filter(pl.col("event") == EventType.IMPRESSION.value)
    shown_lists = sum(len(s) for s, _, _ in seen)
    assert shown_lists * 10 == impressions.height
    for _, _, feedback in seen:
        assert feedback.clicks.shape[1] == 10
        assert np.all((feedback.clicks >= 0) & (feedback.clicks <= 1))
        assert np.all(feedback.purchases <= feedback.carts + 1e-12)
