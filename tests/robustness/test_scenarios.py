from __future__ import annotations

import polars as pl
import pytest

from paretorec.robustness.scenarios import (
    Defence,
    Defences,
    Scenario,
    Target,
    get_scenario,
    parse_scenarios,
    register,
)
from paretorec.types import Catalog, Dataset


def _drop_half(dataset: Dataset, strength: float, seed: int) -> Dataset:
    frame = dataset.items.frame
    return Dataset(items=Catalog(frame.head(int(frame.height * (1 - strength)))))


def _dataset() -> Dataset:
    return Dataset(items=Catalog(pl.DataFrame({"item_id": ["a", "b"], "title": ["x", "y"]})))


def test_scenario_checks_its_strengths() -> None:
    with pytest.raises(ValueError, match="start at 0"):
        Scenario("s", "d", Target.SEARCH, (0.1, 0.2), _drop_half)
    with pytest.raises(ValueError, match="ascending"):
        Scenario("s", "d", Target.SEARCH, (0.0, 0.2, 0.2), _drop_half)
    with pytest.raises(ValueError, match="finite"):
        Scenario("s", "d", Target.SEARCH, (0.0, float("nan")), _drop_half)
    with pytest.raises(ValueError, match="commas"):
        Scenario("a,b", "d", Target.SEARCH, (0.0,), _drop_half)


def test_strength_zero_is_identity_and_middle_strength() -> None:
    s = Scenario("drop-test", "d", Target.SEARCH, (0.0, 0.1, 0.2, 0.4), _drop_half)
    data = _dataset()
    assert s.apply(data, 0.0, seed=1) is data
    assert len(s.apply(data, 0.5, seed=1).items) == 1
    assert s.middle_strength == 0.2
    with pytest.raises(ValueError, match=">= 0"):
        s.apply(data, -0.1, seed=1)


def test_registry_looks_up_by_name_and_rejects_unknown() -> None:
    s = register(Scenario("registry-test", "d", Target.SEARCH, (0.0, 0.5), _drop_half))
    assert get_scenario("registry-test") is s
    assert register(s) is s  # idempotent for the same object
    with pytest.raises(ValueError, match="already registered"):
        register(Scenario("registry-test", "other", Target.SEARCH, (0.0,), _drop_half))
    with pytest.raises(ValueError, match="unknown scenario 'nope'"):
        parse_scenarios("registry-test,nope")
    with pytest.raises(ValueError, match="twice"):
        parse_scenarios("registry-test,registry-test")


def test_defences_parse() -> None:
    assert Defences.parse("none") == Defences()
    assert Defence.STUFFING in Defences.parse("stuffing, fuzzy")
    assert Defence.FUZZY not in Defences.parse("stuffing")
    assert Defences.parse("all").on == frozenset(Defence)
    assert Defences.parse("fuzzy,stuffing").label == "fuzzy+stuffing"
    with pytest.raises(ValueError, match="unknown defence 'x'"):
        Defences.parse("stuffing,x")
