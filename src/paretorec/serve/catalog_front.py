"""The catalog-wide front of the served policy: the `paretorec pareto --policy` report.

That report measures the policy over a grid of weights on many simulated sessions (the
exact expected feedback, not one request's predictions) and writes `metrics.json` with
its Pareto-optimal rows. The explorer looks for the served policy version's report at

    MODELS/fronts/<policy version>/metrics.json

and draws it beside the request's front; `how_to_make` is the command that writes it
there. Everything that can go wrong (no policy, no report, a report of other objectives,
an unreadable file) is a `CatalogFrontUnavailable` whose message the page shows.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "FRONTS_FOLDER",
    "CatalogFront",
    "CatalogFrontUnavailable",
    "how_to_make",
    "read_catalog_front",
    "report_path",
]

FRONTS_FOLDER = "fronts"
_WEIGHT = "w_"


class CatalogFrontUnavailable(Exception):
    """No catalog-wide front to show; the message says why and what to do."""


@dataclass(frozen=True)
class CatalogPoint:
    weights: dict[str, float]
    values: dict[str, float]


@dataclass(frozen=True)
class CatalogFront:
    version: str
    path: Path
    objectives: tuple[str, ...]
    points: tuple[CatalogPoint, ...]  # the report's Pareto-optimal rows
    chosen: int | None  # the report's pick (its knee) among `points`


def report_path(models: Path, version: str) -> Path:
    return models / FRONTS_FOLDER / version / "metrics.json"


def how_to_make(models: Path, version: str) -> str:
    return (
        f"paretorec pareto --policy {version} --models {models} "
        f"--out {models / FRONTS_FOLDER / version}"
    )


def _number(row: dict[str, object], key: str, path: Path) -> float:
    value = row.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CatalogFrontUnavailable(f"{path}: a front row has no number for {key!r}")
    return float(value)


def read_catalog_front(
    models: Path | None, version: str | None, objectives: Sequence[str]
) -> CatalogFront:
    """The report of policy `version` in the registry folder `models`, checked to weigh
    `objectives` (the served policy's)."""
    if models is None:
        raise CatalogFrontUnavailable(
            "this service was not started from a models folder: no pareto report to read"
        )
    if version is None:
        raise CatalogFrontUnavailable(
            "the service has no policy version: the catalog-wide front is a policy's "
            "(train one with `paretorec train policy`)"
        )
    path = report_path(models, version)
    if not path.is_file():
        raise CatalogFrontUnavailable(
            f"no pareto report for policy {version} yet: looked for {path}; "
            f"make one with `{how_to_make(models, version)}`"
        )
    try:
        raw = json.loads(path.read_text())
        named = [str(o["name"]) for o in raw["objectives"]]
        rows = list(raw["front"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise CatalogFrontUnavailable(f"{path}: not a pareto report ({error})") from error
    if sorted(named) != sorted(objectives):
        raise CatalogFrontUnavailable(
            f"{path} weighs {', '.join(named)}, the served policy {', '.join(objectives)}: "
            f"make it again with `{how_to_make(models, version)}`"
        )
    points: list[CatalogPoint] = []
    chosen = None
    for row in rows:
        if not isinstance(row, dict):
            raise CatalogFrontUnavailable(f"{path}: a front row is not an object")
        weights = {n: _number(row, _WEIGHT + n, path) for n in objectives}
        values = {n: _number(row, n, path) for n in objectives}
        if row.get("chosen") is True:
            chosen = len(points)
        points.append(CatalogPoint(weights, values))
    if not points:
        raise CatalogFrontUnavailable(f"{path}: the report's front is empty")
    return CatalogFront(version, path, tuple(objectives), tuple(points), chosen)
