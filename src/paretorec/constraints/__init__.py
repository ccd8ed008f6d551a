"""Constraints every served list keeps, whatever the weights: business rules (blocked
items, caps, pins), exposure fairness across requests, and FA*IR's minimum of protected
items at every prefix."""

from paretorec.constraints.config import ExposureSpec, ShopConstraints, shop_constraints
from paretorec.constraints.exposure import ExposureController, GroupExposure
from paretorec.constraints.fair_topk import FAIR_TOPK, FairRanking, FairTopK
from paretorec.constraints.floor import RELEVANCE_FLOOR, apply_floor
from paretorec.constraints.listing import (
    ListConstraints,
    constrain_orders,
    constrained_list,
    list_arranger,
)
from paretorec.constraints.rules import CAP_FIELDS, Arranged, Cap, Pin, RuleError, RuleSet, arrange

__all__ = [
    "CAP_FIELDS",
    "FAIR_TOPK",
    "RELEVANCE_FLOOR",
    "Arranged",
    "Cap",
    "ExposureController",
    "ExposureSpec",
    "FairRanking",
    "FairTopK",
    "GroupExposure",
    "ListConstraints",
    "Pin",
    "RuleError",
    "RuleSet",
    "ShopConstraints",
    "apply_floor",
    "arrange",
    "constrain_orders",
    "constrained_list",
    "list_arranger",
    "shop_constraints",
]
