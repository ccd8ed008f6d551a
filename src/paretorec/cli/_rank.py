"""`paretorec train ranker`: the multi-task ranker, trained and registered."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from paretorec.cli._shared import (
    EmbeddingCache,
    EncoderFolder,
    _embedding_cache,
    _encoder,
    console,
    fails_cleanly,
    frame_table,
    progress_bar,
    spinner,
    train_app,
)
from paretorec.rank.config import Architecture, Weighting

METRICS = ("auc", "logloss", "ece", "positives", "rows")


@train_app.command("ranker")
@fails_cleanly
def train_ranker_command(
    data: Annotated[Path, typer.Option("--data", help="Dataset folder with an events table.")],
    model: Annotated[
        Architecture, typer.Option("--model", help="Architecture.")
    ] = Architecture.MMOE,
    weighting: Annotated[
        Weighting, typer.Option("--weighting", help="How the task losses are combined.")
    ] = Weighting.FIXED,
    epochs: Annotated[int, typer.Option(min=1, help="Most epochs (early stopping on valid).")] = 5,
    seed: Annotated[int, typer.Option(help="Seed of initialization and shuffling.")] = 0,
    models: Annotated[
        Path | None,
        typer.Option("--models", help="Registry folder (default: $PARETOREC_MODELS or ./models)."),
    ] = None,
    text: Annotated[
        bool,
        typer.Option("--text/--no-text", help="Use text-encoder vectors of items, users, queries."),
    ] = True,
    encoder_model: EncoderFolder = None,
    cache: EmbeddingCache = None,
) -> None:
    """Train a multi-task ranker (click, cart, purchase: whichever the log has) on the
    exposures of DIR, register it as a new model version and print its per-task metrics
    on the held-out (test) part."""
    import polars as pl

    from paretorec.data.validate import load_dataset
    from paretorec.rank import (
        RankerConfig,
        TrainConfig,
        build_ranker_features,
        evaluate_ranker,
        train_ranker,
    )
    from paretorec.serve.registry import ModelKind, ModelRegistry, default_models_dir

    with spinner(f"reading {data}"):
        dataset = load_dataset(data)
    encoder = _encoder(encoder_model) if text else None
    with spinner("building features"):
        features = build_ranker_features(
            dataset, encoder=encoder, cache_dir=_embedding_cache(cache) if text else None
        )
    config = RankerConfig(architecture=model)
    train = TrainConfig(weighting=weighting, epochs=epochs, seed=seed)
    n_train = (
        int((features.split == "train").sum()) if features.split is not None else len(features)
    )
    with progress_bar("training", n_train * epochs) as advance:
        ranker = train_ranker(features, config=config, train=train, on_progress=advance)
    metrics = evaluate_ranker(ranker, features)
    registry = ModelRegistry(models if models is not None else default_models_dir())
    with registry.stage(
        ModelKind.RANKER,
        data=data,
        config={
            "model": config.to_json(),
            "weighting": weighting.value,
            "epochs": epochs,
            "seed": seed,
            "text": text,
            "tasks": list(ranker.tasks),
        },
    ) as staged:
        ranker.save(staged.folder)
        staged.metrics.update(
            {
                k: v
                for k, v in metrics.as_dict().items()
                if k.split(".")[1] in METRICS[:3] and v == v  # NaN AUC: one class only
            }
        )
    manifest = staged.manifest
    assert manifest is not None
    rows = [
        {"task": task, **{k: getattr(m, k) for k in METRICS}} for task, m in metrics.tasks.items()
    ]
    console.print(frame_table(pl.DataFrame(rows), f"{model.value} / {weighting.value}: test rows"))
    console.print(f"registered ranker {manifest.version} in {registry.root}")
