"""Search tuning judges BM25 on spell-corrected queries, as the served hybrid searches them."""

from __future__ import annotations

import numpy as np
import polars as pl

from paretorec.tune.search import SearchTuning
from paretorec.types import Catalog, Dataset, Judgments, Queries

TITLES = [f"garden hose model {n}" for n in range(11)] + ["frigidaire refrigerator white"]


def test_a_misspelled_valid_query_finds_its_item() -> None:
    ids = [f"i{n}" for n in range(len(TITLES))]
    items = Catalog(pl.DataFrame({"item_id": ids, "title": TITLES}))
    # the vectors put the refrigerator last for every query: only BM25 can find it
    vectors = np.tile(np.array([1.0, 0.0], dtype=np.float32), (len(ids), 1))
    vectors[-1] = [-1.0, 0.0]
    queries = Queries(pl.DataFrame({"query_id": ["q1", "q2"], "text": ["frigidare", "hose"]}))
    judgments = Judgments(
        pl.DataFrame(
            {
                "query_id": ["q1", "q2"],
                "item_id": ["i11", "i0"],
                "grade": [3.0, 3.0],
                "split": ["valid", "test"],
            }
        )
    )
    dataset = Dataset(items, queries=queries, judgments=judgments)
    query_vectors = {q: np.array([1.0, 0.0], dtype=np.float32) for q in ("q1", "q2")}
    tuning = SearchTuning(dataset, vectors, query_vectors)
    model = tuning.fit(tuning.default_params())
    assert model.lexical_query("frigidare") == "frigidaire"
    ndcg, recall = tuning.validate(model)
    # found by BM25 (0.7 of the fused score) at the top; uncorrected it would be 12th
    assert ndcg == 1.0 and recall == 1.0


def test_per_query_test_scores_average_to_the_test_figures() -> None:
    ids = [f"i{n}" for n in range(len(TITLES))]
    items = Catalog(pl.DataFrame({"item_id": ids, "title": TITLES}))
    vectors = np.tile(np.array([1.0, 0.0], dtype=np.float32), (len(ids), 1))
    vectors[-1] = [-1.0, 0.0]
    queries = Queries(
        pl.DataFrame({"query_id": ["q1", "q2", "q3"], "text": ["hose", "frigidaire", "hose 3"]})
    )
    judgments = Judgments(
        pl.DataFrame(
            {
                "query_id": ["q1", "q2", "q3"],
                "item_id": ["i0", "i11", "i3"],
                "grade": [3.0, 3.0, 3.0],
                "split": ["valid", "test", "test"],
            }
        )
    )
    dataset = Dataset(items, queries=queries, judgments=judgments)
    query_vectors = {q: np.array([1.0, 0.0], dtype=np.float32) for q in ("q1", "q2", "q3")}
    tuning = SearchTuning(dataset, vectors, query_vectors)
    model = tuning.fit(tuning.default_params())
    per_query = tuning.test_per_query(model)
    assert sorted(per_query["ndcg@10"]) == ["q2", "q3"]  # the test queries only
    assert per_query["ndcg@10"]["q2"] == 1.0  # the refrigerator, found by BM25 at the top
    figures = tuning.test(model)
    for metric, values in per_query.items():
        assert figures[metric] == np.mean(list(values.values()))
