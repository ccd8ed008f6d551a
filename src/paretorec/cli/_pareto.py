"""`paretorec pareto`: the Pareto front of a dataset's ranking trade-offs, as a report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import polars as pl
import typer

from paretorec.cli._shared import app, console, fails_cleanly, frame_table, progress_bar


def _bounds(items: list[str] | None) -> dict[str, float]:
    bounds: dict[str, float] = {}
    for item in items or []:
        name, sep, fraction = item.partition("=")
        if not sep:
            raise ValueError(f"--at-least {item!r}: expected NAME=FRACTION")
        bounds[name.strip()] = float(fraction)
    return bounds


@app.command("pareto")
@fails_cleanly
def pareto(
    data: Annotated[
        str,
        typer.Option(help="Dataset folder (or a built-in dataset's name, e.g. homedepot)."),
    ],
    objectives: Annotated[
        str,
        typer.Option(help="Comma-separated objectives, e.g. ndcg,revenue,diversity."),
    ] = "ndcg,revenue,diversity",
    method: Annotated[
        str,
        typer.Option(
            help="weighted-sum, chebyshev, epsilon-constraint, pe-ltr, nsga2, mmr or dpp."
        ),
    ] = "weighted-sum",
    budget: Annotated[int, typer.Option(help="How many weightings to evaluate.")] = 30,
    seed: Annotated[int, typer.Option(help="Seed of the sampling and the methods.")] = 0,
    out: Annotated[Path, typer.Option(help="Report folder.")] = Path("pareto-report"),
    requests: Annotated[
        int, typer.Option(help="Queries or users to sample (those with a relevant candidate).")
    ] = 200,
    candidates: Annotated[int, typer.Option(help="Candidates per request.")] = 100,
    k: Annotated[int, typer.Option(help="List length.")] = 10,
    target: Annotated[
        str | None,
        typer.Option(help="Objective to make best under --at-least (epsilon-constraint, report)."),
    ] = None,
    at_least: Annotated[
        list[str] | None,
        typer.Option(help="NAME=FRACTION of the best, e.g. ndcg=0.97; with --target."),
    ] = None,
) -> None:
    """Search the trade-off between objectives and report its Pareto front."""
    from paretorec.moo.pipeline import MethodSettings, ParetoMethod, pareto_report
    from paretorec.moo.sources import SourceConfig

    chosen = ParetoMethod.parse(method)
    settings = MethodSettings(budget=budget, seed=seed, target=target, at_least=_bounds(at_least))
    source = SourceConfig(n_requests=requests, n_candidates=candidates, k=k, seed=seed)
    with progress_bar(f"{chosen.value}: evaluating weightings", budget) as advance:
        run = pareto_report(
            data,
            objectives,
            method=chosen,
            settings=settings,
            source=source,
            out=out,
            on_progress=advance,
        )
    result, summary = run.result, run.summary
    console.print(
        f"{summary.task}: {summary.n_kept} of {summary.n_tried} requests have a relevant "
        f"candidate ({summary.candidate_source})"
    )
    front = run.analysis.front.drop("chosen", "pareto_rank", "method")
    title = (
        f"{result.method}: {len(result.front)} of {result.n_evaluations} weightings on the front"
    )
    console.print(frame_table(front, title))
    chosen_row = run.analysis.table.filter(pl.col("chosen")).drop("chosen", "pareto_rank", "method")
    console.print(frame_table(chosen_row, f"chosen by {run.analysis.choice.value}"))
    console.print(
        f"hypervolume {result.hypervolume.value:.6g} (reference: the worst value of each)"
    )
    for path in run.written:
        console.print(f"  wrote {path}")
