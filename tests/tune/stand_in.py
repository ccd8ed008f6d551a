"""A deterministic stand-in stage, importable by Ray's workers: one parameter x; each
'epoch' reports -(x - 0.7)^2, the validation objectives are that and -|x - 0.2|."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import optuna

from paretorec.tune import TunableStage


class Quadratic:
    stage = TunableStage.RANKER

    def __init__(self, objectives: tuple[str, ...] = ("score",)) -> None:
        self.objectives = objectives

    def suggest(self, trial: optuna.Trial) -> dict[str, Any]:
        trial.suggest_float("x", 0.0, 1.0)
        return dict(trial.params)

    def default_params(self) -> dict[str, Any]:
        return {"x": 0.7}

    def fit(self, params: Mapping[str, Any], *, on_epoch: Any = None, final: bool = False) -> float:
        x = float(params["x"])
        for epoch in range(3):
            if on_epoch is not None:
                on_epoch("net", epoch, -((x - 0.7) ** 2))
        return x

    def validate(self, model: float) -> tuple[float, ...]:
        both = (-((model - 0.7) ** 2), -abs(model - 0.2))
        return both[: len(self.objectives)]

    def test(self, model: float) -> dict[str, float]:
        return dict(zip(self.objectives, self.validate(model), strict=True))
