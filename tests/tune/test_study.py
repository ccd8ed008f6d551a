"""The study plumbing on in-memory studies: pruning rule, choice, the resume checks."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import optuna
import pytest
from optuna.trial import TrialState, create_trial

from paretorec.tune import TunableStage
from paretorec.tune.study import MedianPruning, StudyPlace, choose, open_study, run_trials

optuna.logging.set_verbosity(optuna.logging.WARNING)


def _study(values: list[list[float]]) -> optuna.Study:
    study = optuna.create_study(directions=["maximize"] * len(values[0]))
    for v in values:
        study.add_trial(create_trial(values=v, params={}, distributions={}))
    return study


def test_median_pruning_stops_a_trial_below_the_earlier_median_after_warmup() -> None:
    study = optuna.create_study(directions=["maximize", "maximize"])
    key = MedianPruning.key("two-tower", 1)
    for value in (0.2, 0.4, 0.6):
        study.add_trial(
            create_trial(
                values=[value, value], params={}, distributions={}, user_attrs={key: value}
            )
        )
    rule = MedianPruning(startup_trials=3, warmup_epochs=1)
    assert rule.hopeless(study, 99, "two-tower", 1, 0.3)  # median 0.4
    assert not rule.hopeless(study, 99, "two-tower", 1, 0.5)
    assert not rule.hopeless(study, 99, "two-tower", 0, 0.0)  # warm-up epoch
    assert not rule.hopeless(study, 99, "sequential", 1, 0.0)  # no earlier figure
    assert not MedianPruning(startup_trials=4).hopeless(study, 99, "two-tower", 1, 0.0)


def test_choose_takes_the_knee_of_several_objectives_and_the_best_of_one() -> None:
    several = choose(_study([[0.0, 1.0], [0.8, 0.8], [1.0, 0.0], [0.3, 0.3]]))
    assert several.method == "knee" and several.trial.number == 1
    assert set(several.front) == {0, 1, 2}
    one = choose(_study([[0.1], [0.7], [0.4]]))
    assert one.method == "best" and one.trial.number == 1


def test_choose_without_a_completed_trial_says_so() -> None:
    study = optuna.create_study(directions=["maximize", "maximize"])
    study.add_trial(create_trial(state=TrialState.FAIL, params={}, distributions={}))
    with pytest.raises(ValueError, match=r"no trial of study .* completed"):
        choose(study)


def test_a_resumed_study_must_be_of_the_same_stage_and_data(tmp_path: Path) -> None:
    place = StudyPlace.under(tmp_path, "s")
    open_study(place, stage=TunableStage.RANKER, data=tmp_path / "a", objectives=("click.auc",))
    assert place.storage_path.is_file()
    with pytest.raises(ValueError, match=r"has data .*choose another --study"):
        open_study(place, stage=TunableStage.RANKER, data=tmp_path / "b", objectives=("click.auc",))
    with pytest.raises(ValueError, match="has stage"):
        open_study(
            place, stage=TunableStage.RECOMMENDER, data=tmp_path / "a", objectives=("click.auc",)
        )


def test_a_trial_left_running_by_a_killed_run_is_marked_failed(tmp_path: Path) -> None:
    place = StudyPlace.under(tmp_path, "s")
    study = open_study(place, stage=TunableStage.RANKER, data=tmp_path, objectives=("x",))
    study.ask()  # a trial that never finished
    resumed = open_study(place, stage=TunableStage.RANKER, data=tmp_path, objectives=("x",))
    (trial,) = resumed.trials
    assert trial.state is TrialState.FAIL and "interrupted" in trial.user_attrs["error"]


def test_a_study_name_is_a_plain_folder_name(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="study name"):
        StudyPlace.under(tmp_path, "../elsewhere")


class _Quadratic:
    """A stand-in stage: one parameter x; each 'epoch' reports -(x - 0.7)^2."""

    stage = TunableStage.RANKER
    objectives = ("score",)

    def suggest(self, trial: optuna.Trial) -> dict[str, Any]:
        trial.suggest_float("x", 0.0, 1.0)
        return dict(trial.params)

    def default_params(self) -> dict[str, Any]:
        return {"x": 0.7}

    def fit(self, params: Mapping[str, Any], *, on_epoch: Any = None, final: bool = False) -> float:
        value = -((float(params["x"]) - 0.7) ** 2)
        for epoch in range(3):
            if on_epoch is not None:
                on_epoch("net", epoch, value)
        return value

    def validate(self, model: float) -> tuple[float, ...]:
        return (model,)

    def test(self, model: float) -> dict[str, float]:
        return {"score": model}


def test_run_trials_starts_with_the_default_prunes_and_stops_at_the_count(tmp_path: Path) -> None:
    place = StudyPlace.under(tmp_path, "q")
    study = open_study(place, stage=TunableStage.RANKER, data=tmp_path, objectives=("score",))
    ran = run_trials(study, _Quadratic(), trials=12, pruning=MedianPruning(startup_trials=2))
    assert ran == 12 and len(study.trials) == 12
    assert study.trials[0].params == {"x": 0.7} and study.trials[0].user_attrs["default"]
    pruned = [t for t in study.trials if t.state is TrialState.PRUNED]
    assert pruned and all("pruned_at" in t.user_attrs for t in pruned)
    assert run_trials(study, _Quadratic(), trials=12) == 0
    assert choose(study).trial.number == 0  # the default is the optimum here
