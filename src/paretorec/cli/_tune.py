"""`paretorec tune`: search a stage's hyperparameters with Optuna, register the choice."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from paretorec.cli._shared import (
    EmbeddingCache,
    EncoderFolder,
    _embedding_cache,
    _encoder,
    app,
    console,
    fails_cleanly,
    frame_table,
    spinner,
)
from paretorec.tune.options import Sampler, TunableStage

if TYPE_CHECKING:
    from optuna.trial import FrozenTrial

    from paretorec.tune.study import Tunable

DEFAULT_EPOCHS = {TunableStage.RANKER: 5, TunableStage.RECOMMENDER: 3}  # their train commands'


def _tunable(
    stage: TunableStage,
    data: Path,
    *,
    epochs: int,
    seed: int,
    text: bool,
    encoder_model: Path | None,
    cache: Path | None,
) -> Tunable[Any]:
    from paretorec.data.validate import load_dataset

    with spinner(f"reading {data}"):
        dataset = load_dataset(data)
    if stage is TunableStage.RECOMMENDER:
        from paretorec.encode import encode_items_cached, item_text
        from paretorec.retrieve.recommend import split_sequences
        from paretorec.tune.recommender import RecommenderTuning

        sequences = split_sequences(dataset)
        encoder = _encoder(encoder_model)
        with spinner("encoding items"):
            vectors = encode_items_cached(
                encoder, item_text(dataset.items), _embedding_cache(cache)
            )
        return RecommenderTuning(sequences, vectors, max_epochs=epochs, seed=seed)
    from paretorec.rank import build_ranker_features
    from paretorec.tune.ranker import RankerTuning

    if dataset.events is None:
        raise ValueError(f"{data} has no events table: the ranker learns from logged exposures")
    with spinner("building features"):
        features = build_ranker_features(
            dataset,
            encoder=_encoder(encoder_model) if text else None,
            cache_dir=_embedding_cache(cache) if text else None,
        )
    return RankerTuning(features, max_epochs=epochs, seed=seed)


def _trial_line(trial: FrozenTrial, objectives: tuple[str, ...]) -> str:
    seconds = trial.duration.total_seconds() if trial.duration is not None else 0.0
    state = trial.state.name.lower()
    if trial.values is not None and state == "complete":
        outcome = "  ".join(f"{n}={v:.4f}" for n, v in zip(objectives, trial.values, strict=True))
    else:
        outcome = str(trial.user_attrs.get("pruned_at") or trial.user_attrs.get("error") or "")
    params = ", ".join(
        f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in trial.params.items()
    )
    return f"trial {trial.number} {state} ({seconds:.1f} s)  {outcome}  [{params}]"


@app.command("tune")
@fails_cleanly
def tune_command(
    stage: Annotated[TunableStage, typer.Argument(help="The stage to tune.")],
    data: Annotated[Path, typer.Option("--data", help="Dataset folder (train/valid/test).")],
    trials: Annotated[
        int,
        typer.Option(
            "--trials", min=1, help="Trials the study holds in the end (earlier runs' count)."
        ),
    ],
    timeout: Annotated[
        float | None,
        typer.Option("--timeout", min=1, help="Start no trial after this many seconds."),
    ] = None,
    models: Annotated[
        Path | None,
        typer.Option("--models", help="Registry folder (default: $PARETOREC_MODELS or ./models)."),
    ] = None,
    study_name: Annotated[
        str | None,
        typer.Option("--study", help="Study name (default: the stage); an existing one resumes."),
    ] = None,
    sampler: Annotated[Sampler, typer.Option("--sampler", help="Optuna's sampler.")] = Sampler.TPE,
    epochs: Annotated[
        int | None,
        typer.Option(min=1, help="Most epochs of a trial's neural models (default: as train)."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the sampler and of training.")] = 0,
    text: Annotated[
        bool, typer.Option("--text/--no-text", help="Ranker: use text-encoder vectors.")
    ] = True,
    encoder_model: EncoderFolder = None,
    cache: EmbeddingCache = None,
) -> None:
    """Search STAGE's hyperparameters with Optuna: each trial trains on DIR's train split
    and is judged on valid (several objectives: the knee of their front is chosen). The
    study is kept in MODELS/tune/STUDY/study.journal, so a stopped run resumes; the chosen
    configuration is trained, measured once on test beside the default configuration,
    registered as a new model version, and reported in MODELS/tune/STUDY/report/."""
    import optuna
    import polars as pl

    from paretorec.serve.registry import ModelKind, ModelRegistry, default_models_dir
    from paretorec.tune.report import write_report
    from paretorec.tune.study import StudyPlace, choose, final_figures, open_study, run_trials

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    root = models if models is not None else default_models_dir()
    place = StudyPlace.under(root, study_name or stage.value)
    max_epochs = epochs if epochs is not None else DEFAULT_EPOCHS[stage]
    tunable = _tunable(
        stage,
        data,
        epochs=max_epochs,
        seed=seed,
        text=text,
        encoder_model=encoder_model,
        cache=cache,
    )
    objectives = tunable.objectives
    study = open_study(
        place, stage=stage, data=data, objectives=objectives, sampler=sampler, seed=seed
    )
    earlier = len(study.trials)
    if earlier:
        console.print(f"resuming study {place.name!r}: {earlier} trial(s) in {place.storage_path}")
    console.print(f"objectives (valid, maximized): {', '.join(objectives)}")
    ran = run_trials(
        study,
        tunable,
        trials=trials,
        timeout=timeout,
        on_trial=lambda t: console.print(_trial_line(t, objectives), markup=False, highlight=False),
    )
    if ran == 0:
        console.print(f"the study already holds {earlier} trial(s) (--trials {trials})")
    choice = choose(study)
    console.print(
        f"chosen: trial {choice.trial.number} ({choice.method} of {len(choice.front)} on the front)"
    )
    with spinner("training the chosen and the default configurations, measuring on test"):
        final = final_figures(tunable, choice.trial)
    kind = ModelKind.RANKER if stage is TunableStage.RANKER else ModelKind.RECOMMENDER
    registry = ModelRegistry(root)
    config = {
        "tuned": True,
        "params": choice.trial.params,
        "epochs": max_epochs,
        "seed": seed,
        "study": {
            "name": place.name,
            "storage": str(place.storage_path),
            "trial": choice.trial.number,
            "method": choice.method,
            "sampler": sampler.value,
            "trials": len(study.trials),
            "objectives": dict(zip(objectives, choice.trial.values, strict=True)),
        },
    }
    if stage is TunableStage.RANKER:
        config["text"] = text
    with registry.stage(kind, data=data, config=config) as staged:
        final.model.save(staged.folder)
        staged.metrics.update({f"test/{k}": v for k, v in final.tuned.items()})
    assert staged.manifest is not None
    version = staged.manifest.version
    write_report(
        study,
        place,
        objectives,
        choice,
        test={"tuned": final.tuned, "default": final.default},
        registered=f"{kind.value} {version}",
    )
    table = pl.DataFrame(
        [
            {"configuration": name, **figures}
            for name, figures in (("default", final.default), ("tuned", final.tuned))
        ]
    )
    console.print(frame_table(table, "test split (measured once)"))
    console.print(f"registered {kind.value} version {version} in {registry.root}")
    console.print(f"report in {place.report_dir}")
