"""A shop's rules file, read once for the service, offline evaluation and the audit.

The JSON object holds the business rules (`RuleSet.from_json`: block,
hide_out_of_stock, caps, pins) and at most one fairness constraint:

    "exposure":  {"field": "seller_id", "strength": 1.0, "integral": 0.1, "half_life": 1e5}
    "fair_topk": {"field": "seller_id", "protected": ["s7", "s9"], "p": 0.3, "alpha": 0.1,
                  "adjust": true}

``exposure`` keeps each group's exposure in line with its merit across requests (an
online controller, `ExposureController`); ``fair_topk`` is FA*IR's guarantee within each
list (`FairTopK`): at least the binomial test's minimum of protected items at every
prefix. They answer different questions, so a file names one of them.

``"relevance_floor": 0.3`` (in [0, 1]) sets the search relevance floor
(`paretorec.constraints.floor`): items below it never come above items that pass it
(FA*IR works among the passing items; only pins and caps, applied last, can).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from paretorec.constraints.exposure import ExposureController
from paretorec.constraints.fair_topk import FairTopK
from paretorec.constraints.floor import check_floor
from paretorec.constraints.listing import ListConstraints
from paretorec.constraints.rules import RuleError, RuleSet

__all__ = ["ExposureSpec", "ShopConstraints", "shop_constraints"]

_EXPOSURE_KEYS = {"field", "strength", "integral", "half_life"}
_FAIR_KEYS = {"field", "protected", "p", "alpha", "adjust"}


@dataclass(frozen=True)
class ExposureSpec:
    field: str
    strength: float = 1.0
    integral: float = 0.1
    half_life: float | None = None

    def controller(self) -> ExposureController:
        """A fresh controller (its running totals start at zero)."""
        return ExposureController(
            field=self.field,
            strength=self.strength,
            integral=self.integral,
            half_life=self.half_life,
        )


@dataclass(frozen=True)
class ShopConstraints:
    rules: RuleSet
    exposure: ExposureSpec | None = None
    fair: FairTopK | None = None
    relevance_floor: float | None = None

    @property
    def lists(self) -> ListConstraints:
        return ListConstraints(self.rules, self.fair, self.relevance_floor)


def _number(spec: dict[str, Any], key: str, default: float | None, what: str) -> float | None:
    value = spec.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise RuleError(f"{what}.{key} must be a finite number, got {value!r}")
    return float(value)


def _exposure(spec: Any) -> ExposureSpec:
    if not isinstance(spec, dict) or not isinstance(spec.get("field"), str):
        raise RuleError("exposure needs at least a field (seller_id, brand, ...)")
    unknown = sorted(set(spec) - _EXPOSURE_KEYS)
    if unknown:
        raise RuleError(f"unknown exposure setting(s) {unknown}")
    out = ExposureSpec(
        spec["field"],
        _number(spec, "strength", 1.0, "exposure") or 0.0,
        _number(spec, "integral", 0.1, "exposure") or 0.0,
        _number(spec, "half_life", None, "exposure"),
    )
    try:
        out.controller()
    except ValueError as error:
        raise RuleError(f"exposure: {error}") from None
    return out


def _fair(spec: Any) -> FairTopK:
    if not isinstance(spec, dict) or not isinstance(spec.get("field"), str):
        raise RuleError("fair_topk needs a field (seller_id, brand, ...)")
    unknown = sorted(set(spec) - _FAIR_KEYS)
    if unknown:
        raise RuleError(f"unknown fair_topk setting(s) {unknown}")
    protected = spec.get("protected")
    if not isinstance(protected, list) or not all(isinstance(v, str) for v in protected):
        raise RuleError("fair_topk.protected must be a list of the field's values (strings)")
    p = _number(spec, "p", None, "fair_topk")
    if p is None:
        raise RuleError("fair_topk needs p, the protected group's target share in (0, 1)")
    adjust = spec.get("adjust", True)
    if not isinstance(adjust, bool):
        raise RuleError("fair_topk.adjust must be true or false")
    try:
        return FairTopK(
            spec["field"],
            frozenset(protected),
            p,
            _number(spec, "alpha", 0.1, "fair_topk") or 0.0,
            adjust,
        )
    except ValueError as error:
        raise RuleError(str(error)) from None


def shop_constraints(raw: Any) -> ShopConstraints:
    """The constraints of a rules file's JSON (see the module docstring); RuleError says
    what is wrong."""
    if not isinstance(raw, dict):
        raise RuleError("the rules must be a JSON object")
    raw = dict(raw)
    exposure_spec, fair_spec = raw.pop("exposure", None), raw.pop("fair_topk", None)
    floor = raw.pop("relevance_floor", None)
    try:
        relevance_floor = None if floor is None else check_floor(floor)
    except ValueError as error:
        raise RuleError(str(error)) from None
    if exposure_spec is not None and fair_spec is not None:
        raise RuleError("give exposure or fair_topk, not both: they are alternatives")
    return ShopConstraints(
        RuleSet.from_json(raw),
        None if exposure_spec is None else _exposure(exposure_spec),
        None if fair_spec is None else _fair(fair_spec),
        relevance_floor,
    )
