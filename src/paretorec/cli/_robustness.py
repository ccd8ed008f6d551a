"""`paretorec robustness`: stress scenarios swept over strength, with and without defences."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from paretorec.cli._shared import (
    EmbeddingCache,
    _embedding_cache,
    _encoder,
    app,
    console,
    fails_cleanly,
    progress_bar,
    spinner,
)

if TYPE_CHECKING:
    from paretorec.robustness import Defences, Evaluator, Target


def _strengths(text: str | None) -> list[float] | None:
    if text is None:
        return None
    try:
        return [float(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise ValueError(f"--strengths must be numbers separated by commas, got {text!r}") from None


def _defence_sets(
    defended: bool, undefended: bool, defences: str, targets: set[Target]
) -> list[Defences]:
    from paretorec.robustness import Defences, Target
    from paretorec.robustness.recommend_eval import RecommendEvaluator
    from paretorec.robustness.search_eval import SearchEvaluator

    both = defended == undefended  # neither flag (or both): side by side
    honours = {Target.SEARCH: SearchEvaluator.honours, Target.RECOMMEND: RecommendEvaluator.honours}
    chosen = Defences.honoured(defences, {t: honours[t] for t in targets if t in honours})
    if (defended or both) and not chosen.on:
        raise ValueError("--defended needs at least one defence in --defences")
    sets = []
    if undefended or both:
        sets.append(Defences.none())
    if defended or both:
        sets.append(chosen)
    return sets


def _evaluators(
    model: Path | None, cache: Path | None, seed: int
) -> dict[Target, Callable[[], Evaluator]]:
    """How each target's pipeline is measured (search: `SearchEvaluator`), built on demand
    so that a run loads only what its scenarios need."""
    from paretorec.robustness import Target
    from paretorec.robustness.recommend_eval import RecommendEvaluator
    from paretorec.robustness.search_eval import SearchEvaluator

    return {
        Target.SEARCH: lambda: SearchEvaluator(_encoder(model), _embedding_cache(cache), seed=seed),
        Target.RECOMMEND: lambda: RecommendEvaluator(seed=seed),
    }


@app.command("robustness")
@fails_cleanly
def robustness(
    data: Annotated[Path, typer.Option("--data", help="Dataset folder (the data contract).")],
    scenarios: Annotated[
        str,
        typer.Option(
            help="Scenarios to run, comma-separated (search: typos, abbreviations, stuffing, "
            "missing-attributes, wrong-attributes; recommendation: click-noise, "
            "click-noise-position, click-spam, cold-catalog)."
        ),
    ],
    out: Annotated[
        Path, typer.Option(help="Report folder: report.md, report.json, a PNG per scenario.")
    ],
    strengths: Annotated[
        str | None,
        typer.Option(help="Strengths to sweep, e.g. 0,0.1,0.2,0.4 (default: each scenario's)."),
    ] = None,
    defended: Annotated[
        bool, typer.Option("--defended", help="Only the defended pipeline (default: both).")
    ] = False,
    undefended: Annotated[
        bool, typer.Option("--undefended", help="Only today's pipeline (default: both).")
    ] = False,
    defences: Annotated[
        str,
        typer.Option(
            help="Defences of the defended run, comma-separated (search: stuffing, fuzzy, "
            "abbreviations; "
            "recommendation: actor-caps), or 'all' (every one the scenarios' target honours)."
        ),
    ] = "all",
    seed: Annotated[int, typer.Option(help="Seed of the scenarios and of the query split.")] = 0,
    model: Annotated[
        Path | None,
        typer.Option(help="Encoder model folder (default: the bundled all-MiniLM-L6-v2)."),
    ] = None,
    cache: EmbeddingCache = None,
) -> None:
    """Run stress scenarios at increasing strength against the pipeline, with and without defences; write curves, a table and the strength at which each objective loses 10%."""
    import paretorec.robustness.events  # noqa: F401  (registers the event scenarios)
    from paretorec.data.validate import load_dataset
    from paretorec.robustness import parse_scenarios
    from paretorec.robustness.report import run_robustness, steps, write_report

    chosen = parse_scenarios(scenarios)
    sets = _defence_sets(defended, undefended, defences, {s.target for s in chosen})
    levels = _strengths(strengths)
    factories = _evaluators(model, cache, seed)
    for scenario in chosen:
        if scenario.target not in factories:
            raise ValueError(
                f"scenario {scenario.name!r} stresses {scenario.target.value}; "
                f"this command measures {', '.join(t.value for t in factories)}"
            )
    evaluators = {t: factories[t]() for t in {s.target for s in chosen}}
    with spinner(f"reading {data}"):
        dataset = load_dataset(data)
    with progress_bar("measuring", steps(chosen, len(sets), levels)) as advance:
        report = run_robustness(
            dataset,
            chosen,
            evaluators,
            sets,
            strengths=levels,
            seed=seed,
            on_step=lambda _: advance(1),
        )
    for path in write_report(report, out):
        console.print(f"wrote {path}")
    for point in report.loss_points():
        at = point["strength"]
        when = f"at {at:.3f}" if isinstance(at, float) else f"not by {point['beyond']:g}"
        console.print(
            f"{point['scenario']} [{point['defences']}] {point['objective']}: 10% lost {when}",
            markup=False,
        )
