"""Recommendation candidate generators and their merge.

One contract (`Generator`: ``fit``, ``score``, ``save``, ``load``) and four generators:
`Popularity` (the floor, and popular-and-diverse lists for users with no history),
`CoVisitation` (items bought near each other, with order decay), `TwoTower` (user and
item towers over text embeddings and IDs, in-batch negatives with logQ correction) and
`Sequential` (a SASRec-like transformer whose item inputs include the text embedding).
`Recommender` merges them under per-source `Quotas`, or by a `LearnedMerge` (LightGBM
lambdarank over the union of their candidates and the session's text neighbours), over a
live item table, so items added by their text are recommendable at once. `split_sequences` turns a dataset into the
ordered train / valid / test sequences they learn and are measured on.
"""

from paretorec.retrieve.recommend._neural import ValidationSet
from paretorec.retrieve.recommend.base import (
    Generator,
    History,
    NotFittedError,
    Recommendations,
    Source,
    TrainingData,
)
from paretorec.retrieve.recommend.caps import ActorCaps
from paretorec.retrieve.recommend.covisitation import CoVisitation, co_visit_matrix
from paretorec.retrieve.recommend.evaluation import (
    MERGE,
    QUOTA_MERGE,
    TAIL_MAX,
    MergeChoice,
    carve_validation,
    evaluate_recommender,
    fit_learned_merge,
    fit_on_train,
    validation_set,
)
from paretorec.retrieve.recommend.interactions import SplitSequences, as_matrix, split_sequences
from paretorec.retrieve.recommend.learned_merge import LearnedMerge, MergeConfig
from paretorec.retrieve.recommend.merge import Quotas, merge_ranked
from paretorec.retrieve.recommend.popularity import Popularity, popular_diverse
from paretorec.retrieve.recommend.recommender import (
    DEFAULT_QUOTAS,
    GENERATOR_TYPES,
    Recommender,
    UnknownItemsError,
)
from paretorec.retrieve.recommend.sequential import Sequential
from paretorec.retrieve.recommend.text_needs import (
    READS_TEXT,
    TextVectors,
    resolve_text_vectors,
    rows_to_encode,
    scatter_rows,
)
from paretorec.retrieve.recommend.two_tower import TwoTower

__all__ = [
    "DEFAULT_QUOTAS",
    "GENERATOR_TYPES",
    "MERGE",
    "QUOTA_MERGE",
    "READS_TEXT",
    "TAIL_MAX",
    "ActorCaps",
    "CoVisitation",
    "Generator",
    "History",
    "LearnedMerge",
    "MergeChoice",
    "MergeConfig",
    "NotFittedError",
    "Popularity",
    "Quotas",
    "Recommendations",
    "Recommender",
    "Sequential",
    "Source",
    "SplitSequences",
    "TextVectors",
    "TrainingData",
    "TwoTower",
    "UnknownItemsError",
    "ValidationSet",
    "as_matrix",
    "carve_validation",
    "co_visit_matrix",
    "evaluate_recommender",
    "fit_learned_merge",
    "fit_on_train",
    "merge_ranked",
    "popular_diverse",
    "resolve_text_vectors",
    "rows_to_encode",
    "scatter_rows",
    "split_sequences",
    "validation_set",
]
