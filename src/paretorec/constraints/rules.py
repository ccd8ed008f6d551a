"""Business rules no weight can override: blocked items, caps per seller or brand, pins.

A shop writes its rules as JSON (`RuleSet.from_json`):

    {"block": {"item_ids": ["sku-1"], "brands": ["Acme"], "sellers": ["s9"],
               "categories": ["Toys > Recalled"]},
     "hide_out_of_stock": true,
     "caps": [{"name": "two per seller", "field": "seller_id", "most": 2, "within": 10}],
     "pins": [{"name": "summer promo", "item_id": "sku-7", "position": 1,
               "queries": ["garden hose"]}]}

- blocked items (by id, brand, seller, or category path prefix, by whole segments) and,
  with ``hide_out_of_stock``, items whose stock is 0 never reach a list (`allowed`);
- a cap allows at most `most` items sharing a value of `field` (``seller_id``, ``brand``,
  ``category``) among the first `within` positions (the whole list without `within`);
- a pin puts an item at a position for the requests whose query is one of `queries`
  (every request when there are none), unless it is blocked or would break a cap
  against the pins before it; pins come before the model's order.

`arrange` turns a model's full order into the final list: pins first, then the model's
order, skipping what a cap forbids; each item a rule moved carries the rule's name. The
result never shows a blocked item, never breaks a cap and never repeats an item, by
construction (tested on random lists).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["CAP_FIELDS", "Arranged", "Cap", "Pin", "RuleError", "RuleSet", "arrange"]

CAP_FIELDS = ("seller_id", "brand", "category")
_BLOCK_KEYS = {"item_ids": "item_id", "brands": "brand", "sellers": "seller_id",
               "categories": "category"}  # fmt: skip


class RuleError(ValueError):
    """A rules file that says something impossible or unclear (the message says where)."""


@dataclass(frozen=True)
class Cap:
    name: str
    field: str
    most: int
    within: int | None = None

    def __post_init__(self) -> None:
        if self.field not in CAP_FIELDS:
            raise RuleError(
                f"cap {self.name!r}: field must be one of {CAP_FIELDS}, got {self.field!r}"
            )
        if self.most < 1:
            raise RuleError(f"cap {self.name!r}: most must be >= 1, got {self.most}")
        if self.within is not None and self.within < 1:
            raise RuleError(f"cap {self.name!r}: within must be >= 1, got {self.within}")

    def applies_at(self, position: int) -> bool:
        """Whether the cap counts position (0-based)."""
        return self.within is None or position < self.within


@dataclass(frozen=True)
class Pin:
    name: str
    item_id: str
    position: int  # 1-based
    queries: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if self.position < 1:
            raise RuleError(f"pin {self.name!r}: position must be >= 1, got {self.position}")

    def applies_to(self, query: str | None) -> bool:
        return not self.queries or (query is not None and _normal(query) in self.queries)


def _normal(text: str) -> str:
    return " ".join(text.lower().split())


def _category_blocked(path: object, prefixes: frozenset[str]) -> bool:
    if path is None:
        return False
    segments = [s.strip().lower() for s in str(path).split(">")]
    for prefix in prefixes:
        wanted = [s.strip().lower() for s in prefix.split(">")]
        if segments[: len(wanted)] == wanted:
            return True
    return False


@dataclass(frozen=True)
class RuleSet:
    blocked: Mapping[str, frozenset[str]] = field(default_factory=dict)  # field -> values
    hide_out_of_stock: bool = False
    caps: tuple[Cap, ...] = ()
    pins: tuple[Pin, ...] = ()

    @property
    def empty(self) -> bool:
        return not (any(self.blocked.values()) or self.hide_out_of_stock or self.caps or self.pins)

    @classmethod
    def from_json(cls, raw: Any) -> RuleSet:
        """Rules from their JSON form (see the module docstring); RuleError says what is wrong."""
        if not isinstance(raw, dict):
            raise RuleError("the rules must be a JSON object")
        unknown = sorted(set(raw) - {"block", "hide_out_of_stock", "caps", "pins"})
        if unknown:
            raise RuleError(
                f"unknown rule key(s) {unknown}: use block, hide_out_of_stock, caps, pins "
                "(and exposure or fair_topk)"
            )
        block = raw.get("block", {})
        if not isinstance(block, dict) or set(block) - set(_BLOCK_KEYS):
            raise RuleError(f"block must be an object with keys among {sorted(_BLOCK_KEYS)}")
        blocked: dict[str, frozenset[str]] = {}
        for key, values in block.items():
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                raise RuleError(f"block.{key} must be a list of strings")
            exact = key in ("item_ids", "sellers")  # ids as given; names case-insensitive
            blocked[_BLOCK_KEYS[key]] = frozenset(v if exact else v.strip().lower() for v in values)
        hide = raw.get("hide_out_of_stock", False)
        if not isinstance(hide, bool):
            raise RuleError("hide_out_of_stock must be true or false")
        try:
            caps = tuple(
                Cap(str(c.get("name", f"cap {n + 1}")), str(c["field"]), int(c["most"]),
                    None if c.get("within") is None else int(c["within"]))
                for n, c in enumerate(raw.get("caps", []))
            )  # fmt: skip
            pins = tuple(
                Pin(str(p.get("name", f"pin {n + 1}")), str(p["item_id"]), int(p["position"]),
                    frozenset(_normal(q) for q in p.get("queries", [])))
                for n, p in enumerate(raw.get("pins", []))
            )  # fmt: skip
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            if isinstance(error, RuleError):
                raise
            raise RuleError(f"a cap or pin is malformed: {error!r}") from None
        names = [c.name for c in caps] + [p.name for p in pins]
        if len(set(names)) != len(names):
            raise RuleError(f"rule names repeat: {sorted(n for n in names if names.count(n) > 1)}")
        return cls(blocked, hide, caps, pins)

    def allowed(self, record: Mapping[str, object]) -> bool:
        """Whether an item (its catalog record) may be shown at all."""
        for name, values in self.blocked.items():
            if not values:
                continue
            value = record.get(name)
            if name == "category":
                if _category_blocked(value, values):
                    return False
            elif (
                value is not None
                and (str(value) if name in ("item_id", "seller_id") else str(value).strip().lower())
                in values
            ):
                return False
        if self.hide_out_of_stock:
            stock = record.get("stock")
            if stock is not None and float(stock) <= 0:  # type: ignore[arg-type]
                return False
        return True

    def pins_for(self, query: str | None) -> tuple[Pin, ...]:
        return tuple(p for p in self.pins if p.applies_to(query))


@dataclass(frozen=True)
class Arranged:
    """The final list: candidate indices best first, and the rules that moved each."""

    order: tuple[int, ...]
    moved_by: tuple[tuple[str, ...], ...]
    # each cap that kept items from the positions they would have taken, and how many
    # (an item a cap pushed out of the list carries no name: this counts it too)
    displaced: tuple[tuple[str, int], ...] = ()

    def hits(self) -> list[str]:
        """One name per rule action: pins as they moved items, caps per displaced item."""
        caps = {name for name, _ in self.displaced}
        out = [n for names in self.moved_by for n in names if n not in caps]
        for name, count in self.displaced:
            out += [name] * count
        return out


def arrange(
    order: Sequence[int],
    values: Mapping[str, Sequence[object]],
    k: int,
    caps: Sequence[Cap],
    pins: Mapping[int, Pin],
) -> Arranged:
    """The final top-`k` from a model's full `order` of candidate indices (every allowed
    candidate, best first), filled position by position: a pinned item at its pin's
    position, else the best item of the order that no cap forbids there (an item a cap
    skipped comes back further down, outside the cap's window, named with the cap).
    `values[field][i]` is candidate i's value of a capped field. A pin that would break a
    cap at its position, or whose position an earlier pin took, is not applied (its item
    takes its place in the order like any other); when the order runs out before a pin's
    position, the pinned item comes up to the end of the list."""
    moved: dict[int, list[str]] = {}
    counts: dict[tuple[str, object], int] = {}

    def blocking(index: int, position: int) -> Cap | None:
        for cap in caps:
            value = values[cap.field][index]
            if (
                cap.applies_at(position)
                and value is not None
                and counts.get((cap.name, value), 0) >= cap.most
            ):
                return cap
        return None

    def place(index: int, position: int) -> None:
        for cap in caps:
            value = values[cap.field][index]
            if cap.applies_at(position) and value is not None:
                counts[(cap.name, value)] = counts.get((cap.name, value), 0) + 1

    waiting: dict[int, int] = {}  # pinned item -> its 0-based position, while it waits
    for index, pin in sorted(pins.items(), key=lambda item: item[1].position):
        if pin.position <= k and pin.position - 1 not in waiting.values() and index in order:
            waiting[index] = pin.position - 1
    pool = list(order)
    skipped_by: dict[int, str] = {}
    final: list[int] = []
    for position in range(k):
        chosen = next((i for i, at in waiting.items() if at == position), None)
        if chosen is not None:
            del waiting[chosen]
            if blocking(chosen, position) is None:
                moved[chosen] = [pins[chosen].name]
            else:
                chosen = None  # the pin would break a cap: its item rejoins the order
        if chosen is None:
            for index in pool:
                if index in waiting:
                    continue
                cap = blocking(index, position)
                if cap is None:
                    chosen = index
                    break
                skipped_by.setdefault(index, cap.name)
            if chosen is not None and chosen in skipped_by:
                moved[chosen] = [skipped_by[chosen]]
        if chosen is None:  # the order ran out: a pin waiting further down comes up
            for index in sorted(waiting, key=waiting.__getitem__):
                if blocking(index, position) is None:
                    chosen = index
                    del waiting[index]
                    moved[chosen] = [pins[chosen].name]
                    break
        if chosen is None:
            break
        pool.remove(chosen)
        place(chosen, position)
        final.append(chosen)
    displaced: dict[str, int] = {}
    for name in skipped_by.values():
        displaced[name] = displaced.get(name, 0) + 1
    return Arranged(
        tuple(final),
        tuple(tuple(moved.get(i, ())) for i in final),
        tuple(sorted(displaced.items())),
    )
