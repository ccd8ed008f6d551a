"""The HTTP boundary: pydantic models of every request and response, with size limits.

Limits keep one request's work bounded: a query of at most `MAX_QUERY_CHARS` characters,
`k` up to `MAX_K`, at most `MAX_SESSION_ITEMS` session items, `MAX_ITEMS_PER_REQUEST`
items per catalog change and `MAX_EVENTS_PER_REQUEST` events per feedback batch. Unknown
fields are refused (a misspelt `wieghts` is an error, not a silent default), and so is a
count given as anything but a JSON integer (`"10"` or `true` for `k`). Every value must
fit where it is kept: integers in 64 bits, date-times ISO 8601 text within the years 1
to 9999 in UTC (naive ones are taken as UTC).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    field_validator,
    model_validator,
)

from paretorec.preference import normalized
from paretorec.serve.registry import ModelKind
from paretorec.types import EventType

MAX_QUERY_CHARS = 512
MAX_K = 100
MAX_SESSION_ITEMS = 100
MAX_EXCLUDE = 1000
MAX_ITEMS_PER_REQUEST = 1000
MAX_EVENTS_PER_REQUEST = 1000
MAX_ID_CHARS = 128
MAX_TITLE_CHARS = 1000
MAX_DESCRIPTION_CHARS = 10_000
MAX_WEIGHTS = 32
MAX_BRANDS = 50
MAX_POSITION = 10_000
MAX_INT64 = 2**63 - 1

Id = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_ID_CHARS)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_TITLE_CHARS)]


def _in_utc(value: datetime) -> datetime:
    """The date-time in UTC (naive is taken as UTC); refused when UTC has no such year."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError(
            f"{value.isoformat()} is out of range: in UTC it falls outside the years 1 to 9999"
        ) from None


def _iso_text(value: object) -> object:
    """The OpenAPI document says date-times are ISO 8601 strings: a number is refused
    (pydantic would read it as unix seconds, which no client can tell from the schema)."""
    if not isinstance(value, str | datetime):
        raise ValueError("give the date-time as ISO 8601 text, e.g. 2024-11-01T10:00:00Z")
    return value


UtcDateTime = Annotated[datetime, BeforeValidator(_iso_text), AfterValidator(_in_utc)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_weights(weights: dict[str, float] | None) -> dict[str, float] | None:
    """The request's own checks (the objective names are the pipeline's, by
    `paretorec.preference.Preference.of`): not empty, not too many, a valid trade-off."""
    if weights is None:
        return None
    if not weights:
        raise ValueError("weights is empty: omit it for the default weights")
    if len(weights) > MAX_WEIGHTS:
        raise ValueError(f"at most {MAX_WEIGHTS} weights")
    normalized(list(weights.values()), len(weights))
    return weights


class FiltersIn(_Strict):
    """Which items may be returned (all conditions must hold)."""

    category: ShortText | None = Field(
        None, description="A prefix of the `>`-separated category path, by whole segments."
    )
    min_price: float | None = Field(None, ge=0, allow_inf_nan=False)
    max_price: float | None = Field(None, ge=0, allow_inf_nan=False)
    in_stock: bool = False
    brands: list[Id] | None = Field(None, min_length=1, max_length=MAX_BRANDS)

    @model_validator(mode="after")
    def _price_range(self) -> FiltersIn:
        if (
            self.min_price is not None
            and self.max_price is not None
            and self.min_price > self.max_price
        ):
            raise ValueError(f"min_price {self.min_price} is above max_price {self.max_price}")
        if self.category is not None and not self.category.strip(" >"):
            raise ValueError("category is empty")
        return self


WeightsField = Field(
    None,
    description=(
        "Objective weights by name: the served model's objectives (GET /explorer/config "
        "lists them), non-negative, not all 0, normalized to sum to 1; objectives left out "
        "get 0. Omit for the promoted default."
    ),
    min_length=1,
    max_length=MAX_WEIGHTS,
    examples=[{"relevance": 1.0}],  # the served names replace it in /openapi.json
)
Weight = Annotated[float, Field(ge=0, allow_inf_nan=False)]
CollapseField = Field(
    True,
    description=(
        "Show a product listed under several item ids once (same brand and title, "
        "normalized): the best-placed listing stays. false keeps every listing."
    ),
)


class SearchRequest(_Strict):
    query: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_QUERY_CHARS)
    ]
    user_id: Id | None = None
    filters: FiltersIn | None = None
    k: StrictInt = Field(10, ge=1, le=MAX_K)
    weights: dict[str, Weight] | None = WeightsField
    collapse_duplicates: StrictBool = CollapseField

    _weights = field_validator("weights")(_check_weights)


class RecommendRequest(_Strict):
    user_id: Id | None = None
    session_items: list[Id] = Field(
        default_factory=list,
        max_length=MAX_SESSION_ITEMS,
        description="Items of the current session, oldest first.",
    )
    exclude: list[Id] = Field(default_factory=list, max_length=MAX_EXCLUDE)
    filters: FiltersIn | None = None
    k: StrictInt = Field(10, ge=1, le=MAX_K)
    weights: dict[str, Weight] | None = WeightsField
    collapse_duplicates: StrictBool = CollapseField

    _weights = field_validator("weights")(_check_weights)

    @model_validator(mode="after")
    def _someone(self) -> RecommendRequest:
        if self.user_id is None and not self.session_items:
            raise ValueError("give a user_id or session_items (or both)")
        return self


class ItemIn(_Strict):
    """One catalog item, in the data contract's `items` columns."""

    item_id: Id = Field(description="Any text without '/' (it names the item in /items/{id}).")
    title: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TITLE_CHARS)
    ]
    description: Annotated[str, StringConstraints(max_length=MAX_DESCRIPTION_CHARS)] | None = None
    category: ShortText | None = None
    brand: ShortText | None = None
    price: float | None = Field(None, ge=0, allow_inf_nan=False)
    cost: float | None = Field(None, ge=0, allow_inf_nan=False)
    stock: StrictInt | None = Field(None, ge=0, le=MAX_INT64)
    seller_id: Id | None = None
    created_at: UtcDateTime | None = None

    @field_validator("item_id")
    @classmethod
    def _addressable(cls, value: str) -> str:
        if "/" in value:
            raise ValueError(
                f"item_id {value!r} contains '/': /items/{{item_id}} could never name it"
            )
        return value


class ItemsPut(_Strict):
    items: list[ItemIn] = Field(min_length=1, max_length=MAX_ITEMS_PER_REQUEST)

    @model_validator(mode="after")
    def _distinct(self) -> ItemsPut:
        ids = [item.item_id for item in self.items]
        if len(set(ids)) != len(ids):
            twice = sorted({i for i in ids if ids.count(i) > 1})
            raise ValueError(f"item_id appears twice in the request: {twice[:5]}")
        return self


class EventIn(_Strict):
    """One feedback event, in the data contract's `events` columns."""

    user_id: Id
    item_id: Id
    event: EventType
    timestamp: UtcDateTime | None = Field(
        None, description="When it happened; default: on arrival."
    )
    session_id: Id | None = None
    query_id: Id | None = None
    position: StrictInt | None = Field(None, ge=1, le=MAX_POSITION)
    propensity: float | None = Field(None, gt=0, le=1, allow_inf_nan=False)
    propensity_given_above: float | None = Field(None, gt=0, le=1, allow_inf_nan=False)
    value: float | None = Field(None, allow_inf_nan=False)

    @field_validator("event", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value


class EventsPost(_Strict):
    events: list[EventIn] = Field(min_length=1, max_length=MAX_EVENTS_PER_REQUEST)


class PromoteRequest(_Strict):
    kind: ModelKind
    version: Annotated[str, StringConstraints(pattern=r"^v\d{4,}$")]


class RollbackRequest(_Strict):
    kind: ModelKind


# ----------------------------------------------------------------------------- responses


class ScoredItem(BaseModel):
    item_id: str
    rank: int
    title: str | None
    price: float | None
    category: str | None
    brand: str | None
    seller_id: str | None = None
    score: float = Field(
        description="The weighted score that placed the item (sum of contributions)."
    )
    predictions: dict[str, float] = Field(description="Per-objective predictions for this item.")
    contributions: dict[str, float] = Field(
        description="Each objective's weighted contribution to the item's place."
    )
    source: str = Field(description="Where the candidate came from (retriever or recommender).")
    rules: list[str] = Field(
        default_factory=list, description="The shop's rules that moved this item, by name."
    )
    places: dict[str, int] = Field(
        default_factory=dict,
        description="By objective, how many places it moved this item up (its position "
        "without that objective's part of every score, minus its position; negative: moved "
        "down). Empty where the policy cannot say, a rule rearranged the list or the list "
        "was drawn to explore.",
    )
    propensity: float = Field(
        1.0, description="P(this item at this position) under the serving policy (log it)."
    )
    propensity_given_above: float = Field(
        1.0, description="P(this item at this position | the items above it)."
    )


class StageInfo(BaseModel):
    loaded: bool
    version: str | None
    detail: str


class RankedResponse(BaseModel):
    items: list[ScoredItem]
    weights: dict[str, float] = Field(description="The objective weights actually used.")
    weights_source: Literal["request", "default"]
    ordered_by: str = Field(description="Which stage decided the order.")
    stages: dict[str, StageInfo]
    notes: list[str]
    took_ms: float
    explored: bool = Field(
        False, description="Drawn from the policy's distribution (propensities below 1)."
    )


class RecommendResponse(RankedResponse):
    ignored: list[str] = Field(description="Session items that are not in the catalog.")


class ItemsChanged(BaseModel):
    added: list[str]
    updated: list[str]
    items: int = Field(description="Items in the catalog now.")


class ItemRemoved(BaseModel):
    removed: str
    items: int


class EventsAccepted(BaseModel):
    appended: int
    total: int = Field(description="Events in the log now.")


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    items: int
    stages: dict[str, StageInfo]
    events_logged: int | None


class Promoted(BaseModel):
    kind: str
    version: str
    reloaded: bool
