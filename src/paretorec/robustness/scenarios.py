"""Stress scenarios and defences: the shared types and their registries.

A `Scenario` is a named, pure, seeded transformation of a `Dataset` swept over a few
strengths (0 = the clean data).  Scenario modules (`search`, `events`, `simulator`)
build their scenarios and `register` them; the report command looks them up by name.
A `Defence` is a named switch; a `Defences` value says which are on for one run.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray

from paretorec.types import Dataset

#: dataset, strength, seed -> the stressed dataset (pure: the input is never changed).
Transform = Callable[[Dataset, float, int], Dataset]


class Target(StrEnum):
    """Which pipeline a scenario stresses (and so which objectives the report measures)."""

    SEARCH = "search"
    RECOMMEND = "recommend"
    POLICY = "policy"


def _check_strength(strength: float, what: str) -> None:
    if not math.isfinite(strength) or strength < 0.0:
        raise ValueError(f"{what}: strength must be a finite number >= 0, got {strength!r}")


@dataclass(frozen=True)
class Scenario:
    """One stress test: `apply(dataset, strength, seed)` returns the stressed dataset.

    `strengths` are the levels the report sweeps, ascending and starting at 0 (the clean
    reference).  Strength 0 is the identity by contract: `apply` returns its input.
    """

    name: str
    description: str
    target: Target
    strengths: tuple[float, ...]
    transform: Transform

    def __post_init__(self) -> None:
        if not self.name or self.name != self.name.strip() or "," in self.name:
            raise ValueError(f"scenario name must be non-empty, without commas: {self.name!r}")
        if not self.strengths or self.strengths[0] != 0.0:
            raise ValueError(f"scenario {self.name}: strengths must start at 0 (the clean data)")
        for s in self.strengths:
            _check_strength(s, f"scenario {self.name}")
        if any(b <= a for a, b in zip(self.strengths, self.strengths[1:], strict=False)):
            raise ValueError(f"scenario {self.name}: strengths must be strictly ascending")

    @property
    def middle_strength(self) -> float:
        """The strength the benchmark goals are stated at: the middle of the non-zero levels."""
        nonzero = self.strengths[1:]
        if not nonzero:
            return 0.0
        return nonzero[(len(nonzero) - 1) // 2]

    def apply(self, dataset: Dataset, strength: float, seed: int) -> Dataset:
        _check_strength(strength, f"scenario {self.name}")
        if strength == 0.0:
            return dataset
        return self.transform(dataset, strength, seed)


_REGISTRY: dict[str, Scenario] = {}


def register(scenario: Scenario) -> Scenario:
    """Add a scenario under its name; a second scenario of the same name is an error."""
    known = _REGISTRY.get(scenario.name)
    if known is not None and known is not scenario:
        raise ValueError(f"scenario {scenario.name!r} is already registered")
    _REGISTRY[scenario.name] = scenario
    return scenario


def scenario_names(target: Target | None = None) -> tuple[str, ...]:
    """The registered names, sorted; only those of `target` when given."""
    return tuple(sorted(n for n, s in _REGISTRY.items() if target is None or s.target is target))


def get_scenario(name: str) -> Scenario:
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(scenario_names()) or "none"
        raise ValueError(f"unknown scenario {name!r}; known: {known}") from None


def parse_scenarios(spec: str) -> tuple[Scenario, ...]:
    """`"typos,stuffing"` -> the scenarios, in the order given; unknown names are an error."""
    names = [n.strip() for n in spec.split(",") if n.strip()]
    if not names:
        raise ValueError("no scenario named; known: " + ", ".join(scenario_names()))
    if len(set(names)) != len(names):
        raise ValueError(f"a scenario is named twice in {spec!r}")
    return tuple(get_scenario(n) for n in names)


class Defence(StrEnum):
    """The switchable defences; each answers the scenarios of one kind."""

    #: lexical index: per-field term-frequency cap / duplicate-term penalty (title stuffing)
    STUFFING = "stuffing"
    #: typo-robust first stage (retrieve/fuzzy.py) fused into the hybrid (typos)
    FUZZY = "fuzzy"
    #: query words read as consonant skeletons of catalog words (``cbnt`` → ``cabinet``,
    #: retrieve/spelling.py) before BM25 sees the query (abbreviations)
    ABBREVIATIONS = "abbreviations"
    #: per-user and per-item caps on counts and training contributions (spam, bots)
    ACTOR_CAPS = "actor-caps"
    #: adversarial perturbations of embedding inputs in the loss (APR, He et al. 2018);
    #: the ranker's `TrainConfig`, measured by bench_robustness_ranker: no target honours it
    ADVERSARIAL = "adversarial"
    #: a loss robust to noisy labels (the ranker's GCE): no target honours it yet
    ROBUST_LOSS = "robust-loss"


@dataclass(frozen=True)
class Defences:
    """Which defences are switched on for one run (none by default: today's pipeline)."""

    on: frozenset[Defence] = frozenset()

    def __contains__(self, defence: object) -> bool:
        return defence in self.on

    @classmethod
    def none(cls) -> Defences:
        return cls()

    @classmethod
    def of(cls, defences: Iterable[Defence]) -> Defences:
        return cls(frozenset(defences))

    @classmethod
    def parse(cls, spec: str) -> Defences:
        """`"stuffing,fuzzy"` (or `"all"`, `"none"`, `""`) -> the set; unknown names are an error."""
        spec = spec.strip()
        if spec in ("", "none"):
            return cls()
        if spec == "all":
            return cls(frozenset(Defence))
        chosen: set[Defence] = set()
        for raw in spec.split(","):
            name = raw.strip()
            try:
                chosen.add(Defence(name))
            except ValueError:
                known = ", ".join(d.value for d in Defence)
                raise ValueError(f"unknown defence {name!r}; known: {known}") from None
        return cls(frozenset(chosen))

    @property
    def label(self) -> str:
        return "+".join(sorted(d.value for d in self.on)) or "none"

    @classmethod
    def honoured(cls, spec: str, honours: Mapping[Target, frozenset[Defence]]) -> Defences:
        """The defences `spec` names for a run over the targets in `honours` (each with the
        defences its evaluator honours): `"all"` is every defence each of them honours; a
        named defence one of them does not honour is an error, never silently ignored."""

        def said(target: Target) -> str:
            names = ", ".join(sorted(d.value for d in honours[target])) or "none"
            return f"{target.value} honours {names}"

        if spec.strip() == "all":
            common = frozenset.intersection(*honours.values()) if honours else frozenset()
            if honours and not common:
                known = "; ".join(said(t) for t in honours)
                raise ValueError(f"no defence is honoured by every target here ({known})")
            return cls(common)
        chosen = cls.parse(spec)
        for target in honours:
            refused = sorted(d.value for d in chosen.on - honours[target])
            if refused:
                raise ValueError(
                    f"defence {', '.join(refused)} not honoured by the {target.value} "
                    f"scenarios ({said(target)})"
                )
        return chosen


@dataclass(frozen=True)
class Measurement:
    """Each objective's value per evaluation unit (test query, user, session), the units
    the same and in the same order for every strength, so the report can take means and
    paired intervals from one thing. Higher is better for every objective."""

    units: tuple[str, ...]
    values: dict[str, NDArray[np.float64]]

    def __post_init__(self) -> None:
        if not self.units:
            raise ValueError("a measurement needs at least one unit")
        for name, column in self.values.items():
            if column.shape != (len(self.units),):
                raise ValueError(
                    f"objective {name!r} has {column.shape} values for {len(self.units)} units"
                )

    @property
    def objectives(self) -> tuple[str, ...]:
        return tuple(self.values)

    def mean(self, objective: str) -> float:
        return float(np.mean(self.values[objective]))


#: measures a (stressed) dataset with the pipeline of one target, with some defences on
Evaluator = Callable[[Dataset, Defences], Measurement]
