"""`ServingPipeline`: search and recommendation requests through candidates → ranker →
policy (the stages of `paretorec.stages`), live catalog changes, and which stage versions
are loaded.

The request path builds no data frames: candidates carry their item-store rows, and the
ranker and policy read item-side arrays they prepared when their version loaded. Query
vectors are cached (`QueryVectors`), so a repeated query skips the encoder.

Reads (search, recommend) run concurrently; a catalog change takes the write lock, so a
request sees the catalog either before or after it, never half of it. A change goes to
the item store, the search indexes, the second stage's item side and the recommender at
once: the next request finds it (cold start from its text, encoded by the query encoder's
item path).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from paretorec.encode import TextEncoder, item_text
from paretorec.preference import Preference, PreferenceError
from paretorec.retrieve import Filters
from paretorec.retrieve.duplicates import collapse, duplicate_key
from paretorec.retrieve.filters import normalize_brand, normalize_category
from paretorec.serve.catalog import ItemStore, ItemValueError
from paretorec.serve.constraints import BLOCKED, ServingConstraints, constrained_ranking
from paretorec.serve.exploration import Exploration, sample_list
from paretorec.serve.fallback import RELEVANCE, relevance_predictions, weighted_sum_ranking
from paretorec.serve.locking import ReadWriteLock
from paretorec.serve.missing_data import missing_price_note
from paretorec.serve.query_vectors import QueryVectors
from paretorec.serve.second_stage import ServedSecondStage
from paretorec.stages import (
    CandidateSet,
    Policy,
    Predictor,
    Ranking,
    Recommended,
    Recommender,
    RequestContext,
    Retriever,
    Stage,
)
from paretorec.types import Catalog

__all__ = [
    "RankedItem",
    "RankedList",
    "RecommendQuery",
    "RequestError",
    "Scoring",
    "SearchQuery",
    "ServingPipeline",
    "StageState",
    "StageUnavailableError",
    "UnknownItemError",
]

DEFAULT_DEPTH = 50
INTEREST_EVENTS = frozenset({"click", "cart", "purchase"})
FloatArray = NDArray[np.float64]
Timer = Callable[[str, float], None]


@runtime_checkable
class PredictsRelevance(Protocol):
    """A policy that predicts the relevance it weighs itself (`ServedPolicy`)."""

    def predicted_relevance(
        self, context: RequestContext, candidates: CandidateSet
    ) -> FloatArray | None: ...


class RequestError(ValueError):
    """A request the service cannot answer as asked (HTTP 422)."""


class UnknownItemError(KeyError):
    """An item id that is not in the catalog (HTTP 404)."""

    def __str__(self) -> str:
        return f"item {self.args[0]!r} is not in the catalog"


class StageUnavailableError(RuntimeError):
    """A request needs a stage that has no loaded version (HTTP 503)."""


@dataclass(frozen=True)
class StageState:
    loaded: bool
    version: str | None
    detail: str


COLD_START_NOTE = (
    "no history for this shopper (an unknown user and no known session items): "
    "popular-and-diverse items, the same for every new shopper"
)


@dataclass(frozen=True)
class SearchQuery:
    text: str
    k: int = 10
    user_id: str | None = None
    filters: Filters | None = None
    weights: Mapping[str, float] | None = None
    collapse_duplicates: bool = True  # a product listed under several ids shown once


@dataclass(frozen=True)
class RecommendQuery:
    k: int = 10
    user_id: str | None = None
    session_items: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    filters: Filters | None = None
    weights: Mapping[str, float] | None = None
    collapse_duplicates: bool = True


@dataclass(frozen=True, eq=False)
class Scoring:
    """A request's candidates scored once: their predictions, the policy that orders
    them (None: the weighted-sum fallback), the objectives it weighs, and notes."""

    predictions: Mapping[str, FloatArray]
    policy: Policy | None
    names: tuple[str, ...]
    ordered_by: str
    notes: tuple[str, ...]


@dataclass(frozen=True)
class RankedItem:
    item_id: str
    score: float
    predictions: dict[str, float]
    contributions: dict[str, float]
    source: str
    rules: tuple[str, ...] = ()  # the business rules that moved the item
    propensity: float = 1.0  # P(item at this position): 1 for a greedy list
    places: dict[str, int] = field(default_factory=dict)  # moved up by each objective
    propensity_given_above: float = 1.0  # P(item here | the items above)


@dataclass(frozen=True)
class RankedList:
    items: tuple[RankedItem, ...]
    weights: dict[str, float]
    weights_source: str
    ordered_by: str
    notes: tuple[str, ...]
    ignored: tuple[str, ...] = ()
    explored: bool = False  # drawn from the policy's distribution, not decoded greedily


def _passes(record: dict[str, Any], filters: Filters) -> bool:
    """`Filters` semantics (as the retrievers apply them) on one item record."""
    if filters.category is not None:
        category = record.get("category")
        if category is None:
            return False
        path = normalize_category(str(category))
        if path != filters.category and not path.startswith(filters.category + ">"):
            return False
    price = record.get("price")
    if filters.min_price is not None and (price is None or price < filters.min_price):
        return False
    if filters.max_price is not None and (price is None or price > filters.max_price):
        return False
    stock = record.get("stock")
    if filters.in_stock and (stock is None or stock <= 0):
        return False
    if filters.brands is not None:
        brand = record.get("brand")
        if brand is None or normalize_brand(str(brand)) not in filters.brands:
            return False
    return True


class ServingPipeline:
    """The service's request logic (see the module docstring)."""

    def __init__(
        self,
        *,
        retriever: Retriever,
        store: ItemStore,
        encoder: TextEncoder,
        ranker: Predictor | None = None,
        policy: Policy | None = None,
        recommender: Recommender | None = None,
        versions: Mapping[Stage, str | None] | None = None,
        default_weights: Mapping[str, float] | None = None,
        depth: int = DEFAULT_DEPTH,
        timer: Timer | None = None,
        second_stage: ServedSecondStage | None = None,
    ) -> None:
        if len(retriever) != len(store):
            raise ValueError(
                f"the retriever holds {len(retriever)} items, the item store {len(store)}"
            )
        self.retriever = retriever
        self.store = store
        self.query_vectors = QueryVectors(encoder)
        self.ranker = ranker
        self.policy = policy
        self.recommender = recommender
        self.versions: dict[Stage, str | None] = dict(versions or {})
        self.default_weights = dict(default_weights) if default_weights else None
        self.depth = depth
        # the index version's learned re-ranker of search, when it carries one
        self.second_stage = second_stage
        self.timer: Timer = timer or (lambda stage, seconds: None)
        self.lock = ReadWriteLock()
        self.preferred: Preference | None = None  # the default weights an admin chose live
        self.constraints: ServingConstraints | None = None  # the shop's rules and fairness
        self.exploration: Exploration | None = None  # the share of lists drawn, not decoded

    @property
    def encoder(self) -> TextEncoder:
        return self.query_vectors.encoder

    @encoder.setter
    def encoder(self, encoder: TextEncoder) -> None:
        self.query_vectors = QueryVectors(encoder, size=self.query_vectors.size)

    # ------------------------------------------------------------ status

    def stages(self) -> dict[Stage, StageState]:
        index_version = self.versions.get(Stage.INDEX)
        states = {
            Stage.INDEX: StageState(
                True,
                index_version,
                f"{len(self.store):,} items, queries by {self.encoder.name}"
                + ("" if self.second_stage is None else f"; {self.second_stage.describe()}"),
            )
        }
        for stage, loaded, missing in (
            (
                Stage.RANKER,
                self.ranker,
                "no ranker version: predictions are retrieval relevance only",
            ),
            (
                Stage.POLICY,
                self.policy,
                "no policy version: lists are ordered by the weighted sum of predictions",
            ),
            (Stage.RECOMMENDER, self.recommender, "no recommender version: /recommend answers 503"),
        ):
            version = self.versions.get(stage)
            if loaded is None:
                states[stage] = StageState(False, None, missing)
            else:
                states[stage] = StageState(True, version, type(loaded).__name__)
        return states

    def _timed(self, stage: str, start: float) -> float:
        now = time.perf_counter()
        self.timer(stage, now - start)
        return now

    # ------------------------------------------------------------ requests

    def search(self, query: SearchQuery) -> RankedList:
        context = self.search_context(query)
        with self.lock.reading():
            candidates = self.search_candidates(context, query)
            return self._rank(context, candidates, query.k, query.weights)

    def recommend(self, query: RecommendQuery) -> RankedList:
        context = self.recommend_context(query)
        with self.lock.reading():
            candidates, found = self._recommended(query)
            ranked = self._rank(context, candidates, query.k, query.weights)
        ignored = tuple(found.ignored)
        cold = (COLD_START_NOTE,) if found.cold_start else ()
        return RankedList(
            ranked.items,
            ranked.weights,
            ranked.weights_source,
            ranked.ordered_by,
            (*cold, *ranked.notes),
            ignored=ignored,
            explored=ranked.explored,
        )

    # The steps of a request, for `search` and `recommend` and for whatever else walks
    # the same floors (the explorer's front); callers of the last three hold `lock`.

    def recommend_context(self, query: RecommendQuery) -> RequestContext:
        return RequestContext(None, None, query.user_id, query.session_items)

    def search_context(self, query: SearchQuery) -> RequestContext:
        start = time.perf_counter()
        vector = self.query_vectors(query.text)
        self._timed("encode", start)
        return RequestContext(query.text, vector, query.user_id, ())

    def search_candidates(self, context: RequestContext, query: SearchQuery) -> CandidateSet:
        start = time.perf_counter()
        assert context.query is not None and context.query_vector is not None
        second = self.second_stage
        if second is not None and second.active:
            # the union of the runs (filtered inside each, as the fused path filters them)
            # re-ordered by the learned second stage, its scaled score standing in for the
            # fused one (`paretorec.serve.second_stage`)
            found = second.rerank(
                context.query,
                context.query_vector,
                k=max(query.k, self.depth),
                filters=query.filters,
            )
        else:
            found = self.retriever.search(
                context.query,
                context.query_vector,
                k=max(query.k, self.depth),
                filters=query.filters,
            )
        self._timed("retrieve", start)
        candidates = self._candidates(found.item_ids, found.scores, ("search",) * len(found))
        return self._constrained(candidates, context.query, collapse=query.collapse_duplicates)

    def _distinct(self, item_ids: Sequence[str]) -> list[int]:
        """Positions of `item_ids` left when a product listed under several ids (same
        normalized brand and title, `paretorec.retrieve.duplicates`) keeps its best."""
        ids = list(item_ids)
        titles = self.store.values(ids, "title")
        brands = self.store.values(ids, "brand")
        return list(
            collapse([duplicate_key(t, b) for t, b in zip(titles, brands, strict=True)]).kept
        )

    def recommend_candidates(self, query: RecommendQuery) -> tuple[CandidateSet, tuple[str, ...]]:
        """The recommender's candidates still served (and passing the filters), and the
        session items it did not know."""
        candidates, found = self._recommended(query)
        return candidates, tuple(found.ignored)

    def _recommended(self, query: RecommendQuery) -> tuple[CandidateSet, Recommended]:
        """`recommend_candidates`, with all the recommender said (cold start included)."""
        if self.recommender is None:
            raise StageUnavailableError(
                "recommendations need a recommender version: train one "
                "(`paretorec train recommender`) and restart or promote it"
            )
        start = time.perf_counter()
        exclude = tuple(dict.fromkeys((*query.exclude, *query.session_items)))
        want = query.k if query.filters is None else max(query.k, self.depth) * 4
        found = self.recommender.recommend(
            user_id=query.user_id,
            session_items=query.session_items,
            k=max(want, self.depth),
            exclude=exclude,
        )
        self._timed("recommend", start)
        keep = [i for i, item_id in enumerate(found.item_ids) if item_id in self.store]
        if query.filters is not None:
            records = self.store.records([found.item_ids[i] for i in keep])
            keep = [i for i, r in zip(keep, records, strict=True) if _passes(r, query.filters)]
        candidates = self._candidates(
            [found.item_ids[i] for i in keep],
            np.asarray(found.scores, dtype=np.float64)[keep],
            [found.sources[i] for i in keep],
        )
        return self._constrained(candidates, None, collapse=query.collapse_duplicates), found

    def _constrained(
        self, candidates: CandidateSet, query: str | None, *, collapse: bool
    ) -> CandidateSet:
        """The candidates the rules allow, one listing per product when `collapse` (among
        the allowed ones, so a blocked or hidden listing never hides a servable twin), and
        the items pinned for this query added."""
        constraints = self.constraints
        rules = None if constraints is None or constraints.rules.empty else constraints.rules
        if rules is None and not collapse:
            return candidates
        keep = list(range(len(candidates)))
        if rules is not None:
            assert constraints is not None
            records = self.store.records(list(candidates.item_ids))
            keep = [i for i, record in enumerate(records) if rules.allowed(record)]
            constraints.count([BLOCKED], len(records) - len(keep))
        if collapse:
            keep = [keep[p] for p in self._distinct([candidates.item_ids[i] for i in keep])]
        ids = [candidates.item_ids[i] for i in keep]
        scores = candidates.scores[keep].tolist()
        sources = [candidates.sources[i] for i in keep]
        if rules is None:
            return self._candidates(ids, scores, sources)
        lowest = min(scores, default=0.0)
        for pin in rules.pins_for(query):
            if (
                pin.item_id in self.store
                and pin.item_id not in ids
                and rules.allowed(self.store.records([pin.item_id])[0])
            ):
                ids.append(pin.item_id)
                scores.append(lowest)
                sources.append("pin")
        return self._candidates(ids, scores, sources)

    def _candidates(
        self, item_ids: Sequence[str], scores: Any, sources: Sequence[str]
    ) -> CandidateSet:
        return CandidateSet(
            tuple(item_ids),
            self.store.rows_of(item_ids),
            np.asarray(scores, dtype=np.float64),
            tuple(sources),
        )

    def scoring(self, context: RequestContext, candidates: CandidateSet) -> Scoring:
        """The candidates' predictions, and who orders them (the policy, when its inputs
        are there), with the notes a response carries."""
        notes: list[str] = []
        start = time.perf_counter()
        if self.ranker is not None and len(candidates):
            predictions = {
                name: np.asarray(values, dtype=np.float64)
                for name, values in self.ranker.predict(context, candidates).items()
            }
            self._timed("rank", start)
        elif self.ranker is not None:
            predictions = {name: np.zeros(0) for name in self.ranker.tasks}
        else:
            predictions = relevance_predictions(candidates.scores)
            notes.append("ranker missing: the only objective is retrieval relevance")
        policy = self.policy
        if policy is not None and RELEVANCE in policy.objectives:
            relevance = self._request_relevance(policy, context, candidates, predictions)
            if relevance is not None:
                predictions[RELEVANCE] = relevance
        if policy is not None and not set(policy.prediction_names) <= set(predictions):
            notes.append(
                f"policy not used: it reads predictions {', '.join(policy.prediction_names)}, "
                "which need a ranker with those tasks"
            )
            policy = None
        if policy is not None:
            ordered_by = "policy"
        elif self.ranker is not None:
            ordered_by = "weighted sum of ranker predictions"
            notes.append("policy missing: ordered by the weighted sum of scaled predictions")
        else:
            ordered_by = "retrieval"
            notes.append("policy missing: items keep the retrieval order")
        names = policy.objectives if policy is not None else tuple(predictions)
        prices = self.store.column("price")
        unpriced = missing_price_note(names, [prices[r] for r in candidates.rows.tolist()])
        if unpriced is not None:
            notes.append(unpriced)
        return Scoring(predictions, policy, names, ordered_by, tuple(notes))

    @staticmethod
    def _request_relevance(
        policy: Policy,
        context: RequestContext,
        candidates: CandidateSet,
        predictions: Mapping[str, FloatArray],
    ) -> FloatArray | None:
        """The relevance a relevance-weighing policy weighs, which the response reports, the
        floor reads and the explorer plots (one number everywhere): the policy's own
        prediction where it has one (over a ranker's); else the ranker's (None: kept);
        else, for a search, the first stage's score as a share of the best candidate's,
        and 0 without a query (nothing to be relevant to: not the recommender's score,
        and 0 is what its browsing sessions trained on)."""
        if isinstance(policy, PredictsRelevance):
            own = policy.predicted_relevance(context, candidates)
            if own is not None:
                return np.asarray(own, dtype=np.float64)
        if RELEVANCE in predictions:
            return None
        if context.query is None:
            return np.zeros(len(candidates))
        return relevance_predictions(candidates.scores)[RELEVANCE]

    def choose(
        self,
        context: RequestContext,
        candidates: CandidateSet,
        scoring: Scoring,
        preference: Preference,
        k: int,
    ) -> Ranking:
        """The list for one preference (candidates and scoring as computed once), under
        the shop's rules and exposure fairness where it has them."""
        constraints = self.constraints
        active = constraints is not None and constraints.active
        depth = len(candidates) if active else min(k, len(candidates))
        if scoring.policy is not None:
            start = time.perf_counter()
            choice = scoring.policy.choose(
                context, candidates, scoring.predictions, preference, depth
            )
            self._timed("policy", start)
        else:
            choice = weighted_sum_ranking(scoring.predictions, preference, depth)
        if constraints is None or not active:
            return choice
        relevance = None
        if context.query is not None:  # the floor is a search rule
            relevance = scoring.predictions.get(RELEVANCE)
            if relevance is None:
                relevance = relevance_predictions(candidates.scores)[RELEVANCE]
        return constrained_ranking(
            choice,
            candidates,
            self.store.column,
            constraints,
            context.query,
            k,
            None if relevance is None else relevance.tolist(),
        )

    def _rank(
        self,
        context: RequestContext,
        candidates: CandidateSet,
        k: int,
        requested: Mapping[str, float] | None,
    ) -> RankedList:
        scoring = self.scoring(context, candidates)
        preference, source = self.preference(scoring.names, requested, scoring.policy)
        used = preference.as_dict()
        if not len(candidates):
            return RankedList((), used, source, "nothing found", scoring.notes)
        sampled = None
        rng = self._explores(scoring)
        if rng is not None:
            assert self.exploration is not None
            full = self.choose(context, candidates, scoring, preference, len(candidates))
            sampled = sample_list(full.scores, k, self.exploration.temperature, rng)
            picked = sampled.order
            choice = Ranking(
                full.order[picked],
                full.scores[picked],
                {name: values[picked] for name, values in full.contributions.items()},
            )
        else:
            choice = self.choose(context, candidates, scoring, preference, k)
        self._record_exposure(candidates, choice)
        predictions = scoring.predictions
        items = []
        for row, (index, score) in enumerate(
            zip(choice.order.tolist(), choice.scores.tolist(), strict=True)
        ):
            items.append(
                RankedItem(
                    item_id=candidates.item_ids[index],
                    score=float(score),
                    predictions={n: float(predictions[n][index]) for n in predictions},
                    contributions={
                        name: float(values[row]) for name, values in choice.contributions.items()
                    },
                    source=candidates.sources[index],
                    rules=choice.moved_by[row] if choice.moved_by else (),
                    places={name: int(values[row]) for name, values in choice.places.items()},
                    propensity=1.0 if sampled is None else float(sampled.marginal[row]),
                    propensity_given_above=(
                        1.0 if sampled is None else float(sampled.given_above[row])
                    ),
                )
            )
        return RankedList(
            tuple(items),
            used,
            source,
            scoring.ordered_by,
            scoring.notes,
            explored=sampled is not None,
        )

    def _explores(self, scoring: Scoring) -> np.random.Generator | None:
        """This request's generator when it explores: a share of the traffic, for a
        Plackett-Luce policy (or the weighted-sum order) without rules or fairness, whose
        lists are a draw from the scores (a rule moving items would falsify the logged
        propensities)."""
        if self.exploration is None:
            return None
        if self.constraints is not None and self.constraints.active:
            return None
        if scoring.policy is not None and not scoring.policy.plackett_luce:
            return None
        return self.exploration.draw()

    def _record_exposure(self, candidates: CandidateSet, choice: Ranking) -> None:
        """Count a served list in the exposure controller's running totals."""
        exposure = self.constraints.exposure if self.constraints is not None else None
        if exposure is None or not len(candidates):
            return
        values = self.store.column(exposure.field)
        rows = candidates.rows.tolist()
        exposure.record(
            [values[r] for r in rows],
            relevance_predictions(candidates.scores)[RELEVANCE],
            [values[rows[i]] for i in choice.order.tolist()],
        )

    def objectives(self) -> tuple[str, ...]:
        """The objectives the served model weighs (a request's weights name these)."""
        if self.policy is not None:
            return self.policy.objectives
        if self.ranker is not None:
            return self.ranker.tasks
        return (RELEVANCE,)

    def preference(
        self, names: Sequence[str], requested: Mapping[str, float] | None, policy: Policy | None
    ) -> tuple[Preference, str]:
        if requested is not None:
            try:
                return Preference.of(names, requested), "request"
            except PreferenceError as error:
                message = str(error)
                if RELEVANCE in requested and RELEVANCE not in names:
                    message += f"; retrain with {RELEVANCE} to weigh it"
                raise RequestError(message) from error
        if self.preferred is not None and self.preferred.names == tuple(names):
            return self.preferred, "default"
        if policy is not None and policy.default_preference is not None:
            return policy.default_preference, "default"
        default = self.default_weights
        if default is not None and set(default) <= set(names) and sum(default.values()) > 0:
            return Preference.of(names, default), "default"
        return Preference.uniform(names), "default"

    # ------------------------------------------------------------ catalog changes

    def upsert_items(self, catalog: Catalog) -> tuple[list[str], list[str]]:
        """Add new items and update known ones, everywhere at once; (added, updated) ids.

        All or nothing: every value is converted as the store will hold it and every text
        vector checked before the store, the indexes or the recommender change; a refused
        value is a `RequestError` and leaves them all as they were."""
        vectors = self.encoder.encode_items(item_text(catalog))
        with self.lock.writing():
            try:
                prepared = self.store.prepare(catalog, vectors)
            except ItemValueError as error:
                raise RequestError(str(error)) from error
            new, known = self.store.split_new(catalog)
            frame = catalog.frame
            ids = list(prepared.ids)
            fresh = set(new)
            new_rows = [i for i, item_id in enumerate(ids) if item_id in fresh]
            known_rows = [i for i, item_id in enumerate(ids) if item_id not in fresh]
            if known_rows:
                self.retriever.update_items(Catalog(frame[known_rows]), vectors[known_rows])
            if new_rows:
                self.retriever.add_items(Catalog(frame[new_rows]), vectors[new_rows])
                if self.recommender is not None:
                    self.recommender.add_items(Catalog(frame[new_rows]), vectors[new_rows])
            self.store.apply(prepared)
            if self.second_stage is not None:  # its item-side arrays, by index position
                self.second_stage.items_upserted(ids, catalog, vectors)
            rows = self.store.rows_of(ids)
            for stage in (self.ranker, self.policy):
                if stage is not None:
                    stage.refresh(rows)
        return new, known

    def observe_events(self, events: Sequence[tuple[str, str, str]]) -> int:
        """Feed (user, item, event) interactions, oldest first, to the recommender's online
        counts (clicks, carts and purchases: an impression is not interest); how many
        it counted."""
        if self.recommender is None:
            return 0
        by_user: dict[str, list[str]] = {}
        for user, item, event in events:
            if event in INTEREST_EVENTS:
                by_user.setdefault(user, []).append(item)
        if not by_user:
            return 0
        with self.lock.writing():
            return sum(self.recommender.observe(user, items) for user, items in by_user.items())

    def remove_item(self, item_id: str) -> None:
        with self.lock.writing():
            if item_id not in self.store:
                raise UnknownItemError(item_id)
            self.retriever.remove_items([item_id])
            if self.second_stage is not None:
                self.second_stage.items_removed([item_id])
            if self.recommender is not None:
                self.recommender.remove_items([item_id])
            self.store.remove(item_id)
