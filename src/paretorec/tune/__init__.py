"""Hyperparameter search of the pipeline's stages with Optuna (`paretorec tune`).

- `options`: the stages that can be tuned and the samplers (light: the CLI's option types).
- `study`: the plumbing every stage shares: a study stored in a journal file (so a killed
  run resumes), one trial = fit on train and measure on valid, pruning of hopeless trials
  on an intermediate validation metric, the chosen trial (the front's knee).
- `recommender`, `ranker`, `policy`, `search`: each stage's search space, fit and
  measurement.
- `distributed`: the same trials run concurrently on Ray (`--backend ray`), through Ray
  Tune with Optuna as its search algorithm.
- `report`: the front, the history and the parameter importances as PNG and JSON.

Only `options` is imported here, so that importing this package stays cheap; the other
modules import Optuna and the stage libraries.
"""

from paretorec.tune.options import Backend, Sampler, TunableStage

__all__ = ["Backend", "Sampler", "TunableStage"]
