"""A report on a set of trade-offs: which are Pareto-optimal, how much of the objective
space they cover, which one to pick, and how each objective moves with each weight.

`analyse_front` is pure: a table with one row per candidate (a weighting, a model, a
configuration) and a column per objective goes in, a typed `FrontAnalysis` comes out.
`versus_best` and `plain_summary` say in plain words, for whoever decides (a
merchandiser, not an analyst), what the rows are, which to take and what it gives up
against each objective's best. `write_front_report` puts it into a folder: `metrics.md`
(that summary first, then the figures with a caption each and the tables), `metrics.json`, `front.png`
(the front with the chosen point marked; a scatter matrix beyond two objectives) and,
when the table has weight columns (`w_<name>`), `weights.png` (each objective against
each weight).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import numpy as np
import polars as pl
from matplotlib.figure import Figure
from numpy.typing import NDArray

from paretorec.moo import (
    Direction,
    HypervolumeResult,
    Selection,
    Threshold,
    axis_label,
    hypervolume,
    pareto_ranks,
    plot_front_2d,
    plot_scatter_matrix,
    select_compromise,
    select_constrained,
    select_knee,
)

WEIGHT_PREFIX = "w_"
# The hypervolume's reference point sits this share of each objective's range beyond the
# worst value seen (the usual "nadir + 10%"), so extreme points still count.
REFERENCE_MARGIN = 0.1
FRONT_CAPTION = (
    "*front.png*: each dot is one row, placed by its objective values (one panel per pair "
    "of objectives when there are more than two): the front's rows in blue, the rows they "
    "beat in grey, and the star the row to take, labelled with its row number (counting "
    "from 0) and values."
)
WEIGHTS_CAPTION = (
    "*weights.png*: how each objective moves as one weight grows (rows sorted by that "
    "weight; where the other weights change too, the line can zigzag); the star is the row "
    "to take."
)


class Choice(StrEnum):
    KNEE = "knee"
    COMPROMISE = "compromise"
    CONSTRAINED = "constrained"


@dataclass(frozen=True)
class ObjectiveSpec:
    """An objective column and whether more of it is better."""

    name: str
    direction: Direction

    @classmethod
    def parse(cls, text: str) -> ObjectiveSpec:
        """`revenue:max`, `latency:min`, or a bare name (maximized)."""
        name, _, direction = text.partition(":")
        words = {
            "max": Direction.MAXIMIZE,
            "maximize": Direction.MAXIMIZE,
            "min": Direction.MINIMIZE,
            "minimize": Direction.MINIMIZE,
        }
        if not name.strip():
            raise ValueError(f"objective {text!r} has no name")
        if direction and direction.lower() not in words:
            raise ValueError(f"objective {text!r}: direction must be max or min, got {direction!r}")
        return cls(name.strip(), words[direction.lower()] if direction else Direction.MAXIMIZE)


@dataclass(frozen=True)
class FrontAnalysis:
    objectives: tuple[ObjectiveSpec, ...]
    table: pl.DataFrame  # the input, plus `pareto_rank` (0 = on the front) and `chosen`
    reference: tuple[float, ...]
    hypervolume: HypervolumeResult
    selection: Selection
    choice: Choice

    @property
    def front(self) -> pl.DataFrame:
        return self.table.filter(pl.col("pareto_rank") == 0)

    @property
    def weight_columns(self) -> list[str]:
        return [c for c in self.table.columns if c.startswith(WEIGHT_PREFIX)]

    def to_dict(self) -> dict[str, object]:
        return {
            "objectives": [
                {"name": o.name, "direction": o.direction.value} for o in self.objectives
            ],
            "n_points": self.table.height,
            "n_front": self.front.height,
            "hypervolume": self.hypervolume.value,
            "hypervolume_std_error": self.hypervolume.std_error,
            "hypervolume_algorithm": self.hypervolume.algorithm,
            "reference": list(self.reference),
            "choice": self.choice.value,
            "chosen": self.table.row(self.selection.index, named=True),
            "front": self.front.to_dicts(),
        }


def _matrix(table: pl.DataFrame, objectives: Sequence[ObjectiveSpec]) -> NDArray[np.float64]:
    missing = [o.name for o in objectives if o.name not in table.columns]
    if missing:
        raise ValueError(
            f"no column for objective(s) {', '.join(missing)}; columns: {', '.join(table.columns)}"
        )
    try:
        values = table.select([pl.col(o.name).cast(pl.Float64) for o in objectives]).to_numpy()
    except pl.exceptions.PolarsError as error:
        raise ValueError(f"objective columns must be numbers: {error}") from error
    return np.asarray(values, dtype=np.float64)


def default_reference(
    points: NDArray[np.float64], directions: Sequence[Direction]
) -> tuple[float, ...]:
    """The worst value of each objective, moved `REFERENCE_MARGIN` of its range further."""
    reference = []
    for column, direction in zip(points.T, directions, strict=True):
        spread = float(column.max() - column.min()) or max(abs(float(column.max())), 1.0)
        worst = column.min() if direction is Direction.MAXIMIZE else column.max()
        step = REFERENCE_MARGIN * spread
        reference.append(float(worst - step if direction is Direction.MAXIMIZE else worst + step))
    return tuple(reference)


def analyse_front(
    table: pl.DataFrame,
    objectives: Sequence[ObjectiveSpec],
    *,
    choice: Choice = Choice.KNEE,
    target: str | None = None,
    min_fraction_of_best: dict[str, float] | None = None,
    reference: Sequence[float] | None = None,
    seed: int = 0,
) -> FrontAnalysis:
    """Rank the rows, measure the front's hypervolume and pick one row.

    `choice=constrained` picks the best `target` among rows whose other objectives reach
    `min_fraction_of_best[name]` of their best (e.g. revenue with NDCG ≥ 0.97 × best).
    """
    if len(objectives) < 2:
        raise ValueError("a trade-off needs at least two objectives")
    if len({o.name for o in objectives}) != len(objectives):
        raise ValueError("an objective is named twice")
    if table.is_empty():
        raise ValueError("the table has no rows")
    points = _matrix(table, objectives)
    directions = [o.direction for o in objectives]
    ranks = pareto_ranks(points, directions)
    names = [o.name for o in objectives]
    if choice is Choice.KNEE:
        selection = select_knee(points, directions)
    elif choice is Choice.COMPROMISE:
        selection = select_compromise(points, directions)
    else:
        if target is None or target not in names:
            raise ValueError(
                f"constrained choice needs a target among the objectives ({', '.join(names)})"
            )
        bounds = min_fraction_of_best or {}
        unknown = [n for n in bounds if n not in names]
        if unknown:
            raise ValueError(f"threshold on unknown objective(s): {', '.join(unknown)}")
        thresholds = [Threshold(names.index(n), fraction_of_best=f) for n, f in bounds.items()]
        selection = select_constrained(
            points, directions, objective=names.index(target), thresholds=thresholds
        )
    ref = tuple(reference) if reference is not None else default_reference(points, directions)
    if len(ref) != len(objectives):
        raise ValueError(
            f"the reference point has {len(ref)} values for {len(objectives)} objectives"
        )
    volume = hypervolume(points, ref, directions, seed=seed)
    marked = table.with_columns(
        pl.Series("pareto_rank", ranks),
        (pl.int_range(pl.len()) == selection.index).alias("chosen"),
    )
    return FrontAnalysis(tuple(objectives), marked, ref, volume, selection, choice)


_CHOICE_WHY = {
    Choice.KNEE: "the knee: the row where giving up more of one objective would buy "
    "little of the others",
    Choice.COMPROMISE: "the compromise: the row closest to an ideal that is best at "
    "everything at once (each objective scaled to its range)",
    Choice.CONSTRAINED: "the rule you set: the best of the target among rows that keep the "
    "other objectives above their floors",
}


def row_label(table: pl.DataFrame, index: int) -> str:
    """How the summary names a row: ``row #N`` (counting from 0, as front.png labels the
    chosen point) with its first text column's value, else its weights."""
    for column, dtype in table.schema.items():
        if dtype == pl.String:
            value = table[column][index]
            if value is not None and str(value).strip():
                return f"row #{index} ({column} {value})"
    weights = [c for c in table.columns if c.startswith(WEIGHT_PREFIX)]
    if weights:
        return f"row #{index} (" + ", ".join(f"{c} {table[c][index]:.3g}" for c in weights) + ")"
    return f"row #{index}"


@dataclass(frozen=True)
class VersusBest:
    """The chosen row against the best row on one objective."""

    objective: ObjectiveSpec
    chosen: float
    best: float
    best_row: str
    change: float | None  # (chosen - best) / |best|; None when the best is 0

    def sentence(self) -> str:
        name = self.objective.name
        if self.chosen == self.best:
            return f"{name}: {self.chosen:.4g}, the best of all rows"
        gap = f"{abs(self.change):.0%} " if self.change is not None else ""
        worse = "less" if self.objective.direction is Direction.MAXIMIZE else "more"
        return f"{name}: {self.chosen:.4g}, {gap}{worse} than the best, {self.best:.4g} of {self.best_row}"


def versus_best(analysis: FrontAnalysis) -> list[VersusBest]:
    """For each objective, the chosen row's value beside the best row's (pure)."""
    points = _matrix(analysis.table, analysis.objectives)
    chosen = points[analysis.selection.index]
    out = []
    for j, objective in enumerate(analysis.objectives):
        column = points[:, j]
        best_index = int(
            np.argmax(column) if objective.direction is Direction.MAXIMIZE else np.argmin(column)
        )
        best = float(column[best_index])
        change = (float(chosen[j]) - best) / abs(best) if best != 0 else None
        out.append(
            VersusBest(
                objective,
                float(chosen[j]),
                best,
                row_label(analysis.table, best_index),
                change,
            )
        )
    return out


def plain_summary(analysis: FrontAnalysis) -> list[str]:
    """Markdown lines that read as a decision: what the rows are, which to take, what it
    gives up, and the other rows worth considering."""
    table = analysis.table
    chosen_label = row_label(table, analysis.selection.index)
    n_front, n = analysis.front.height, table.height
    lines = [
        "## In plain words",
        "",
        f"Each of the {n} rows is one way to rank the shop's lists (a weighting of the "
        "objectives, a model, a configuration), measured on "
        + ", ".join(
            f"{o.name} ({'more' if o.direction is Direction.MAXIMIZE else 'less'} is better)"
            for o in analysis.objectives
        )
        + ".",
        "",
        f"- **{n_front} of {n} rows {'is' if n_front == 1 else 'are'} worth considering** "
        "(the Pareto front): for each of "
        "them, no other row is at least as good on every objective. "
        + (
            f"The other {n - n_front} {'is' if n - n_front == 1 else 'are'} beaten on every "
            "count by some front row: never pick " + ("it." if n - n_front == 1 else "them.")
            if n > n_front
            else "No row is beaten on every count."
        ),
        f"- **Take {chosen_label}.** It is {_CHOICE_WHY[analysis.choice]}.",
        "- What it gives up against the best row on each objective:",
    ]
    lines += [f"  - {item.sentence()}" for item in versus_best(analysis)]
    alternatives: list[str] = []
    points = _matrix(table, analysis.objectives)
    for j, objective in enumerate(analysis.objectives):
        column = points[:, j]
        best_index = int(
            np.argmax(column) if objective.direction is Direction.MAXIMIZE else np.argmin(column)
        )
        if best_index == analysis.selection.index:
            continue
        costs = []
        for i, other in enumerate(analysis.objectives):
            if i == j:
                continue
            chosen_value = float(points[analysis.selection.index, i])
            value = float(points[best_index, i])
            relative = (value - chosen_value) / abs(chosen_value) if chosen_value else None
            costs.append(
                f"{other.name} {value:.4g}"
                + (f" ({relative:+.0%} against the chosen row)" if relative is not None else "")
            )
        most = "most" if objective.direction is Direction.MAXIMIZE else "least"
        alternatives.append(
            f"  - {most} {objective.name}: {row_label(table, best_index)}, with "
            f"{objective.name} {float(column[best_index]):.4g}, {', '.join(costs)}"
        )
    if alternatives:
        lines += ["- If one objective matters more than the rest, take its best row instead:"]
        lines += alternatives
    return lines


def _markdown(frame: pl.DataFrame) -> str:
    def cell(value: object) -> str:
        return f"{value:.6g}" if isinstance(value, float) else str(value)

    lines = ["| " + " | ".join(frame.columns) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.iter_rows()]
    return "\n".join(lines)


def _weights_figure(analysis: FrontAnalysis) -> Figure:
    weights = analysis.weight_columns
    objectives = analysis.objectives
    fig = Figure(figsize=(4.0 * len(weights), 3.0 * len(objectives)), layout="constrained")
    axes = fig.subplots(len(objectives), len(weights), squeeze=False)
    for j, weight in enumerate(weights):
        ordered = analysis.table.sort(weight)
        for i, objective in enumerate(objectives):
            ax = axes[i][j]
            ax.plot(
                ordered[weight].to_numpy(),
                ordered[objective.name].to_numpy(),
                marker="o",
                ms=3,
                lw=1,
            )
            chosen = analysis.table.row(analysis.selection.index, named=True)
            ax.plot(
                [chosen[weight]],
                [chosen[objective.name]],
                marker="*",
                ms=12,
                color="tab:red",
                ls="none",
            )
            ax.set_xlabel(weight)
            ax.set_ylabel(axis_label(objective.name, objective.direction))
            ax.grid(alpha=0.3)
    fig.suptitle("each objective against each weight (★ the chosen row)")
    return fig


def write_front_report(
    analysis: FrontAnalysis, folder: Path, *, notes: Sequence[str] = ()
) -> list[Path]:
    """Write the analysis into `folder`; returns the files written. `notes` (what the
    figures rest on that the data did not hold) head the page and go into the JSON."""
    folder.mkdir(parents=True, exist_ok=True)
    names = [o.name for o in analysis.objectives]
    directions = [o.direction for o in analysis.objectives]
    points = _matrix(analysis.table, analysis.objectives)
    written = []
    front_png = folder / "front.png"
    title = f"{analysis.front.height} of {analysis.table.height} on the front; chosen: {analysis.choice.value}"
    if len(names) == 2:
        figure = plot_front_2d(
            points, directions, labels=names, chosen=analysis.selection, title=title
        )
    else:
        figure = plot_scatter_matrix(
            points, directions, labels=names, chosen=analysis.selection, title=title
        )
    figure.savefig(front_png, dpi=100)
    written.append(front_png)
    if analysis.weight_columns:
        weights_png = folder / "weights.png"
        _weights_figure(analysis).savefig(weights_png, dpi=100)
        written.append(weights_png)

    hv = analysis.hypervolume
    hv_text = f"{hv.value:.6g}" + (
        f" ± {hv.std_error:.2g} (Monte Carlo)" if hv.std_error else f" (exact, {hv.algorithm})"
    )
    chosen = analysis.table.filter(pl.col("chosen")).drop("chosen")
    page = [
        "# Trade-off report",
        "",
        *(["## Filled-in data", "", *(f"- **{n}**" for n in notes), ""] if notes else []),
        *plain_summary(analysis),
        "",
        "![front](front.png)",
        "",
        FRONT_CAPTION,
    ]
    if analysis.weight_columns:
        page += ["", "![weights](weights.png)", "", WEIGHTS_CAPTION]
    page += [
        "",
        "## For analysts",
        "",
        "Objectives: " + ", ".join(axis_label(o.name, o.direction) for o in analysis.objectives),
        "",
        f"- rows: {analysis.table.height}, on the Pareto front: {analysis.front.height}",
        f"- hypervolume: {hv_text}, reference point ({', '.join(f'{r:.6g}' for r in analysis.reference)})",
        f"- chosen by {analysis.choice.value}:",
        "",
        _markdown(chosen),
        "",
        "## Pareto front",
        "",
        _markdown(
            analysis.front.drop("chosen").sort(
                names[0], descending=directions[0] is Direction.MAXIMIZE
            )
        ),
    ]
    (folder / "metrics.md").write_text("\n".join(page) + "\n")
    saved = {**analysis.to_dict(), "filled_in_data": list(notes)}
    (folder / "metrics.json").write_text(json.dumps(saved, indent=2, default=str))
    written += [folder / "metrics.md", folder / "metrics.json"]
    return written
