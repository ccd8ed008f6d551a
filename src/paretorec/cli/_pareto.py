"""`paretorec pareto`: the Pareto front of a dataset's ranking trade-offs, as a report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

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
        str | None,
        typer.Option(help="Dataset folder (or a built-in dataset's name, e.g. homedepot)."),
    ] = None,
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
    policy: Annotated[
        str | None,
        typer.Option(
            help="Draw the front a trained policy serves (a version, or 'promoted'), "
            "sweeping w at serving time in its simulator; replaces --data."
        ),
    ] = None,
    divisions: Annotated[
        int, typer.Option(min=1, help="With --policy: the w grid's steps per objective.")
    ] = 4,
    sessions: Annotated[
        int, typer.Option(min=1, help="With --policy: simulated sessions per w.")
    ] = 2000,
    models: Annotated[
        Path | None,
        typer.Option(help="Registry folder (default: $PARETOREC_MODELS or ./models)."),
    ] = None,
    rules: Annotated[
        Path | None,
        typer.Option(
            help="The shop's rules file (as `serve --rules`), applied to every list, so the "
            "front is what the service would show."
        ),
    ] = None,
    simulated_prices: Annotated[
        bool,
        typer.Option(
            "--simulated-prices",
            help="Allow revenue / margin on a dataset without prices, on prices drawn as "
            "the simulator draws them (the report says so).",
        ),
    ] = False,
) -> None:
    """Search the trade-off between objectives and report its Pareto front.

    With --data, a method searches fusion weights on the dataset; with --policy, the front
    is the one a trained preference-conditioned policy serves as w changes.
    """
    if policy is not None:
        _policy_front(
            policy,
            divisions=divisions,
            sessions=sessions,
            seed=seed,
            out=out,
            models=models,
            rules=rules,
        )
        return
    if data is None:
        raise ValueError("give --data DIR (or --policy VERSION)")
    import polars as pl

    from paretorec.serve.constraints import read_shop_constraints

    shop = None if rules is None else read_shop_constraints(rules)

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
            constraints=shop,
            simulated_prices=simulated_prices,
        )
    result, summary = run.result, run.summary
    console.print(
        f"{summary.task}: {summary.n_kept} of {summary.n_tried} requests have a relevant "
        f"candidate ({summary.candidate_source})"
    )
    for note in summary.notes:
        console.print(f"[yellow]note:[/yellow] {note}")
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


def _policy_front(
    version: str,
    *,
    divisions: int,
    sessions: int,
    seed: int,
    out: Path,
    models: Path | None,
    rules: Path | None = None,
) -> None:
    """The served front of a policy version: greedy lists for each w of a simplex grid
    (under the shop's `rules` where given), measured with the simulator's exact expected
    feedback, written as a front report."""
    import polars as pl

    from paretorec.evaluate.front_report import ObjectiveSpec, analyse_front, write_front_report
    from paretorec.moo import Direction
    from paretorec.policy import load_policy, served_front
    from paretorec.preference import simplex_grid
    from paretorec.serve.registry import ModelKind, ModelRegistry, default_models_dir

    registry = ModelRegistry(models if models is not None else default_models_dir())
    folder, manifest = registry.load(ModelKind.POLICY, None if version == "promoted" else version)
    trained, _ = load_policy(folder)
    names = list(trained.config.objectives)
    grid = simplex_grid(len(names), divisions)
    with progress_bar(f"policy {manifest.version}: serving each w", len(grid)) as advance:
        if rules is None:
            front = served_front(folder, grid, n_sessions=sessions, seed=seed, on_progress=advance)
        else:
            front = _constrained_front(folder, rules, grid, sessions, seed, advance)
    columns: dict[str, object] = {"method": [f"policy {manifest.version}"] * len(grid)}
    for j, name in enumerate(front.objectives):
        columns[f"w_{name}"] = front.weights[:, j]
    for j, name in enumerate(front.objectives):
        columns[name] = front.values[:, j]
    analysis = analyse_front(
        pl.DataFrame(columns),
        [ObjectiveSpec(n, Direction.MAXIMIZE) for n in front.objectives],
        seed=seed,
    )
    written = write_front_report(analysis, out)
    table = analysis.table.drop("chosen", "pareto_rank", "method")
    console.print(
        frame_table(table, f"policy {manifest.version}: the front it serves, one row per w")
    )
    console.print(f"hypervolume {analysis.hypervolume.value:.6g}")
    for path in written:
        console.print(f"  wrote {path}")


def _constrained_front(
    folder: Path, rules: Path, grid: Any, sessions: int, seed: int, advance: Any
) -> Any:
    """`served_front` with the rules file applied to each session's list: the policy
    orders every candidate, then the lists are built as the service builds them."""
    from paretorec.constraints import constrain_orders
    from paretorec.policy import load_policy
    from paretorec.policy.front import front_of, task_from_saved
    from paretorec.policy.serving import rank
    from paretorec.serve.constraints import read_shop_constraints

    shop = read_shop_constraints(rules)
    if shop.exposure is not None or shop.relevance_floor is not None:
        raise ValueError(
            f"{rules}: a policy's front in the simulator applies block, caps, pins and "
            "fair_topk; exposure and relevance_floor need the candidates' relevance: use --data"
        )
    trained, meta = load_policy(folder)
    task = task_from_saved(meta, trained)
    records = task.world.items_frame().to_dicts()
    k = task.spec.list_size

    def ranked(obs: Any, inputs: Any, w: Any) -> Any:
        full = rank(trained, inputs, w, obs.n_candidates).items
        candidates = [[records[i] for i in row.tolist()] for row in obs.candidates]
        return constrain_orders(full, candidates, k, shop.lists)

    return front_of(task, ranked, grid, n_sessions=sessions, seed=seed, on_progress=advance)
