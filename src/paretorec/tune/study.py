"""The plumbing every tuned stage shares.

A stage says what it searches and how a configuration is judged (`Tunable`); this module
stores the study in a journal file in the models folder (a killed run resumes where it
stopped: the trials it finished stay as they are, one it was running is marked failed),
runs the trials (fit on train, measure on valid, every objective maximized), prunes
hopeless ones on an intermediate validation figure (`MedianPruning`), and picks the
configuration to keep: the best trial for one objective, the knee of the front for
several (`paretorec.moo.selection.select_knee`). The test split is left to the caller, who
touches it once, with the chosen and the default configuration (`final_figures`).
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

import numpy as np
import optuna
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
from optuna.trial import FrozenTrial, TrialState

from paretorec.moo.pareto import pareto_front_mask
from paretorec.moo.selection import select_knee
from paretorec.tune.options import Sampler, TunableStage
from paretorec.types import Direction

__all__ = [
    "CAUGHT",
    "Choice",
    "EpochHook",
    "FinalFigures",
    "MedianPruning",
    "StudyPlace",
    "Tunable",
    "choose",
    "data_label",
    "final_figures",
    "make_sampler",
    "open_study",
    "run_trials",
    "trial_objective",
]

ModelT = TypeVar("ModelT")

EpochHook = Callable[[str, int, float], None]
"""`hook(what, epoch, value)`: a training loop's intermediate validation figure after its
`epoch` (0-based) of `what` (a model part), higher is better."""

DEFAULT_ATTR = "default"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
CAUGHT = (ValueError, RuntimeError)  # a configuration that cannot be trained fails its trial


class Tunable(Protocol[ModelT]):
    """A stage's search space, fit and measurement, over data it has already prepared."""

    @property
    def stage(self) -> TunableStage: ...

    @property
    def objectives(self) -> tuple[str, ...]:
        """The names of the validation figures, all maximized."""
        ...

    def suggest(self, trial: optuna.Trial) -> dict[str, Any]:
        """Draw a configuration (its flat parameters, as `trial.params` will hold them)."""
        ...

    def default_params(self) -> dict[str, Any]:
        """The configuration the stage's `train` command uses, in the same parameters."""
        ...

    def fit(
        self, params: Mapping[str, Any], *, on_epoch: EpochHook | None = None, final: bool = False
    ) -> ModelT:
        """A model of the configuration, fitted on the train split (`final`: as it will be
        registered and served)."""
        ...

    def validate(self, model: ModelT) -> tuple[float, ...]:
        """The objectives on the valid split, in `objectives` order."""
        ...

    def test(self, model: ModelT) -> dict[str, float]:
        """The stage's figures on the test split."""
        ...


@dataclass(frozen=True)
class StudyPlace:
    """Where a study lives: ``<models>/tune/<name>/study.journal`` and its report folder."""

    folder: Path
    name: str

    @classmethod
    def under(cls, models: Path, name: str) -> StudyPlace:
        if not _NAME.match(name):
            raise ValueError(
                f"study name {name!r}: use letters, digits, '.', '_' and '-' (no spaces or '/')"
            )
        return cls(Path(models) / "tune" / name, name)

    @property
    def storage_path(self) -> Path:
        return self.folder / "study.journal"

    @property
    def report_dir(self) -> Path:
        return self.folder / "report"


@dataclass(frozen=True)
class MedianPruning:
    """Stop a trial whose intermediate validation figure after an epoch is below the
    median of the earlier trials' figures after the same epoch of the same part.

    The rule of Optuna's `MedianPruner`, applied here because Optuna's pruners read
    `Trial.report`, which multi-objective studies refuse: the figures are kept in each
    trial's user attributes (``epoch/<what>/<epoch>``) instead. Nothing is pruned before
    `startup_trials` finished trials have a figure for that epoch, nor in the first
    `warmup_epochs` epochs.
    """

    startup_trials: int = 3
    warmup_epochs: int = 1

    def __post_init__(self) -> None:
        if self.startup_trials < 1 or self.warmup_epochs < 0:
            raise ValueError("startup_trials must be >= 1 and warmup_epochs >= 0")

    @staticmethod
    def key(what: str, epoch: int) -> str:
        return f"epoch/{what}/{epoch}"

    def hopeless(
        self, study: optuna.Study, number: int, what: str, epoch: int, value: float
    ) -> bool:
        if epoch < self.warmup_epochs:
            return False
        key = self.key(what, epoch)
        earlier = [
            float(t.user_attrs[key])
            for t in study.get_trials(
                deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED)
            )
            if t.number != number and key in t.user_attrs
        ]
        return len(earlier) >= self.startup_trials and value < statistics.median(earlier)


def make_sampler(sampler: Sampler, seed: int) -> optuna.samplers.BaseSampler:
    if sampler is Sampler.NSGA2:
        return optuna.samplers.NSGAIISampler(population_size=10, seed=seed)
    return optuna.samplers.TPESampler(n_startup_trials=5, seed=seed)


def data_label(data: Path | str) -> str:
    """What a study records as its data: a folder's resolved path, or a description (the
    simulator's settings) as given."""
    return str(Path(data).resolve()) if isinstance(data, Path) else data


def open_study(
    place: StudyPlace,
    *,
    stage: TunableStage,
    data: Path | str,
    objectives: tuple[str, ...],
    sampler: Sampler = Sampler.TPE,
    seed: int = 0,
) -> optuna.Study:
    """The study at `place`, created or resumed. A resumed study must be of the same stage,
    data folder and objectives; the trials a killed run left running are marked failed.
    The sampler is seeded with `seed` plus the trials already run, so that a resumed run
    does not draw the first run's configurations again."""
    place.folder.mkdir(parents=True, exist_ok=True)
    storage = JournalStorage(JournalFileBackend(str(place.storage_path)))
    study = optuna.create_study(
        study_name=place.name,
        storage=storage,
        directions=[Direction.MAXIMIZE.value] * len(objectives),
        load_if_exists=True,
    )
    expected = {
        "stage": stage.value,
        "data": data_label(data),
        "objectives": list(objectives),
    }
    if not study.user_attrs:
        for key, value in expected.items():
            study.set_user_attr(key, value)
    for key, value in expected.items():
        if study.user_attrs.get(key) != value:
            raise ValueError(
                f"study {place.name!r} in {place.storage_path} has {key} "
                f"{study.user_attrs.get(key)!r}, not {value!r}: choose another --study"
            )
    study_id = storage.get_study_id_from_name(place.name)
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING, TrialState.WAITING)):
        if trial.state is TrialState.RUNNING:
            trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, trial.number)
            storage.set_trial_user_attr(trial_id, "error", "interrupted (the run was stopped)")
            storage.set_trial_state_values(trial_id, TrialState.FAIL)
    study.sampler = make_sampler(sampler, seed + len(study.trials))
    return study


def trials_to_run(study: optuna.Study, tunable: Tunable[Any], trials: int) -> int:
    """How many trials are left before the study holds `trials`; a new study's first trial
    is queued as the default configuration (so the report can compare with it)."""
    remaining = trials - len(study.trials)
    if remaining > 0 and not study.trials:
        study.enqueue_trial(tunable.default_params(), user_attrs={DEFAULT_ATTR: True})
    return remaining


def run_trials(
    study: optuna.Study,
    tunable: Tunable[Any],
    *,
    trials: int,
    timeout: float | None = None,
    pruning: MedianPruning | None = None,
    on_trial: Callable[[FrozenTrial], None] | None = None,
) -> int:
    """Run trials until the study holds `trials` (the first one, in a new study, is the
    default configuration) or `timeout` seconds pass; how many were run."""
    if trials < 1:
        raise ValueError(f"trials must be >= 1, got {trials}")
    before = len(study.trials)
    remaining = trials_to_run(study, tunable, trials)
    if remaining <= 0:
        return 0
    objective = trial_objective(study, tunable, pruning or MedianPruning())
    callbacks = [] if on_trial is None else [lambda _study, frozen: on_trial(frozen)]
    study.optimize(
        objective,
        n_trials=remaining,
        timeout=timeout,
        catch=CAUGHT,
        callbacks=callbacks,
        gc_after_trial=True,
    )
    return len(study.trials) - before


def trial_objective(
    study: optuna.Study, tunable: Tunable[Any], pruning: MedianPruning
) -> Callable[[optuna.Trial], tuple[float, ...]]:
    """One trial: draw a configuration, fit it on train (its intermediate validation
    figures kept and judged by `pruning`), measure it on valid. A configuration that cannot
    be trained raises (its trial fails) with the first line of the reason recorded."""

    def objective(trial: optuna.Trial) -> tuple[float, ...]:
        params = tunable.suggest(trial)

        def on_epoch(what: str, epoch: int, value: float) -> None:
            trial.set_user_attr(MedianPruning.key(what, epoch), float(value))
            if pruning.hopeless(study, trial.number, what, epoch, value):
                trial.set_user_attr("pruned_at", f"{what} epoch {epoch + 1}")
                raise optuna.TrialPruned(f"{what} epoch {epoch + 1}: {value:.4g} below the median")

        try:
            model = tunable.fit(params, on_epoch=on_epoch)
            return tunable.validate(model)
        except CAUGHT as error:
            trial.set_user_attr("error", str(error).strip().splitlines()[0] if str(error) else "")
            raise

    return objective


@dataclass(frozen=True)
class Choice:
    """The kept trial, and the numbers of the trials on the front (of the completed ones)."""

    trial: FrozenTrial
    front: tuple[int, ...]
    method: str  # "best" (one objective) or "knee"


def choose(study: optuna.Study) -> Choice:
    """The best completed trial (one objective) or the knee of the completed trials'
    front (several), lowest trial number on ties."""
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if not complete:
        raise ValueError(
            f"no trial of study {study.study_name!r} completed ({len(study.trials)} failed or "
            "were pruned): nothing to choose"
        )
    points = np.array([t.values for t in complete], dtype=np.float64)
    directions = [Direction.MAXIMIZE] * points.shape[1]
    on_front = pareto_front_mask(points, directions)
    if points.shape[1] == 1:
        index, method = int(np.argmax(points[:, 0])), "best"
    else:
        index, method = select_knee(points, directions).index, "knee"
    front = tuple(t.number for t, keep in zip(complete, on_front, strict=True) if keep)
    return Choice(complete[index], front, method)


@dataclass(frozen=True, eq=False)
class FinalFigures(Generic[ModelT]):
    """The chosen configuration's model (fitted as it is served) and the test figures of
    it and of the default configuration, measured the same way."""

    model: ModelT
    tuned: dict[str, float]
    default: dict[str, float]


def final_figures(tunable: Tunable[ModelT], chosen: FrozenTrial) -> FinalFigures[ModelT]:
    """Fit the chosen and the default configurations as they would be served, and measure
    each once on test."""
    model = tunable.fit(chosen.params, final=True)
    tuned = tunable.test(model)
    default = tunable.test(tunable.fit(tunable.default_params(), final=True))
    return FinalFigures(model, tuned, default)
