"""The fast request path gives exactly what the first, frame-building path gave: the same
ranker predictions, the same policy features and so the same lists and explanations,
before and after a catalog change (the reference is `tests.serve.reference`)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from paretorec.data.validate import load_dataset
from paretorec.policy.inputs import PolicyInput
from paretorec.policy.served import ServedPolicy
from paretorec.policy.serving import rank
from paretorec.rank.serving import ServedRanker
from paretorec.serve import ModelRegistry
from paretorec.serve.catalog import catalog_from_records
from paretorec.serve.loading import LoadOptions, load_pipeline
from paretorec.serve.pipeline import SearchQuery, ServingPipeline
from paretorec.stages import RequestContext
from tests.serve import reference
from tests.serve.conftest import HashingEncoder
from tests.serve.trained import add_policy

NOW = datetime(2026, 6, 1, tzinfo=UTC)
QUERIES = ("cordless drill", "paint", "DeWalt hedge trimmer", "lantern", "saw", " Drill BIT ")
USERS = ("u0", "u3", "u17", "nobody", None)


@pytest.fixture
def pipeline(full_models_dir: Path, tmp_path: Path) -> ServingPipeline:
    root = tmp_path / "models"
    import shutil

    shutil.copytree(full_models_dir, root)
    add_policy(ModelRegistry(root))
    served = load_pipeline(ModelRegistry(root), LoadOptions(encoder=HashingEncoder()))
    assert isinstance(served.ranker, ServedRanker) and isinstance(served.policy, ServedPolicy)
    served.policy.now = NOW
    return served


def _history(full_models_dir: Path) -> pl.DataFrame:
    data = load_dataset(full_models_dir.parent / "training-data")
    assert data.events is not None
    return data.events.frame.filter(pl.col("event") == "impression").select(
        pl.col("user_id").cast(pl.String), pl.col("item_id").cast(pl.String)
    )


def _check_request(
    pipe: ServingPipeline, history: pl.DataFrame, text: str, user: str | None
) -> None:
    vector = pipe.encoder.encode_queries([text])[0]
    context = RequestContext(text, vector, user, ())
    found = pipe.retriever.search(text, vector, k=pipe.depth)
    candidates = pipe._candidates(found.item_ids, found.scores, ("search",) * len(found))
    assert pipe.ranker is not None and isinstance(pipe.policy, ServedPolicy)
    fast = pipe.ranker.predict(context, candidates)
    slow = reference.ranker_predictions(
        pipe.ranker.ranker,  # type: ignore[attr-defined]
        pipe.store,
        history,
        context,
        list(candidates.item_ids),
    )
    assert set(fast) == set(slow)
    for task in slow:
        np.testing.assert_allclose(fast[task], slow[task], rtol=1e-6, atol=1e-7, err_msg=task)

    served = pipe.policy.features(context, candidates, now=NOW)
    frame = pipe.store.catalog(list(candidates.item_ids)).frame
    ctx, items, groups = reference.request_features(context, frame, candidates.scores, now=NOW)
    np.testing.assert_array_equal(served.context, ctx)
    np.testing.assert_allclose(served.items, items, rtol=0, atol=1e-12)
    # group codes may differ in value, never in which candidates share a group
    same = served.groups[0][:, None, :] == served.groups[0][None, :, :]
    np.testing.assert_array_equal(same, groups[0][:, None, :] == groups[0][None, :, :])
    np.testing.assert_array_equal(served.groups < 0, groups < 0)

    preference = pipe.policy.default_preference
    assert preference is not None
    k = min(5, len(candidates))
    chosen = pipe.policy.choose(context, candidates, fast, preference, k)
    inputs = PolicyInput(
        context=ctx,
        item_features=items,
        predictions={n: slow[n][None, :] for n in pipe.policy.prediction_names},
        groups=groups,
    )
    expected = rank(pipe.policy.policy, inputs, preference.weights, k)
    np.testing.assert_array_equal(chosen.order, expected.items[0])
    np.testing.assert_allclose(chosen.scores, expected.scores[0], atol=1e-6)
    for name, values in expected.contributions.items():
        np.testing.assert_allclose(chosen.contributions[name], values[0], atol=1e-6)
    total = sum(chosen.contributions.values())
    np.testing.assert_allclose(total, chosen.scores, atol=1e-5)


def test_fast_path_matches_the_reference(pipeline: ServingPipeline, full_models_dir: Path) -> None:
    history = _history(full_models_dir)
    for text in QUERIES:
        for user in USERS:
            _check_request(pipeline, history, text, user)


def test_fast_path_matches_the_reference_after_catalog_changes(
    pipeline: ServingPipeline, full_models_dir: Path
) -> None:
    history = _history(full_models_dir)
    pipeline.upsert_items(
        catalog_from_records(
            [
                # a known item changes price, brand, seller and text
                {"item_id": "d1", "title": "Cordless drill brushless", "price": 59.0,
                 "brand": "Ryobi", "seller_id": "s9", "category": "Tools > Drills", "stock": 0},
                # a new item, with a cost and an age
                {"item_id": "n1", "title": "Cordless drill compact", "price": 79.0, "cost": 50.0,
                 "brand": "DeWalt", "created_at": datetime(2025, 1, 1, tzinfo=UTC)},
            ]
        )
    )  # fmt: skip
    pipeline.remove_item("g3")
    for text in QUERIES:
        for user in USERS:
            _check_request(pipeline, history, text, user)
    listed = pipeline.search(SearchQuery("cordless drill", k=12))
    assert "n1" in {item.item_id for item in listed.items}
    assert "g3" not in {item.item_id for item in listed.items}
