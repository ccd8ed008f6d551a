"""Constraints every served list keeps, whatever the weights: business rules (blocked
items, caps, pins) and exposure fairness across requests."""

from paretorec.constraints.exposure import ExposureController, GroupExposure
from paretorec.constraints.rules import CAP_FIELDS, Arranged, Cap, Pin, RuleError, RuleSet, arrange

__all__ = [
    "CAP_FIELDS",
    "Arranged",
    "Cap",
    "ExposureController",
    "GroupExposure",
    "Pin",
    "RuleError",
    "RuleSet",
    "arrange",
]
