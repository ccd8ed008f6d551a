"""Robustness: stress scenarios (dirty or gamed data), switchable defences, and the report.

`scenarios` holds the shared types and registries; scenario modules register on import
(`search` here; `events`, `simulator` for the recommender and the policy).
"""

from paretorec.robustness import search as _search  # noqa: F401  (registers the search scenarios)
from paretorec.robustness.scenarios import (
    Defence,
    Defences,
    Evaluator,
    Measurement,
    Scenario,
    Target,
    Transform,
    get_scenario,
    parse_scenarios,
    register,
    scenario_names,
)

__all__ = [
    "Defence",
    "Defences",
    "Evaluator",
    "Measurement",
    "Scenario",
    "Target",
    "Transform",
    "get_scenario",
    "parse_scenarios",
    "register",
    "scenario_names",
]
