"""The shopper's response to a ranked list: examination, click, add-to-cart, purchase.

For the item at position k of a list shown in a session:

* attraction a_k = sigmoid(intercept + utility_k - fatigue_k). Utility rises with the
  item's relevance to the intent (same leaf > same mid-level category > same
  department), a match of the brand or attribute she has in mind, her favourite brands,
  her taste for the department, quality and popularity (social proof), and falls a little
  with price above her preferred level. Fatigue grows with each earlier item in the list
  of the same leaf, the same brand, or both (a near-duplicate), scaled up for shoppers
  with a taste for variety, and with each earlier exposure of the same item in the
  session. So popular items click more, and diverse lists help variety-seekers.
* examination: position-based (P(click_k) = e_k a_k) or cascade (read top-down, stop at
  the first click, abandon the list after a skip with a fixed probability), `ClickModel`.
* P(cart | click) and P(purchase | cart) are logistic in quality, favourite brand and
  price; the purchase's price term is strong (sensitivity x price above her level, and
  the catalog-wide price), so dear items earn more revenue per sale but sell less often;
  an item out of stock is never carted.
* revenue = price and margin = price - cost, on a purchase.

Everything here is a pure function of arrays of shape (sessions, positions); the
expected values (`expected_feedback`) are exact, the samples (`sample_feedback`) draw
from the same probabilities.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from paretorec.simulate._arrays import BoolArray, FloatArray, IntArray, logit, sigmoid
from paretorec.simulate.config import BehaviourConfig, ClickModel


@dataclass(frozen=True)
class ShownList:
    """What the behaviour model reads about each shown item, arrays of shape (n, k).

    Per-session quantities (`price_sensitivity`, `variety`) have shape (n, 1).
    """

    relevance: FloatArray  # 1 same leaf as the intent, relevance_mid / _department, or 0
    query_brand: FloatArray  # +1 the brand she has in mind, -1 another brand, 0 none in mind
    attribute_match: FloatArray  # 1 the item has the attribute she has in mind
    favourite_brand: FloatArray  # 1 one of her favourite brands
    category_affinity: FloatArray  # log(n_departments x her preference for the department)
    quality: FloatArray
    popularity_z: FloatArray
    price_fit: FloatArray  # within-category price z minus her preferred level
    global_price_z: FloatArray
    price_sensitivity: FloatArray  # (n, 1)
    variety: FloatArray  # (n, 1)
    leaf: IntArray
    brand: IntArray  # -1: unbranded (never counts as a repeat)
    seen_before: FloatArray  # earlier exposures of this item in the session
    in_stock: BoolArray
    price: FloatArray
    margin: FloatArray


@dataclass(frozen=True)
class Feedback:
    """Per-objective feedback, each of shape (n_sessions, list_size): sampled outcomes
    (0/1 and money) from `sample_feedback`, exact expectations from `expected_feedback`."""

    clicks: FloatArray
    carts: FloatArray
    purchases: FloatArray
    revenue: FloatArray
    margin: FloatArray

    def as_dict(self) -> dict[str, FloatArray]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def per_session(self) -> dict[str, FloatArray]:
        """Each objective summed over the list: shape (n_sessions,)."""
        return {k: v.sum(axis=1) for k, v in self.as_dict().items()}

    def mean(self) -> dict[str, float]:
        """Each objective summed over the list, averaged over sessions."""
        return {k: float(v.sum(axis=1).mean()) for k, v in self.as_dict().items()}

    def masked(self, keep: BoolArray) -> Feedback:
        """Zero for the sessions where `keep` (shape (n,)) is False."""
        m = keep[:, None]
        return Feedback(**{k: np.where(m, v, 0.0) for k, v in self.as_dict().items()})


FEEDBACK_NAMES: tuple[str, ...] = tuple(f.name for f in fields(Feedback))


@dataclass(frozen=True)
class Funnel:
    """Conditional probabilities per shown item: attraction (click if examined),
    cart given click, purchase given cart."""

    attraction: FloatArray
    cart: FloatArray
    purchase: FloatArray


def utility(s: ShownList, cfg: BehaviourConfig) -> FloatArray:
    """The click logit of each item before the intercept and fatigue."""
    brand_term = np.where(s.query_brand > 0, cfg.w_query_brand, 0.0) - np.where(
        s.query_brand < 0, 0.5 * cfg.w_query_brand, 0.0
    )
    out: FloatArray = (
        cfg.w_relevance * s.relevance
        + brand_term
        + cfg.w_attribute * s.attribute_match
        + cfg.w_favourite_brand * s.favourite_brand
        + cfg.w_category * s.category_affinity
        + cfg.w_quality * s.quality
        + cfg.w_popularity * s.popularity_z
        - cfg.w_price_click * s.price_sensitivity * s.price_fit
    )
    return out


def list_fatigue(
    leaf: IntArray, brand: IntArray, variety: FloatArray, cfg: BehaviourConfig
) -> FloatArray:
    """Logit penalty at each position for the earlier items of the same list that share
    its leaf, its brand, or both, scaled by (fatigue_base + fatigue_variety x variety)."""
    k = leaf.shape[1]
    above = np.tril(np.ones((k, k), dtype=bool), -1)  # [pos, earlier pos]
    same_leaf = (leaf[:, :, None] == leaf[:, None, :]) & above
    same_brand = (brand[:, :, None] == brand[:, None, :]) & (brand >= 0)[:, :, None] & above
    penalty = (
        cfg.fatigue_leaf * same_leaf.sum(axis=2)
        + cfg.fatigue_brand * same_brand.sum(axis=2)
        + cfg.fatigue_duplicate * (same_leaf & same_brand).sum(axis=2)
    )
    out: FloatArray = penalty * (cfg.fatigue_base + cfg.fatigue_variety * variety)
    return out


def fatigue(s: ShownList, cfg: BehaviourConfig) -> FloatArray:
    out: FloatArray = (
        list_fatigue(s.leaf, s.brand, s.variety, cfg) + cfg.fatigue_seen * s.seen_before
    )
    return out


def funnel(s: ShownList, cfg: BehaviourConfig, click_intercept: float) -> Funnel:
    """The conditional probabilities of the click / cart / purchase funnel."""
    attraction = sigmoid(click_intercept + utility(s, cfg) - fatigue(s, cfg))
    cart = (
        sigmoid(
            logit(cfg.cart_rate)
            + cfg.w_cart_quality * s.quality
            + cfg.w_cart_favourite * s.favourite_brand
            - cfg.w_cart_price * s.price_sensitivity * s.price_fit
        )
        * s.in_stock
    )
    purchase = sigmoid(
        logit(cfg.purchase_rate)
        + cfg.w_buy_quality * s.quality
        + cfg.w_buy_favourite * s.favourite_brand
        - s.price_sensitivity
        * (cfg.w_buy_price * s.price_fit + cfg.w_buy_absolute_price * s.global_price_z)
    )
    return Funnel(attraction=attraction, cart=cart, purchase=purchase)


def click_probabilities(
    attraction: FloatArray,
    examination: FloatArray,
    model: ClickModel,
    abandonment: float = 0.0,
) -> FloatArray:
    """P(click at k) for each position of each list.

    PBM: e_k * a_k. Cascade: a_k * prod_{j<k} (1 - a_j)(1 - abandonment); `examination`
    is not used by the cascade, whose examination is the chance to read that far.
    """
    if model is ClickModel.PBM:
        out: FloatArray = examination[None, : attraction.shape[1]] * attraction
        return out
    skip = (1.0 - attraction) * (1.0 - abandonment)
    reach = np.cumprod(np.concatenate([np.ones_like(skip[:, :1]), skip[:, :-1]], axis=1), axis=1)
    cascade: FloatArray = reach * attraction
    return cascade


def expected_feedback(
    f: Funnel, s: ShownList, examination: FloatArray, cfg: BehaviourConfig
) -> Feedback:
    """Exact expected clicks, carts, purchases, revenue and margin at each position."""
    clicks = click_probabilities(
        f.attraction, examination, cfg.click_model, cfg.cascade_abandonment
    )
    carts = clicks * f.cart
    purchases = carts * f.purchase
    return Feedback(
        clicks=clicks,
        carts=carts,
        purchases=purchases,
        revenue=purchases * s.price,
        margin=purchases * s.margin,
    )


def sample_clicks(
    attraction: FloatArray,
    examination: FloatArray,
    model: ClickModel,
    abandonment: float,
    rng: np.random.Generator,
) -> BoolArray:
    """Draw clicks from the click model (a loop over the few positions for the cascade)."""
    n, k = attraction.shape
    if model is ClickModel.PBM:
        out: BoolArray = rng.random((n, k)) < examination[None, :k] * attraction
        return out
    clicks = np.zeros((n, k), dtype=bool)
    reading = np.ones(n, dtype=bool)
    for pos in range(k):
        clicks[:, pos] = reading & (rng.random(n) < attraction[:, pos])
        reading &= ~clicks[:, pos] & (rng.random(n) >= abandonment)
    return clicks


def sample_feedback(
    f: Funnel,
    s: ShownList,
    examination: FloatArray,
    cfg: BehaviourConfig,
    rng: np.random.Generator,
) -> Feedback:
    """One draw of what the shoppers do with their lists."""
    clicks = sample_clicks(f.attraction, examination, cfg.click_model, cfg.cascade_abandonment, rng)
    carts = clicks & (rng.random(clicks.shape) < f.cart)
    purchases = carts & (rng.random(clicks.shape) < f.purchase)
    bought = purchases.astype(np.float64)
    return Feedback(
        clicks=clicks.astype(np.float64),
        carts=carts.astype(np.float64),
        purchases=bought,
        revenue=bought * s.price,
        margin=bought * s.margin,
    )
