"""The Pareto problem of a search dataset takes each query's BM25 candidates for the query
spell-corrected towards the catalog, as the served hybrid searches it."""

from __future__ import annotations

import polars as pl

from paretorec.moo import ContextEvaluator, resolve_objectives
from paretorec.moo.sources import SourceConfig, problem_from_dataset
from paretorec.types import Catalog, Dataset, Judgments, Queries

WORDS = ["drill", "saw", "hammer"]


def test_a_misspelled_query_gets_its_items_as_candidates() -> None:
    ids = [f"i{n}" for n in range(12)]
    titles = [f"{WORDS[n % 3]} model {n}" for n in range(12)]
    items = Catalog(pl.DataFrame({"item_id": ids, "title": titles, "price": [10.0] * 12}))
    # "hamer" matches no catalog word as typed: without correction BM25 finds nothing
    texts = {"q0": "drill", "q1": "saw", "q2": "hamer"}
    queries = Queries(pl.DataFrame({"query_id": list(texts), "text": list(texts.values())}))
    judged = [(f"q{w}", f"i{n}") for n in range(12) for w in range(3) if n % 3 == w]
    judgments = Judgments(
        pl.DataFrame(
            {
                "query_id": [q for q, _ in judged],
                "item_id": [i for _, i in judged],
                "grade": [2.0] * len(judged),
            }
        )
    )
    dataset = Dataset(items, queries=queries, judgments=judgments)
    problem, summary = problem_from_dataset(
        dataset,
        resolve_objectives("ndcg,revenue"),
        config=SourceConfig(n_requests=10, n_candidates=4, k=4, seed=0),
    )
    assert summary.n_kept == 3  # the misspelled query is kept
    position = [r.key for r in problem.requests].index("q2")
    evaluator = problem.evaluator
    assert isinstance(evaluator, ContextEvaluator)
    # its 4 candidates are the 4 hammers, each graded 2
    grades = evaluator.contexts[position].grades
    assert grades is not None and grades.tolist() == [2.0] * 4
