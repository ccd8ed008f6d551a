"""The policy's and search's tuning stages on hand-checked cases, and the recommender's
restricted search."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import optuna
import pytest

from paretorec.policy.front import ServedFront
from paretorec.tune.policy import front_figures

optuna.logging.set_verbosity(optuna.logging.WARNING)


def test_front_figures_measure_in_units_of_the_random_lists() -> None:
    # w = (1, 0) serves (4, 1); w = (0, 1) serves (2, 3); w = (.5, .5) serves (3, 2).
    front = ServedFront(
        ("clicks", "revenue"),
        np.array([[1.0, 0.0], [0.5, 0.5], [0.0, 1.0]]),
        np.array([[4.0, 1.0], [3.0, 2.0], [2.0, 3.0]]),
    )
    found = front_figures(front, np.array([2.0, 1.0]))
    # in units (2, 1): (2, 1), (1.5, 2), (1, 3); staircase from the origin: 2*1 + 1.5*1 + 1*1
    assert found["hypervolume"] == pytest.approx(4.5)
    assert found["clicks@w"] == 4.0 and found["revenue@w"] == 3.0


def test_front_figures_above_three_objectives_agree_with_our_exact_hypervolume() -> None:
    from paretorec.moo.hypervolume import hypervolume_exact

    rng = np.random.default_rng(0)
    values = rng.uniform(0.5, 2.0, size=(15, 4))
    weights = np.eye(4)[rng.integers(0, 4, size=15)]
    front = ServedFront(("a", "b", "c", "d"), weights, values)
    found = front_figures(front, np.ones(4))
    assert found["hypervolume"] == pytest.approx(
        hypervolume_exact(values, np.zeros(4), "maximize"), rel=1e-12
    )


def _search_stage(folder: Path, tmp_path: Path) -> object:
    from paretorec.data.validate import load_dataset
    from paretorec.encode import SentenceTransformerEncoder, encode_items_cached, item_text
    from paretorec.tune.search import SearchTuning

    dataset = load_dataset(folder)
    encoder = SentenceTransformerEncoder()
    vectors = encode_items_cached(encoder, item_text(dataset.items), tmp_path / "cache")
    assert dataset.queries is not None
    ids, texts = zip(*dataset.queries.frame.select("query_id", "text").iter_rows(), strict=True)
    encoded = encoder.encode_queries(list(texts))
    return SearchTuning(dataset, vectors, {q: encoded[i] for i, q in enumerate(ids)})


def test_search_default_is_paretorec_index_and_judged_on_valid_only(
    tmp_path: Path,
) -> None:
    from tests.tune.test_cli import ITEMS, JUDGMENTS, QUERIES

    folder = tmp_path / "shop"
    folder.mkdir()
    (folder / "items.csv").write_text(ITEMS)
    (folder / "queries.csv").write_text(QUERIES)
    (folder / "judgments.csv").write_text(JUDGMENTS)
    stage = _search_stage(folder, tmp_path)
    from paretorec.retrieve import HybridRetriever
    from paretorec.tune.search import SearchTuning

    assert isinstance(stage, SearchTuning)
    model = stage.fit(stage.default_params())
    assert isinstance(model, HybridRetriever) and model.depth == 100
    assert model.fusion.weight == 0.7
    valid = dict(zip(stage.objectives, stage.validate(model), strict=True))
    # valid: q3 circular saw (s1 graded 3, s2 graded 1) and q5 drill bits (d3): the
    # bundled encoder and BM25 find each at the top of a 10-item catalog
    assert 0.0 < valid["ndcg@10"] <= 1.0 and valid["recall@100"] == 1.0
    assert set(stage.test(model)) == {"ndcg@10", "recall@100"}
    # BM25 on titles alone with pure lexical fusion: q5's 'bits' still finds d3 first
    lexical = stage.fit({**stage.default_params(), "fusion.lexical_weight": 1.0,
                         "bm25.fields": "title"})  # fmt: skip
    assert lexical.lexical.search("drill bits", k=1).item_ids[0] == "d3"


def test_search_tuning_needs_judged_valid_queries(tmp_path: Path) -> None:
    from tests.tune.test_cli import ITEMS, QUERIES

    folder = tmp_path / "shop"
    folder.mkdir()
    (folder / "items.csv").write_text(ITEMS)
    (folder / "queries.csv").write_text(QUERIES)
    (folder / "judgments.csv").write_text(
        "query_id,item_id,grade,split\nq1,d1,3,train\nq4,p2,3,test\n"
    )
    with pytest.raises(ValueError, match="no valid query has a relevant item"):
        _search_stage(folder, tmp_path)


def test_the_recommender_search_can_be_kept_to_a_family(chain_shop: Path) -> None:
    from paretorec.data.validate import load_dataset
    from paretorec.retrieve.recommend import split_sequences
    from paretorec.tune.recommender import RecommenderTuning

    sequences = split_sequences(load_dataset(chain_shop))
    vectors = np.zeros((sequences.n_items, 4), dtype=np.float32)
    stage = RecommenderTuning(sequences, vectors, generator_sets=("covisitation",), valid_users=20)
    assert stage.default_params()["generators"] == "covisitation"
    study = optuna.create_study(directions=["maximize", "maximize"])
    for _ in range(4):
        trial = study.ask()
        assert stage.suggest(trial)["generators"] == "covisitation"
        assert not any(k.startswith(("two-tower", "sequential")) for k in trial.params)
        study.tell(trial, stage.validate(stage.fit(trial.params)))
    figures, per_user = stage.test_with_per_user(stage.fit(stage.default_params()))
    assert per_user.shape == (60,) and figures["ndcg@10"] == pytest.approx(per_user.mean())
    with pytest.raises(ValueError, match="generator sets"):
        RecommenderTuning(sequences, vectors, generator_sets=("everything",))
    with pytest.raises(ValueError, match="valid_users must be >= 2"):
        RecommenderTuning(sequences, vectors, valid_users=1)


def test_policy_tuning_reports_each_quarter_and_judges_on_valid_sessions() -> None:
    from paretorec.policy import SimulatorSpec
    from paretorec.policy.rewards import parse_objectives
    from paretorec.policy.simulator import make_task
    from paretorec.tune.policy import PolicyTuning

    task = make_task(
        SimulatorSpec(n_items=200, n_users=100),
        parse_objectives(["clicks", "diversity"]),
        log_sessions=400,
    )
    stage = PolicyTuning(task, sessions=64, batch=16, eval_sessions=60)
    assert stage.objectives == ("hypervolume", "clicks@w", "diversity@w")
    heard: list[tuple[str, int]] = []
    model = stage.fit(stage.default_params(), on_epoch=lambda w, e, v: heard.append((w, e)))
    assert heard == [("reward", 0), ("reward", 1), ("reward", 2), ("reward", 3)]  # 4 steps
    valid = stage.validate(model)
    assert valid[0] > 0 and len(valid) == 3
    test = stage.test(model)
    assert set(test) == set(stage.objectives) and test["hypervolume"] != valid[0]
    assert stage.validate(stage.fit(stage.default_params())) == valid  # seeded: repeatable
    with pytest.raises(ValueError, match="multiple of 4"):
        PolicyTuning(task, batch=18)
