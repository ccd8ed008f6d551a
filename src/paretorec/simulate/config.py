"""Every knob of the simulated shop, as frozen dataclasses with documented defaults.

`WorldConfig()` is the calibrated default: under a uniformly random policy with three
slots its click-through rate by position sits near the Open Bandit Dataset's random/ALL
campaign (see `BehaviourConfig`). `WorldConfig.lively()` is a busier shop with far more
clicks and purchases, for learning experiments.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum


class ClickModel(StrEnum):
    """How a shopper examines a ranked list.

    PBM (position-based model): position k is examined with probability e_k, independently
    of the rest of the list; an examined item is clicked with its attraction a, so
    P(click at k) = e_k * a_k, and a list can get several clicks.
    CASCADE: the shopper reads top-down, clicks an examined item with probability a_k and
    then stops; after a skipped item she abandons the list with probability `abandonment`,
    so P(click at k) = a_k * prod_{j<k} (1 - a_j)(1 - abandonment).
    """

    PBM = "pbm"
    CASCADE = "cascade"


@dataclass(frozen=True)
class CatalogConfig:
    """How items are generated (see `paretorec.simulate.catalog`)."""

    n_brands: int | None = None  # None: n_items // 100, between 12 and 3000
    n_sellers: int | None = None  # None: n_items // 200, between 5 and 5000
    popularity_exponent: float = 1.0  # item popularity = 1 / rank^exponent (Zipf)
    brand_exponent: float = 1.1  # brand shares within a department, Zipf by brand rank
    seller_exponent: float = 1.2  # seller sizes, Zipf: a few large sellers, a long tail
    leaf_price_spread: float = 0.5  # sd of a leaf's mean log-price around its department's
    price_sigma: float = 0.9  # sd of log-price within a leaf (log-normal prices)
    out_of_stock_share: float = 0.05  # items with stock 0 (can be clicked, not bought)
    mean_stock: float = 40.0
    catalog_age_days: int = 730  # items were created up to this long before `today`
    today: datetime = datetime(2024, 1, 1, tzinfo=UTC)
    descriptions: bool = True


@dataclass(frozen=True)
class UserConfig:
    """How shoppers' latent tastes are drawn (see `paretorec.simulate.users`)."""

    category_concentration: float = 0.3  # Dirichlet alpha over departments (low: focused)
    n_favourite_brands: int = 3
    price_level_sd: float = 0.8  # preferred price, in within-category log-price z units
    price_sensitivity_median: float = 0.5  # logit drop per z unit above the preferred price
    price_sensitivity_spread: float = 0.5  # sd of log price sensitivity
    variety_alpha: float = 2.0  # taste for variety ~ Beta(alpha, beta), in [0, 1]
    variety_beta: float = 3.0
    activity_sigma: float = 1.0  # sd of log session rate: a few heavy shoppers


@dataclass(frozen=True)
class CandidateMix:
    """Where a session's candidates come from, as shares of `n_candidates`.

    The anchor leaf is the searched category in a search session and, in a browsing
    session, a category the shopper likes (the one she has in mind with probability
    `SessionConfig.browse_anchor_accuracy`). The rest is uniform over the catalog.
    """

    anchor_leaf: float = 0.6
    anchor_department: float = 0.2
    popular: float = 0.15

    def counts(self, n_candidates: int) -> tuple[int, int, int, int]:
        """Candidates from (leaf, department, popular pool, anywhere)."""
        leaf = round(n_candidates * self.anchor_leaf)
        dept = round(n_candidates * self.anchor_department)
        pop = round(n_candidates * self.popular)
        if leaf + dept + pop > n_candidates:
            raise ValueError("candidate shares add up to more than 1")
        return leaf, dept, pop, n_candidates - leaf - dept - pop


@dataclass(frozen=True)
class SessionConfig:
    """Sessions: intent, query, candidates, and whether the shopper comes back for more."""

    n_candidates: int = 50
    search_share: float = 0.5  # the rest are browsing (recommendation) sessions, no query
    query_brand_prob: float = 0.25  # a search names a brand
    query_attribute_prob: float = 0.4  # a search names an attribute word
    browse_anchor_accuracy: float = 0.5
    candidate_mix: CandidateMix = field(default_factory=CandidateMix)
    popular_pool: int = 1000  # the most popular items, one candidate source
    candidate_popularity_power: float = 0.5  # draws within a category weigh popularity^power
    # A multi-step session continues after a list with these probabilities (the rest is
    # session abandonment); a new step keeps the same intent with `intent_persistence`.
    continue_after_purchase: float = 0.2
    continue_after_click: float = 0.7
    continue_without_click: float = 0.5
    intent_persistence: float = 0.7


@dataclass(frozen=True)
class ClickCalibration:
    """Solve the click intercept so that a uniformly random policy showing `slots` of the
    candidates gets an expected click-through rate of `target_ctr` (exact expectation over
    `n_sessions` sampled sessions)."""

    target_ctr: float = 0.0038
    slots: int = 3
    n_sessions: int = 30_000


# Open Bandit Dataset (obp 0.4.1's bundled sample of ZOZOTOWN's random/ALL campaign,
# 10,000 rounds, 3 slots, 80 items, uniformly random logging) measures CTR at positions
# 1, 2, 3 of 0.00391, 0.00410, 0.00337 (overall 0.0038, sampling error about +-0.0006).
# The overall rate is the calibration target; the position-wise figures are within their
# error of a mild decreasing position bias, so examination is 1.0, 0.95, 0.85 for the three
# slots, decaying by 0.9 a position further down (0.41 at position 10).
OBD_RANDOM_ALL_CTR = (0.00391, 0.00410, 0.00337)
OBD_RANDOM_ALL_OVERALL_CTR = 0.0038


@dataclass(frozen=True)
class BehaviourConfig:
    """The click / add-to-cart / purchase model (see `paretorec.simulate.behaviour`).

    Attraction a = sigmoid(click_intercept + utility - fatigue), where utility is
    w_relevance * relevance(intent, item) + query brand / attribute match + favourite brand
    + w_category * log-affinity to the department + w_quality * quality + w_popularity *
    popularity_z - w_price_click * sensitivity * (price_z - preferred price).
    P(cart | click) and P(purchase | cart) are logistic in quality, favourite brand and
    price, with a much stronger price term on purchase: dear items earn more per sale but
    sell less often.
    """

    click_model: ClickModel = ClickModel.PBM
    examination: tuple[float, ...] = (1.0, 0.95, 0.85)  # from OBD random/ALL, see above
    examination_decay: float = 0.9  # e_k = e_last * decay^(k - len(examination))
    cascade_abandonment: float = 0.1
    calibration: ClickCalibration | None = field(default_factory=ClickCalibration)
    click_intercept: float = -5.6  # used as is when `calibration` is None
    # relevance of an item to the intent: same leaf 1, same mid-level category, same department
    relevance_mid: float = 0.45
    relevance_department: float = 0.2
    w_relevance: float = 3.0
    w_query_brand: float = 0.8  # the intent names a brand: + for it, - half for others
    w_attribute: float = 0.4
    w_favourite_brand: float = 0.6
    w_category: float = 0.3
    w_quality: float = 0.4
    w_popularity: float = 0.5
    w_price_click: float = 0.15
    # fatigue (logit penalty) for each earlier item in the list sharing the leaf, the brand,
    # or both (a near-duplicate), scaled by (fatigue_base + fatigue_variety * variety);
    # plus `fatigue_seen` per earlier exposure of the same item in the session
    fatigue_leaf: float = 0.02
    fatigue_brand: float = 0.05
    fatigue_duplicate: float = 0.15
    fatigue_base: float = 0.3
    fatigue_variety: float = 1.7
    fatigue_seen: float = 0.7
    # conversion funnel
    cart_rate: float = 0.10  # P(cart | click) for an average item
    purchase_rate: float = 0.30  # P(purchase | cart) for an average item at the shopper's price
    w_cart_quality: float = 0.2
    w_cart_favourite: float = 0.3
    w_cart_price: float = 0.3
    w_buy_quality: float = 0.3
    w_buy_favourite: float = 0.4
    w_buy_price: float = 1.0  # x sensitivity x (price_z - preferred price)
    w_buy_absolute_price: float = 0.3  # x sensitivity x catalog-wide log-price z

    def examination_probabilities(self, n_positions: int) -> tuple[float, ...]:
        """e_1..e_n: the configured values, then geometric decay."""
        given = self.examination
        out = list(given[:n_positions])
        last = given[-1]
        for k in range(len(given), n_positions):
            out.append(last * self.examination_decay ** (k - len(given) + 1))
        return tuple(out)


@dataclass(frozen=True)
class WorldConfig:
    """The whole shop: catalog, shoppers, sessions and behaviour."""

    catalog: CatalogConfig = field(default_factory=CatalogConfig)
    users: UserConfig = field(default_factory=UserConfig)
    sessions: SessionConfig = field(default_factory=SessionConfig)
    behaviour: BehaviourConfig = field(default_factory=BehaviourConfig)

    @classmethod
    def calibrated(cls) -> WorldConfig:
        """The default: click rates like the Open Bandit Dataset's random/ALL campaign."""
        return cls()

    @classmethod
    def lively(cls) -> WorldConfig:
        """A busier shop for learning: about 20x the calibrated click rate (random policy,
        3 slots: CTR 0.08), a steeper position bias and a fuller conversion funnel."""
        behaviour = BehaviourConfig(
            examination=(1.0, 0.85, 0.72),
            examination_decay=0.88,
            calibration=ClickCalibration(target_ctr=0.08),
            cart_rate=0.3,
            purchase_rate=0.5,
        )
        return cls(behaviour=behaviour)

    def with_click_model(self, model: ClickModel) -> WorldConfig:
        return replace(self, behaviour=replace(self.behaviour, click_model=model))
