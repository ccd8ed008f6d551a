"""`paretorec train recommender`, `recommend` and `eval recommend`."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from paretorec.cli._shared import (
    EncoderFolder,
    _embedding_cache,
    _encoder,
    app,
    console,
    evaluate_app,
    fails_cleanly,
    frame_table,
    progress_bar,
    spinner,
    train_app,
)

if TYPE_CHECKING:
    import numpy as np
    import polars as pl
    from numpy.typing import NDArray

    from paretorec.cli._batch import RecommendAsk
    from paretorec.retrieve.recommend import (
        Generator,
        Quotas,
        Recommender,
        SplitSequences,
        TextVectors,
    )
    from paretorec.retrieve.recommend.learned_merge import LearnedMerge
    from paretorec.types import Dataset


class ModelChoice(StrEnum):
    ALL = "all"
    POPULARITY = "popularity"
    COVISITATION = "covisitation"
    TWO_TOWER = "two-tower"
    SEQUENTIAL = "sequential"


class TextChoice(StrEnum):
    """`paretorec.retrieve.recommend.TextVectors` here, without importing the models."""

    AUTO = "auto"
    ALL = "all"
    POPULAR = "popular"


class MergeMode(StrEnum):
    """How `--model all` merges its generators' candidates."""

    AUTO = "auto"  # the learned merge where it beats the quotas on held-out valid users
    LEARNED = "learned"
    QUOTAS = "quotas"


def _generators(choice: ModelChoice, epochs: int, seed: int) -> list[Generator]:
    from paretorec.retrieve.recommend import CoVisitation, Popularity, Sequential, TwoTower

    every: dict[ModelChoice, Generator] = {
        ModelChoice.POPULARITY: Popularity(),
        ModelChoice.COVISITATION: CoVisitation(),
        ModelChoice.TWO_TOWER: TwoTower(epochs=epochs, seed=seed),
        ModelChoice.SEQUENTIAL: Sequential(epochs=epochs, batch_size=512, seed=seed),
    }
    if choice is ModelChoice.ALL:
        return list(every.values())
    return [every[ModelChoice.POPULARITY]] + (
        [every[choice]] if choice is not ModelChoice.POPULARITY else []
    )


def _quotas(choice: ModelChoice) -> Quotas:
    from paretorec.retrieve.recommend import DEFAULT_QUOTAS, Quotas, Source

    if choice is ModelChoice.ALL:
        return DEFAULT_QUOTAS
    return Quotas({Source(choice.value): 1.0})


def _prepare(
    data: Path,
    encoder_model: Path | None,
    cache: Path | None,
    choice: ModelChoice,
    text: TextChoice,
) -> tuple[Dataset, SplitSequences, NDArray[np.float32], TextVectors]:
    """The dataset, its sequences and the text vectors the chosen models read: every
    item's, or only the popular pool's for the ID-only models (see `text_needs`)."""
    from paretorec.data.validate import load_dataset
    from paretorec.encode import encode_items_cached, item_text
    from paretorec.retrieve.recommend import (
        Popularity,
        TextVectors,
        resolve_text_vectors,
        rows_to_encode,
        scatter_rows,
        split_sequences,
    )

    mode = resolve_text_vectors(
        TextVectors(text.value), (g.source for g in _generators(choice, 1, 0))
    )
    with spinner(f"reading {data}"):
        dataset = load_dataset(data)
        sequences = split_sequences(dataset)
    n_items = len(dataset.items)
    rows = rows_to_encode(mode, sequences.train, n_items, pool=Popularity().pool)
    if mode is TextVectors.POPULAR:
        console.print(
            f"encoding the {rows.size:,} most popular of {n_items:,} items only: {choice.value} "
            "reads text just for cold starts (--text-vectors all encodes every item)"
        )
    texts = item_text(dataset.items)
    encoder = _encoder(encoder_model)
    with progress_bar("encoding items", int(rows.size)) as advance:
        encoded = encode_items_cached(
            encoder, [texts[r] for r in rows.tolist()], _embedding_cache(cache), on_progress=advance
        )
    return dataset, sequences, scatter_rows(n_items, rows, encoded), mode


def _fit(
    sequences: SplitSequences,
    vectors: NDArray[np.float32],
    choice: ModelChoice,
    epochs: int,
    seed: int,
    *,
    full_histories: bool,
    merge: MergeMode = MergeMode.QUOTAS,
) -> Recommender:
    """The generators fitted on train; with `--model all` and a learned `merge`, the
    learned merge trained on the valid items (carved from train where the split has
    none: generators fitted on the rest for it, then refitted on the whole train part)."""
    from paretorec.retrieve.recommend.evaluation import carve_validation

    if choice is not ModelChoice.ALL or merge is MergeMode.QUOTAS:
        return _fit_generators(sequences, vectors, choice, epochs, seed, full_histories)
    if any(v.size for v in sequences.valid):
        recommender = _fit_generators(sequences, vectors, choice, epochs, seed, full_histories)
        _learn_merge(recommender, sequences, merge, seed)
        return recommender
    carved = carve_validation(sequences)
    if not any(v.size for v in carved.valid):
        console.print("no user has two train items to carve a valid item from: quotas merge")
        return _fit_generators(sequences, vectors, choice, epochs, seed, full_histories)
    console.print(
        "the split has no valid items: the merge learns each user's last train item, "
        "generators fitted on the rest, then refitted on the whole train part"
    )
    first = _fit_generators(carved, vectors, choice, epochs, seed, False)
    learned = _learn_merge(first, carved, merge, seed)
    # the refit has no valid items to stop on: it runs the epochs the carved fit chose
    refit_epochs = best_epochs(first, cap=epochs)
    if refit_epochs != epochs:
        console.print(f"refitting the neural generators for {refit_epochs} epoch(s), their best")
    recommender = _fit_generators(sequences, vectors, choice, refit_epochs, seed, full_histories)
    if learned is not None:  # its item statistics from the whole train part, as refitted
        learned = learned.restated(recommender.generators, sequences.train, sequences.n_items)
    recommender.learned = learned
    return recommender


def best_epochs(recommender: Recommender, *, cap: int) -> int:
    """The most epochs any neural generator of `recommender` needed to reach its best
    validation score (`cap` when none stopped on validation)."""
    from paretorec.retrieve.recommend import Sequential, TwoTower

    best = [
        g.training_log.best_epoch + 1
        for g in recommender.generators.values()
        if isinstance(g, TwoTower | Sequential)
        and g.training_log is not None
        and g.training_log.best_epoch >= 0
    ]
    return min(cap, max(best)) if best else cap


def _learn_merge(
    recommender: Recommender, sequences: SplitSequences, merge: MergeMode, seed: int
) -> LearnedMerge | None:
    """Train the learned merge and set it on `recommender` when `merge` asks for it (auto:
    when it beats the quotas' NDCG@10 on held-out valid users); the merge chosen."""
    from paretorec.retrieve.recommend.evaluation import fit_learned_merge
    from paretorec.retrieve.recommend.learned_merge import MergeConfig

    try:
        with spinner("training the learned merge on the valid items"):
            choice = fit_learned_merge(
                recommender, sequences, config=MergeConfig(seed=seed), seed=seed
            )
    except ValueError as error:
        if merge is MergeMode.LEARNED:
            raise
        console.print(f"no learned merge ({error}): the quotas stay")
        return None
    keep = merge is MergeMode.LEARNED or choice.learned_wins
    console.print(
        f"learned merge NDCG@10 {choice.learned_ndcg:.4f} vs quotas {choice.quotas_ndcg:.4f} "
        f"on {choice.check_users:,} held-out valid users (trained on {choice.train_users:,}): "
        f"{'the learned merge ranks' if keep else 'the quotas stay'}"
    )
    recommender.learned = choice.learned if keep else None
    return recommender.learned


def _fit_generators(
    sequences: SplitSequences,
    vectors: NDArray[np.float32],
    choice: ModelChoice,
    epochs: int,
    seed: int,
    full_histories: bool,
) -> Recommender:
    from paretorec.retrieve.recommend import Sequential, TrainingData, TwoTower, fit_on_train

    generators = _generators(choice, epochs, seed)
    data = TrainingData(vectors, sequences.train)
    # the neural generators report their steps, the counting ones one step each
    total = sum(
        g.steps_per_epoch(data) * epochs if isinstance(g, TwoTower | Sequential) else 1
        for g in generators
    )
    with progress_bar("training (most steps)", total) as advance:
        return fit_on_train(
            sequences,
            vectors,
            generators=generators,
            quotas=_quotas(choice),
            seed=seed,
            store_full_histories=full_histories,
            on_progress=lambda generator, data: advance,
        )


Data = Annotated[Path, typer.Option("--data", help="Dataset folder with items and events.")]
Model = Annotated[
    ModelChoice, typer.Option("--model", help="One generator (with popularity) or all, merged.")
]
Epochs = Annotated[
    int,
    typer.Option(
        min=1,
        help="Epoch cap of the neural generators: they stop early once their valid NDCG@10 "
        "has not improved for 3 epochs, and keep their best epoch.",
    ),
]
Seed = Annotated[int, typer.Option(help="Seed of initialization, shuffling and sampling.")]
Cache = Annotated[Path | None, typer.Option(help="Embedding cache folder.")]
Merge = Annotated[
    MergeMode,
    typer.Option(
        "--merge",
        help="How --model all merges: learned (LightGBM over the union of candidates, trained "
        "on the valid items), quotas (fixed shares), or auto (learned where it beats the "
        "quotas on held-out valid users).",
    ),
]
Text = Annotated[
    TextChoice,
    typer.Option(
        "--text-vectors",
        help="Items to encode: all, or only the popular ones that cold starts read "
        "(auto: all for two-tower, sequential and all; popular for the ID-only models).",
    ),
]


@train_app.command("recommender")
@fails_cleanly
def train_recommender_command(
    data: Data,
    model: Model = ModelChoice.ALL,
    models: Annotated[
        Path | None,
        typer.Option("--models", help="Registry folder (default: $PARETOREC_MODELS or ./models)."),
    ] = None,
    epochs: Epochs = 30,
    seed: Seed = 0,
    encoder_model: EncoderFolder = None,
    cache: Cache = None,
    text: Text = TextChoice.AUTO,
    merge: Merge = MergeMode.AUTO,
) -> None:
    """Train the recommendation generators on the train part of DIR's events (early
    stopping on valid), register the merged recommender as a new model version, and print
    its leave-last-out test metrics."""
    from paretorec.retrieve.recommend import evaluate_recommender
    from paretorec.serve.registry import ModelKind, ModelRegistry, default_models_dir

    _, sequences, vectors, mode = _prepare(data, encoder_model, cache, model, text)
    recommender = _fit(sequences, vectors, model, epochs, seed, full_histories=True, merge=merge)
    training = _training_logs(recommender)
    metrics: dict[str, dict[str, float]] = {}
    if any(t.size for t in sequences.test):
        with spinner("evaluating on test"):
            metrics = evaluate_recommender(recommender, sequences)
    registry = ModelRegistry(models if models is not None else default_models_dir())
    config = {
        "model": model.value,
        "epochs": epochs,
        "seed": seed,
        "text_vectors": mode.value,
        "merge": "learned" if recommender.learned is not None else "quotas",
    }
    manifest_config = {**config, "training": training}  # epochs run, validation curves
    with registry.stage(ModelKind.RECOMMENDER, data=data, config=manifest_config) as staged:
        recommender.save(staged.folder)
        staged.metrics.update(
            {
                f"{name}/{metric}": value
                for name, row in metrics.items()
                for metric, value in row.items()
            }
        )
    assert staged.manifest is not None
    console.print(f"registered recommender version {staged.manifest.version}")
    if metrics:
        console.print(_metrics_table(metrics, "test (leave-last-out)"))


@app.command("recommend")
@fails_cleanly
def recommend_command(
    folder: Annotated[Path, typer.Argument(help="Dataset folder (for titles).")],
    user: Annotated[str | None, typer.Option("--user", help="User id.")] = None,
    session: Annotated[
        str | None, typer.Option("--session", help="Comma-separated item ids of a session.")
    ] = None,
    k: Annotated[int, typer.Option("--k", min=1, max=1000, help="How many items.")] = 10,
    models: Annotated[
        Path | None,
        typer.Option("--models", help="Registry folder (default: $PARETOREC_MODELS or ./models)."),
    ] = None,
    version: Annotated[
        str | None, typer.Option(help="Model version (default: promoted, else latest).")
    ] = None,
    batch: Annotated[
        Path | None,
        typer.Option(
            "--batch",
            help='Requests, one a line: a user id, or JSON {"user": ..., "session": [...], '
            '"k": ...}; "-": stdin.',
        ),
    ] = None,
    collapse_duplicates: Annotated[
        bool,
        typer.Option(
            "--collapse-duplicates/--keep-duplicates",
            help="Show a product listed under several ids once (same brand and title, "
            "or text vectors at cosine >= 0.98).",
        ),
    ] = True,
) -> None:
    """Recommend k items to a user (her history) and/or a session: each item with its title
    and the generator it came from; many requests at one load with --batch."""
    from paretorec.cli._batch import RecommendAsk, parse_recommend_batch, read_lines

    asks: list[RecommendAsk]
    if batch is not None:
        if user is not None or session is not None:
            raise ValueError("give --user/--session or --batch, not both")
        lines, source = read_lines(batch)
        asks = parse_recommend_batch(lines, default_k=k, source=source)
    elif user is None and session is None:
        raise ValueError("give --user, --session, both, or --batch")
    else:
        items = tuple(i.strip() for i in (session or "").split(",") if i.strip())
        asks = [RecommendAsk(user, items, k)]
    recommending = _Recommending.load(folder, models, version, collapse=collapse_duplicates)
    for ask in asks:
        recommending.show(ask)


class _Recommending:
    """A registered recommender and the catalog's titles, loaded once for many requests."""

    def __init__(
        self, recommender: Recommender, items: pl.DataFrame, version: str, *, collapse: bool
    ) -> None:
        from paretorec.retrieve.duplicates import duplicate_key

        self.recommender = recommender
        self.version = version
        self.collapse = collapse
        ids = items["item_id"].cast(str).to_list()
        titles = items["title"].cast(str).to_list()
        brands = items["brand"].to_list() if "brand" in items.columns else [None] * len(ids)
        self.titles = dict(zip(ids, titles, strict=True))
        self.keys = {i: duplicate_key(t, b) for i, t, b in zip(ids, titles, brands, strict=True)}

    @classmethod
    def load(
        cls, folder: Path, models: Path | None, version: str | None, *, collapse: bool
    ) -> _Recommending:
        from paretorec.data.validate import load_dataset
        from paretorec.retrieve.recommend import Recommender
        from paretorec.serve.registry import ModelKind, ModelRegistry, default_models_dir

        registry = ModelRegistry(models if models is not None else default_models_dir())
        with spinner("loading"):
            model_folder, manifest = registry.load(ModelKind.RECOMMENDER, version)
            recommender = Recommender.load(model_folder)
            dataset = load_dataset(folder)
        return cls(recommender, dataset.items.frame, manifest.version, collapse=collapse)

    def show(self, ask: RecommendAsk) -> None:
        import polars as pl

        from paretorec.retrieve.duplicates import top_distinct

        fetch = min(3 * ask.k + 10, 3010) if self.collapse else ask.k
        result = self.recommender.recommend(user_id=ask.user, session=list(ask.session), k=fetch)
        kept, skipped = list(range(min(len(result), ask.k))), 0
        if self.collapse and len(result):
            vectors = self.recommender.text_vectors[result.indices]
            keys = [self.keys.get(i) for i in result.item_ids]
            shown, skipped = top_distinct(keys, ask.k, vectors)
            kept = list(shown)
        who = " and ".join(
            part
            for part in (
                f"user {ask.user!r}" if ask.user else "",
                f"session {', '.join(ask.session)}" if ask.session else "",
            )
            if part
        )
        if result.cold_start:
            console.print(f"{who}: no history, so popular-and-diverse items")
        if result.ignored:
            console.print(f"not in the catalog, left out: {', '.join(result.ignored)}")
        ids = [result.item_ids[p] for p in kept]
        table = pl.DataFrame(
            {
                "rank": list(range(1, len(kept) + 1)),
                "item_id": ids,
                "title": [self.titles.get(i, "") for i in ids],
                "source": [result.sources[p].value for p in kept],
            }
        )
        console.print(frame_table(table, f"recommender {self.version}, {who}"))
        if skipped:
            console.print(f"{skipped} duplicate(s) collapsed (--keep-duplicates shows them)")


@evaluate_app.command("recommend")
@fails_cleanly
def evaluate_recommend_command(
    data: Data,
    model: Model = ModelChoice.ALL,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the metrics here.")] = None,
    epochs: Epochs = 30,
    seed: Seed = 0,
    encoder_model: EncoderFolder = None,
    cache: Cache = None,
    text: Text = TextChoice.AUTO,
    merge: Merge = MergeMode.AUTO,
    runs_dir: Annotated[
        Path | None,
        typer.Option(
            "--runs",
            help="Also write each generator's and the merge's top 100 of every test user as "
            "a TREC run file here (DIR/merge.run, ...): user_id Q0 item_id rank score method.",
        ),
    ] = None,
) -> None:
    """Fit on the train part of DIR's events and measure each generator and the merge on
    the test part (the `split` column, or leave-last-out), full-catalog ranking."""
    from paretorec.retrieve.recommend import evaluate_recommender

    _, sequences, vectors, _ = _prepare(data, encoder_model, cache, model, text)
    recommender = _fit(sequences, vectors, model, epochs, seed, full_histories=False, merge=merge)
    training = _training_logs(recommender)
    with spinner("evaluating"):
        metrics = evaluate_recommender(recommender, sequences)
    console.print(_metrics_table(metrics, "test (full-catalog ranking)"))
    if json_out is not None:
        json_out.write_text(json.dumps(metrics, indent=2) + "\n")
        console.print(f"wrote {json_out}")
        if training:  # beside the metrics, whose rows are all metric tables
            curves = json_out.with_suffix(".training.json")
            curves.write_text(json.dumps(training, indent=2) + "\n")
            console.print(f"wrote {curves} (epochs run and validation curves)")
    if runs_dir is not None:
        from paretorec.cli._runs import write_recommend_runs

        with spinner("writing run files"):
            paths = write_recommend_runs(recommender, sequences, runs_dir)
        console.print(f"wrote {len(paths)} run files to {runs_dir}")


def _training_logs(recommender: Recommender) -> dict[str, dict[str, Any]]:
    """Print how each neural generator trained (epochs run, why it stopped, its validation
    curve) and return the logs by generator name."""
    out: dict[str, dict[str, Any]] = {}
    for source, generator in recommender.generators.items():
        log = getattr(generator, "training_log", None)
        if log is not None:
            console.print(f"{source.value}: {log.summary()}")
            out[source.value] = log.as_dict()
    return out


def _metrics_table(metrics: dict[str, dict[str, float]], title: str) -> Table:
    import polars as pl

    rows = [{"generator": name, **values} for name, values in metrics.items()]
    return frame_table(pl.DataFrame(rows), title)
