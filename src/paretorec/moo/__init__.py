"""Multi-objective optimization: Pareto utilities, scalarizations and search.

Every function takes points as an array (n_points, n_objectives) and one direction per
objective (`Direction.MAXIMIZE` / `MINIMIZE`, or the strings); maximized columns are
negated once on the way in and everything inside is minimization.
"""

from paretorec.moo.hypervolume import (
    EXACT_MAX_POINTS,
    HypervolumeMethod,
    HypervolumeResult,
    hypervolume,
    hypervolume_exact,
    hypervolume_monte_carlo,
)
from paretorec.moo.indicators import gd, gd_plus, igd, igd_plus
from paretorec.moo.pareto import (
    Direction,
    Directions,
    as_minimization,
    crowding_distance,
    dominates,
    non_dominated_sort,
    pareto_front,
    pareto_front_mask,
    pareto_ranks,
)
from paretorec.moo.plots import axis_label, plot_front_2d, plot_scatter_matrix
from paretorec.moo.selection import (
    NoFeasiblePointError,
    Selection,
    SelectionMethod,
    Threshold,
    select_compromise,
    select_constrained,
    select_knee,
)

__all__ = [
    "EXACT_MAX_POINTS",
    "Direction",
    "Directions",
    "HypervolumeMethod",
    "HypervolumeResult",
    "NoFeasiblePointError",
    "Selection",
    "SelectionMethod",
    "Threshold",
    "as_minimization",
    "axis_label",
    "crowding_distance",
    "dominates",
    "gd",
    "gd_plus",
    "hypervolume",
    "hypervolume_exact",
    "hypervolume_monte_carlo",
    "igd",
    "igd_plus",
    "non_dominated_sort",
    "pareto_front",
    "pareto_front_mask",
    "pareto_ranks",
    "plot_front_2d",
    "plot_scatter_matrix",
    "select_compromise",
    "select_constrained",
    "select_knee",
]
