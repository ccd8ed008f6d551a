"""Multi-objective optimization: Pareto utilities, scalarizations and search.

Trade-off search over rankings: `RankingProblem` (requests with per-objective signals),
scalarizations (`weighted_sum`, `chebyshev`, `epsilon_constraint`) and their sweeps,
PE-LTR (`pe_ltr_front`, `pec_solve`), NSGA-II (`nsga2_front`), MMR / DPP re-ranking
(`mmr_rerank`, `dpp_rerank`, `rerank_front`), all returning a `TradeoffResult`.  Data
adapters and the end-to-end report live in `paretorec.moo.sources`,
`paretorec.moo.simulated` and `paretorec.moo.pipeline` (not imported here).

Every function takes points as an array (n_points, n_objectives) and one direction per
objective (`Direction.MAXIMIZE` / `MINIMIZE`, or the strings); maximized columns are
negated once on the way in and everything inside is minimization.
"""

from paretorec.moo.diversify import dpp_rerank, dpp_rerank_naive, mmr_rerank
from paretorec.moo.grid import epsilon_constraint_search, scalarization_grid
from paretorec.moo.hypervolume import (
    EXACT_MAX_POINTS,
    HypervolumeMethod,
    HypervolumeResult,
    hypervolume,
    hypervolume_exact,
    hypervolume_monte_carlo,
)
from paretorec.moo.indicators import gd, gd_plus, igd, igd_plus
from paretorec.moo.nsga2 import nsga2_front
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
from paretorec.moo.pe_ltr import (
    PeLtrConfig,
    PeLtrModel,
    pe_ltr_front,
    pec_solve,
    project_to_simplex,
    train_pe_ltr,
)
from paretorec.moo.plots import axis_label, plot_front_2d, plot_scatter_matrix
from paretorec.moo.problem import (
    ContextEvaluator,
    ListEvaluator,
    RankingProblem,
    RankingRequest,
    resolve_objectives,
)
from paretorec.moo.rerank_front import Reranker, rerank_front
from paretorec.moo.scalarize import (
    Scalarization,
    chebyshev,
    epsilon_constraint,
    scalarize,
    weighted_sum,
)
from paretorec.moo.selection import (
    NoFeasiblePointError,
    Selection,
    SelectionMethod,
    Threshold,
    select_compromise,
    select_constrained,
    select_knee,
)
from paretorec.moo.tradeoff import TradeoffResult, make_result

__all__ = [
    "EXACT_MAX_POINTS",
    "ContextEvaluator",
    "Direction",
    "Directions",
    "HypervolumeMethod",
    "HypervolumeResult",
    "ListEvaluator",
    "NoFeasiblePointError",
    "PeLtrConfig",
    "PeLtrModel",
    "RankingProblem",
    "RankingRequest",
    "Reranker",
    "Scalarization",
    "Selection",
    "SelectionMethod",
    "Threshold",
    "TradeoffResult",
    "as_minimization",
    "axis_label",
    "chebyshev",
    "crowding_distance",
    "dominates",
    "dpp_rerank",
    "dpp_rerank_naive",
    "epsilon_constraint",
    "epsilon_constraint_search",
    "gd",
    "gd_plus",
    "hypervolume",
    "hypervolume_exact",
    "hypervolume_monte_carlo",
    "igd",
    "igd_plus",
    "make_result",
    "mmr_rerank",
    "non_dominated_sort",
    "nsga2_front",
    "pareto_front",
    "pareto_front_mask",
    "pareto_ranks",
    "pe_ltr_front",
    "pec_solve",
    "plot_front_2d",
    "plot_scatter_matrix",
    "project_to_simplex",
    "rerank_front",
    "resolve_objectives",
    "scalarization_grid",
    "scalarize",
    "select_compromise",
    "select_constrained",
    "select_knee",
    "train_pe_ltr",
    "weighted_sum",
]
