"""Evaluation: ranking and beyond-accuracy metrics, full-catalog top-K, off-policy
estimators (`paretorec.evaluate.ope`) and trade-off reports."""

from paretorec.evaluate import ope
from paretorec.evaluate.beyond import Discount, beyond_accuracy
from paretorec.evaluate.business import BusinessMetrics, business_metrics
from paretorec.evaluate.metrics import (
    APNormalization,
    Gain,
    Metric,
    RankingMetrics,
    batch_ranking_metrics,
    ranking_metrics,
)
from paretorec.evaluate.paired import PairedComparison, paired_bootstrap
from paretorec.evaluate.topk import (
    TopK,
    TopKBackend,
    TopKEvaluation,
    evaluate_ranked,
    evaluate_top_k,
    top_k_dot,
    top_k_scores,
)

__all__ = [
    "APNormalization",
    "BusinessMetrics",
    "Discount",
    "Gain",
    "Metric",
    "PairedComparison",
    "RankingMetrics",
    "TopK",
    "TopKBackend",
    "TopKEvaluation",
    "batch_ranking_metrics",
    "beyond_accuracy",
    "business_metrics",
    "evaluate_ranked",
    "evaluate_top_k",
    "ope",
    "paired_bootstrap",
    "ranking_metrics",
    "top_k_dot",
    "top_k_scores",
]
