"""`paretorec recommend-all`: every user's offline recommendation list, in one process or
on Ray Data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from paretorec.cli._shared import app, console, fails_cleanly, spinner
from paretorec.scale.backend import Backend


@app.command("recommend-all")
@fails_cleanly
def recommend_all(
    data: Annotated[Path, typer.Option("--data", help="Dataset folder whose shoppers are scored.")],
    out: Annotated[Path, typer.Option("--out", help="Lists to write (.parquet or .csv).")],
    k: Annotated[int, typer.Option("--k", min=1, max=1000, help="List length.")] = 10,
    models: Annotated[
        Path | None,
        typer.Option("--models", help="Registry folder (default: $PARETOREC_MODELS or ./models)."),
    ] = None,
    version: Annotated[
        str | None, typer.Option(help="Recommender version (default: the promoted or latest).")
    ] = None,
    backend: Annotated[
        Backend, typer.Option(help="local: this process; ray: Ray Data, --workers actors.")
    ] = Backend.LOCAL,
    workers: Annotated[int, typer.Option(min=1, help="Ray: actors, one CPU each.")] = 2,
    block_size: Annotated[int, typer.Option(min=1, help="Ray: users per block.")] = 2048,
) -> None:
    """Score every shopper of DIR with a registered recommender: her merged full-catalog
    top K from all her events (her own items excluded), written as user_id, rank,
    item_id, source. --backend ray runs the same scoring in blocks on Ray Data."""
    import numpy as np
    import polars as pl

    from paretorec.data.validate import load_dataset
    from paretorec.retrieve.recommend import Recommender, split_sequences
    from paretorec.scale.batch import rank_users
    from paretorec.serve.registry import ModelKind, ModelRegistry, default_models_dir

    if out.suffix not in {".parquet", ".csv"}:
        raise ValueError(f"{out}: write .parquet or .csv")
    registry = ModelRegistry(models if models is not None else default_models_dir())
    folder, manifest = registry.load(ModelKind.RECOMMENDER, version)
    with spinner(f"reading {data}"):
        sequences = split_sequences(load_dataset(data))
    recommender = Recommender.load(folder)
    if tuple(recommender.item_ids) != tuple(sequences.item_ids):
        raise ValueError(
            f"recommender {manifest.version} was fitted on another catalog than {data}'s items"
        )
    histories = [
        np.concatenate([t, v, s])
        for t, v, s in zip(sequences.train, sequences.valid, sequences.test, strict=True)
    ]
    users = [u for u, h in zip(sequences.user_ids, histories, strict=True) if h.size]
    histories = [h for h in histories if h.size]
    with spinner(f"ranking the catalog for {len(users):,} shoppers ({backend.value})"):
        items, sources = rank_users(
            folder if backend is Backend.RAY else recommender,
            histories,
            k=k,
            backend=backend,
            workers=workers,
            block_size=block_size,
        )
    n, width = items.shape
    ids = np.asarray(recommender.item_ids, dtype=object)
    lists = pl.DataFrame(
        {
            "user_id": np.repeat(np.asarray(users, dtype=object), width),
            "rank": np.tile(np.arange(1, width + 1), n),
            "item_id": ids[items.ravel()],
            "source": sources.ravel().astype(str),
        }
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".csv":
        lists.write_csv(out)
    else:
        lists.write_parquet(out)
    console.print(f"wrote {n:,} lists of {width} from recommender {manifest.version} to {out}")
