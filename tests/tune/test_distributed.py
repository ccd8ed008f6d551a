"""The Ray backend: the same trials as the local one, several at a time on a local Ray
cluster of 2 CPUs, in the same journal study."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import optuna
import pytest
from optuna.trial import TrialState

from paretorec.tune import TunableStage
from paretorec.tune.study import MedianPruning, StudyPlace, choose, open_study, run_trials
from tests.ray_cluster import ray_cluster  # noqa: F401  (the session's local Ray)
from tests.tune.stand_in import Quadratic

pytest.importorskip("ray", reason="the ray extra is not installed")
from paretorec.tune.distributed import run_trials_ray

optuna.logging.set_verbosity(optuna.logging.WARNING)


@pytest.mark.slow
@pytest.mark.usefixtures("ray_cluster")
def test_ray_runs_the_counted_trials_starting_with_the_default_and_resumes(
    tmp_path: Path,
) -> None:
    place = StudyPlace.under(tmp_path, "q")
    stage = Quadratic(("score", "near"))
    study = open_study(place, stage=TunableStage.RANKER, data=tmp_path, objectives=stage.objectives)
    heard: list[int] = []
    ran = run_trials_ray(
        study, place, stage, trials=7, workers=2, on_trial=lambda t: heard.append(t.number)
    )
    assert ran == 7 and len(study.trials) == 7 and sorted(heard) == list(range(7))
    first = study.trials[0]
    assert first.params == {"x": 0.7} and first.user_attrs["default"] is True
    # every trial's objectives are what the single-process path computes for its params
    for trial in study.get_trials(states=(TrialState.COMPLETE,)):
        assert trial.values == list(stage.validate(stage.fit(trial.params)))
    # two workers drew different configurations (their samplers are seeded apart)
    assert len({t.params["x"] for t in study.trials}) == 7
    # resume: a larger count runs only the missing trials, the first ones untouched
    before = [(t.number, t.params, t.values) for t in study.trials]
    again = open_study(place, stage=TunableStage.RANKER, data=tmp_path, objectives=stage.objectives)
    assert run_trials_ray(again, place, stage, trials=9, workers=2) == 2
    assert [(t.number, t.params, t.values) for t in again.trials][:7] == before
    assert run_trials_ray(again, place, stage, trials=9, workers=2) == 0
    assert choose(again).method == "knee"


@pytest.mark.slow
@pytest.mark.usefixtures("ray_cluster")
def test_ray_prunes_on_the_other_workers_figures(tmp_path: Path) -> None:
    place = StudyPlace.under(tmp_path, "p")
    study = open_study(place, stage=TunableStage.RANKER, data=tmp_path, objectives=("score",))
    run_trials_ray(
        study, place, Quadratic(), trials=10, workers=2, pruning=MedianPruning(startup_trials=2)
    )
    states = [t.state for t in study.trials]
    assert len(states) == 10 and TrialState.PRUNED in states
    pruned = [t for t in study.trials if t.state is TrialState.PRUNED]
    assert all(t.user_attrs["pruned_at"].startswith("net epoch") for t in pruned)


@pytest.mark.slow
@pytest.mark.usefixtures("ray_cluster")
def test_ray_and_local_give_the_same_recommender_figures(chain_shop: Path, tmp_path: Path) -> None:
    """A real stage shipped to Ray's workers: the default trial's valid figures there are
    the local run's, and every Ray trial's figures are its params' figures here."""
    from paretorec.data.validate import load_dataset
    from paretorec.retrieve.recommend import split_sequences
    from paretorec.tune.recommender import RecommenderTuning

    dataset = load_dataset(chain_shop)
    sequences = split_sequences(dataset)
    vectors = np.random.default_rng(0).normal(size=(sequences.n_items, 8)).astype(np.float32)
    stage = RecommenderTuning(sequences, vectors, generator_sets=("covisitation",))
    local_place, ray_place = StudyPlace.under(tmp_path, "local"), StudyPlace.under(tmp_path, "ray")
    local = open_study(
        local_place, stage=TunableStage.RECOMMENDER, data=chain_shop, objectives=stage.objectives
    )
    run_trials(local, stage, trials=1)
    remote = open_study(
        ray_place, stage=TunableStage.RECOMMENDER, data=chain_shop, objectives=stage.objectives
    )
    run_trials_ray(remote, ray_place, stage, trials=3, workers=2)
    assert remote.trials[0].values == local.trials[0].values
    for trial in remote.get_trials(states=(TrialState.COMPLETE,)):
        assert trial.values == pytest.approx(list(stage.validate(stage.fit(trial.params))))


def test_bad_counts_are_refused(tmp_path: Path) -> None:
    place = StudyPlace.under(tmp_path, "b")
    study = open_study(place, stage=TunableStage.RANKER, data=tmp_path, objectives=("score",))
    with pytest.raises(ValueError, match="trials and workers must be >= 1"):
        run_trials_ray(study, place, Quadratic(), trials=3, workers=0)
