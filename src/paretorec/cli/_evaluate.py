"""`paretorec eval front` and `eval ope`: reports on trade-off fronts and off-policy estimates."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from paretorec.cli._shared import (
    _read_table,
    console,
    evaluate_app,
    fails_cleanly,
    frame_table,
    spinner,
)


@evaluate_app.command("front")
@fails_cleanly
def evaluate_front(
    table: Annotated[
        Path,
        typer.Argument(
            help="CSV, Parquet or JSON: one row per candidate, a column per objective (and optional w_* weight columns)."
        ),
    ],
    objective: Annotated[
        list[str],
        typer.Option(
            "--objective",
            "-o",
            help="An objective column as NAME:max or NAME:min; give two or more.",
        ),
    ],
    out: Annotated[Path, typer.Option(help="Report folder.")] = Path("report"),
    choose: Annotated[
        str, typer.Option(help="How to pick one row: knee, compromise or constrained.")
    ] = "knee",
    target: Annotated[
        str | None, typer.Option(help="With --choose constrained: the objective to make best.")
    ] = None,
    at_least: Annotated[
        list[str] | None,
        typer.Option(
            help="With --choose constrained: NAME=FRACTION, e.g. ndcg=0.97 (at least 97% of the best ndcg)."
        ),
    ] = None,
) -> None:
    """The Pareto front of a table of trade-offs, its hypervolume, and the row to pick."""
    import polars as pl

    from paretorec.evaluate.front_report import (
        Choice,
        ObjectiveSpec,
        analyse_front,
        write_front_report,
    )

    specs = [ObjectiveSpec.parse(text) for text in objective]
    bounds: dict[str, float] = {}
    for item in at_least or []:
        name, sep, fraction = item.partition("=")
        if not sep:
            raise ValueError(f"--at-least {item!r}: expected NAME=FRACTION")
        bounds[name.strip()] = float(fraction)
    try:
        choice = Choice(choose)
    except ValueError:
        raise ValueError(
            f"--choose must be one of {', '.join(c.value for c in Choice)}, got {choose!r}"
        ) from None
    analysis = analyse_front(
        _read_table(table), specs, choice=choice, target=target, min_fraction_of_best=bounds
    )
    written = write_front_report(analysis, out)
    chosen = analysis.table.filter(pl.col("chosen")).drop("chosen", "pareto_rank")
    console.print(
        frame_table(
            analysis.front.drop("chosen", "pareto_rank"),
            f"Pareto front: {analysis.front.height} of {analysis.table.height} rows",
        )
    )
    console.print(frame_table(chosen, f"chosen by {choice.value}"))
    hv = analysis.hypervolume
    console.print(
        f"hypervolume {hv.value:.6g}" + (f" ± {hv.std_error:.2g}" if hv.std_error else " (exact)")
    )
    for path in written:
        console.print(f"  wrote {path}")


@evaluate_app.command("ope")
@fails_cleanly
def evaluate_ope(
    folder: Annotated[
        Path,
        typer.Argument(
            help="Dataset folder whose events hold impressions with position and propensity."
        ),
    ],
    target: Annotated[
        str,
        typer.Option(
            help="Policy to judge: uniform, greedy-ctr or softmax-ctr (fitted on the first part of the log)."
        ),
    ] = "softmax-ctr",
    out: Annotated[Path, typer.Option(help="Report folder.")] = Path("report"),
    reward_event: Annotated[
        str, typer.Option(help="Which event is the reward: click, cart or purchase.")
    ] = "click",
    temperature: Annotated[
        float, typer.Option(help="softmax-ctr: temperature over the standardized rates.")
    ] = 1.0,
    fit_fraction: Annotated[
        float,
        typer.Option(
            help="Share of the log (earliest first) that fits the target; the rest judges it."
        ),
    ] = 0.5,
    n_bootstrap: Annotated[
        int, typer.Option(help="Bootstrap replicates for the intervals.")
    ] = 1000,
    alpha: Annotated[float, typer.Option(help="1 - confidence of the intervals.")] = 0.05,
    clip: Annotated[
        float | None,
        typer.Option(help="Also report IPS with importance weights capped at this value."),
    ] = None,
    seed: Annotated[
        int, typer.Option(help="Seed of the reward model's folds and the bootstrap.")
    ] = 0,
) -> None:
    """Estimate what another policy would earn from logged data (IPS, SNIPS, DM, DR, SNDR, Switch-DR)."""
    from paretorec.data.validate import load_dataset
    from paretorec.evaluate.ope_report import TargetPolicy, analyse_ope, write_ope_report
    from paretorec.types import EventType

    targets = {t.value: t for t in TargetPolicy}
    if target not in targets:
        raise ValueError(f"--target must be one of {', '.join(targets)}, got {target!r}")
    rewards = {e.value: e for e in EventType if e is not EventType.IMPRESSION}
    if reward_event not in rewards:
        raise ValueError(
            f"--reward-event must be one of {', '.join(rewards)}, got {reward_event!r}"
        )
    with spinner(f"reading {folder}"):
        dataset = load_dataset(folder)
    with spinner("fitting the reward model and bootstrapping"):
        analysis = analyse_ope(
            dataset,
            target=targets[target],
            reward_event=rewards[reward_event],
            temperature=temperature,
            fit_fraction=fit_fraction,
            n_bootstrap=n_bootstrap,
            alpha=alpha,
            clip=clip,
            seed=seed,
        )
    written = write_ope_report(analysis, out)
    console.print(analysis.description, soft_wrap=True)
    logged = analysis.logged
    console.print(
        f"logged policy: {logged.mean:.6g} [{logged.lower:.6g}, {logged.upper:.6g}] over {analysis.n_rounds_eval:,} rounds"
    )
    console.print(
        frame_table(analysis.table, f"{target}: estimated {reward_event} rate per impression")
    )
    for path in written:
        console.print(f"  wrote {path}")


# ----------------------------------------------------------------------------- simulate
