"""`paretorec serve`: the HTTP service; `paretorec serve build-index`: its index version."""

from __future__ import annotations

import os
import tempfile
import threading
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
    errors,
    fails_cleanly,
    progress_bar,
    spinner,
)
from paretorec.serve.registry import ModelKind, ModelRegistry, default_models_dir

if TYPE_CHECKING:
    from paretorec.serve.index_version import SecondStageData
    from paretorec.serve.pipeline import ServingPipeline
    from paretorec.types import Dataset

serve_app = typer.Typer(
    help="Serve search and recommendation over HTTP (FastAPI + uvicorn).",
    invoke_without_command=True,
)
app.add_typer(serve_app, name="serve")

DEFAULT_TOKEN_ENV = "PARETOREC_ADMIN_TOKEN"

ModelsDir = Annotated[
    Path | None,
    typer.Option("--models", help="Registry folder (default: $PARETOREC_MODELS or ./models)."),
]


@serve_app.callback()
@fails_cleanly
def serve(
    ctx: typer.Context,
    models: ModelsDir = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    token_env: Annotated[
        str,
        typer.Option(
            help="Environment variable holding the admin bearer token (admin endpoints are "
            "refused while it is unset)."
        ),
    ] = DEFAULT_TOKEN_ENV,
    events: Annotated[
        Path,
        typer.Option(
            help="Folder of the feedback log (events.csv) and the catalog-change journal "
            "(catalog_changes.jsonl), both fsync'd."
        ),
    ] = Path("events"),
    depth: Annotated[
        int, typer.Option(min=1, max=1000, help="Candidates the ranker and policy see.")
    ] = 50,
    encoder_threads: Annotated[
        int | None, typer.Option(min=1, help="Threads of the ONNX query encoder.")
    ] = None,
    compute_threads: Annotated[
        int,
        typer.Option(
            min=1,
            help="BLAS / OpenMP / torch threads per request (1: requests run side by side).",
        ),
    ] = 1,
    request_threads: Annotated[
        int,
        typer.Option(
            min=1,
            help="Requests computed at once (the rest wait their turn in arrival order): a "
            "small pool keeps latency flat under overload instead of every request slowing.",
        ),
    ] = 4,
    verify: Annotated[
        bool, typer.Option(help="Check every model file's hash when loading.")
    ] = True,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "warning",
    rules: Annotated[
        Path | None,
        typer.Option(
            help="The shop's rules (blocked items, caps, pins) and exposure fairness, as "
            "JSON (see the README); POST /admin/rules re-reads it."
        ),
    ] = None,
    explore: Annotated[
        float,
        typer.Option(
            min=0.0,
            max=1.0,
            help="Share of requests whose list is drawn from the policy's Plackett-Luce "
            "distribution (logged with its propensities) instead of decoded greedily.",
        ),
    ] = 0.0,
    temperature: Annotated[
        float, typer.Option(min=0.01, help="How widely exploring lists are drawn (scores / T).")
    ] = 1.0,
    drift_queries: Annotated[
        int,
        typer.Option(
            min=0,
            help="Training queries searched at start as the drift watch's reference "
            "(PSI gauges in /metrics); 0: no drift watch.",
        ),
    ] = 200,
    drift_threshold: Annotated[
        float, typer.Option(min=0.0, help="PSI above which a feature's drift warning is set.")
    ] = 0.25,
    second_stage_depth: Annotated[
        int,
        typer.Option(
            min=1,
            max=1000,
            help="Items each first-stage run gives the index's second stage, when it has "
            "one (its cost grows with it: about 50 ms a query at 300 on 2 cores; 100 kept "
            "its NDCG@10 on Home Depot's valid queries).",
        ),
    ] = 100,
) -> None:
    """Serve the registry's promoted versions: /search, /recommend, /items, /events, /healthz, /metrics, /docs, /explorer."""
    if ctx.invoked_subcommand is not None:
        return
    _run_service(
        models=models, host=host, port=port, token_env=token_env, events=events, depth=depth,
        encoder_threads=encoder_threads, compute_threads=compute_threads,
        request_threads=request_threads, verify=verify, log_level=log_level, rules=rules,
        explore=explore, temperature=temperature,
        drift_queries=drift_queries, drift_threshold=drift_threshold,
        second_stage_depth=second_stage_depth,
    )  # fmt: skip


@app.command("explore")
@fails_cleanly
def explore(
    models: ModelsDir = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    token_env: Annotated[
        str, typer.Option(help="Environment variable holding the admin bearer token.")
    ] = DEFAULT_TOKEN_ENV,
    events: Annotated[Path, typer.Option(help="Folder of the feedback log.")] = Path("events"),
    open_browser: Annotated[
        bool, typer.Option("--open/--no-open", help="Open the page in the default browser.")
    ] = True,
) -> None:
    """Serve a models folder and open the trade-off explorer (/explorer) on it."""
    url = f"http://{host}:{port}/explorer"
    console.print(f"the explorer: {url}")
    _run_service(
        models=models, host=host, port=port, token_env=token_env, events=events, depth=50,
        encoder_threads=None, compute_threads=1, request_threads=4, verify=True,
        log_level="warning", on_start=(lambda: _open_page(url)) if open_browser else None,
    )  # fmt: skip


def _open_page(url: str) -> None:
    import webbrowser

    if not webbrowser.open(url):
        console.print(f"no browser to open here: visit {url}")


def _run_service(
    *,
    models: Path | None,
    host: str,
    port: int,
    token_env: str,
    events: Path,
    depth: int,
    encoder_threads: int | None,
    compute_threads: int,
    request_threads: int,
    verify: bool,
    log_level: str,
    rules: Path | None = None,
    explore: float = 0.0,
    temperature: float = 1.0,
    on_start: Callable[[], None] | None = None,
    drift_queries: int = 0,
    drift_threshold: float = 0.25,
    second_stage_depth: int = 100,
) -> None:
    import uvicorn

    from paretorec.serve.app import create_app
    from paretorec.serve.changes import ChangeJournal
    from paretorec.serve.event_log import EventLog
    from paretorec.serve.loading import LoadOptions, apply_journal, load_pipeline, reloader
    from paretorec.serve.threads import limit_compute_threads

    registry = ModelRegistry(models if models is not None else default_models_dir())
    token = os.environ.get(token_env) or None
    if token is None:
        errors.print(
            f"warning: ${token_env} is not set: admin endpoints are refused", highlight=False
        )
    options = LoadOptions(
        depth=depth,
        verify=verify,
        encoder_threads=encoder_threads,
        second_stage_depth=second_stage_depth,
    )
    with spinner(f"loading models from {registry.root}"):
        pipeline = load_pipeline(registry, options)
    limit_compute_threads(compute_threads)
    drift = None
    if drift_queries > 0:  # before rules and exploration: the reference is the models' own
        from paretorec.serve.drift import watch_from_registry

        with spinner("searching the training queries for the drift reference"):
            drift = watch_from_registry(
                pipeline, registry, n_queries=drift_queries, threshold=drift_threshold
            )
        if drift is None:
            console.print("no drift watch: the index's dataset has no queries to search")
    if rules is not None:
        from paretorec.serve.constraints import read_constraints

        pipeline.constraints = read_constraints(rules)
        console.print(f"keeping the rules of {rules}")
    if explore > 0:
        from paretorec.serve.exploration import Exploration

        pipeline.exploration = Exploration(share=explore, temperature=temperature)
        console.print(f"exploring: {explore:.0%} of lists drawn at temperature {temperature:g}")
    log = EventLog(events)
    journal = ChangeJournal(events)
    with spinner("replaying catalog changes"):
        replayed = apply_journal(pipeline, journal)
    if replayed:
        console.print(f"replayed {replayed:,} catalog change(s) from {journal.path}")
    counted = _replay_online_counts(pipeline, registry, log.path)
    if counted:
        console.print(f"replayed {counted:,} interaction(s) since the recommender's training")
    service = create_app(
        pipeline,
        admin_token=token,
        event_log=log,
        journal=journal,
        registry=registry,
        reload=reloader(pipeline, registry, options, journal=journal),
        request_threads=request_threads,
        drift=drift,
    )
    loaded = ", ".join(
        f"{stage.value} {state.version or '-'}" if state.loaded else f"{stage.value} missing"
        for stage, state in pipeline.stages().items()
    )
    console.print(f"serving {len(pipeline.store):,} items ({loaded}) on http://{host}:{port}")
    if on_start is not None:
        threading.Timer(1.5, on_start).start()  # once uvicorn listens
    try:
        uvicorn.run(service, host=host, port=port, log_level=log_level, access_log=False)
    finally:
        log.close()
        journal.close()


def _replay_online_counts(pipeline: ServingPipeline, registry: ModelRegistry, log: Path) -> int:
    """The online counts since the served recommender was trained, from the event log."""
    from datetime import datetime

    from paretorec.loop.replay import replay_online_counts
    from paretorec.stages import Stage

    version = pipeline.versions.get(Stage.RECOMMENDER)
    if version is None:
        return 0
    created = datetime.fromisoformat(registry.manifest(ModelKind.RECOMMENDER, version).created_at)
    with spinner("replaying online counts from the event log"):
        return replay_online_counts(pipeline, log, created)


@serve_app.command("build-index")
@fails_cleanly
def build_index(
    data: Annotated[
        str,
        typer.Option(
            "--data", help="Dataset folder, or the name of a built-in dataset (e.g. homedepot)."
        ),
    ],
    models: ModelsDir = None,
    model: Annotated[
        Path | None,
        typer.Option(help="Encoder model folder (default: the bundled all-MiniLM-L6-v2)."),
    ] = None,
    cache: EmbeddingCache = None,
    onnx: Annotated[
        bool,
        typer.Option(help="Export the encoder to ONNX int8 for queries (the fast path)."),
    ] = True,
    onnx_from: Annotated[
        Path | None, typer.Option(help="Use this existing ONNX export instead of exporting.")
    ] = None,
    lexical_weight: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Score-fusion weight of BM25.")
    ] = 0.7,
    promote: Annotated[bool, typer.Option(help="Promote the new version.")] = False,
    second_stage: Annotated[
        bool,
        typer.Option(
            help="Also train the learned second stage of search (LightGBM lambdarank) on "
            "the dataset's train queries, early-stopped on its valid ones, into the version "
            "(/search then re-ranks with it; minutes on a Home Depot-sized catalog)."
        ),
    ] = False,
    seed: Annotated[
        int, typer.Option(help="Seed of the second stage (and of a split the data lacks).")
    ] = 0,
) -> None:
    """Encode a catalog, build BM25 + dense search and write it as a new INDEX version."""
    from paretorec.data.datasets import BuiltinDataset, load_builtin
    from paretorec.data.validate import load_dataset
    from paretorec.encode import BUNDLED_MODEL_NAME, export_onnx
    from paretorec.retrieve import ScoreFusion
    from paretorec.serve.encoders import EncoderKind, EncoderRef
    from paretorec.serve.index_version import build_index_version

    folder = Path(data)
    with spinner(f"reading {data}"):
        if folder.is_dir():
            dataset = load_dataset(folder)
        elif data in {b.value for b in BuiltinDataset}:
            dataset = load_builtin(BuiltinDataset(data))
        else:
            raise FileNotFoundError(f"{data}: neither a dataset folder nor a built-in dataset")
    registry = ModelRegistry(models if models is not None else default_models_dir())
    learn = _second_stage_data(dataset, seed) if second_stage else None
    encoder = _encoder(model)
    reference = EncoderRef(
        EncoderKind.SENTENCE_TRANSFORMERS,
        str(model.resolve()) if model is not None else BUNDLED_MODEL_NAME,
        encoder.name,
    )
    with tempfile.TemporaryDirectory() as scratch:
        export = onnx_from
        if onnx and export is None:
            with spinner("exporting the encoder to ONNX int8"):
                export = Path(scratch) / "onnx"
                export_onnx(export, model if model is not None else BUNDLED_MODEL_NAME)
        with progress_bar("encoding items", len(dataset.items)) as advance:
            manifest = build_index_version(
                registry,
                dataset.items,
                encoder,
                cache=_embedding_cache(cache),
                reference=reference,
                fusion=ScoreFusion(weight=lexical_weight),
                onnx_export=export if onnx or onnx_from is not None else None,
                data=folder if folder.is_dir() else None,
                on_progress=advance,
                second_stage=learn,
            )
    if promote:
        registry.promote(ModelKind.INDEX, manifest.version)
    console.print(
        f"index {manifest.version}: {len(dataset.items):,} items in {registry.root}"
        + (" (promoted)" if promote else "")
    )


def _second_stage_data(dataset: Dataset, seed: int) -> SecondStageData:
    """The train (and valid) judgments and query texts the second stage learns from; a
    dataset without a complete ``split`` column is split by query, seeded, as
    `eval search` splits it (its test queries are then never read)."""
    from paretorec.data.splits import split_judgments
    from paretorec.serve.index_version import SecondStageData

    if dataset.judgments is None or dataset.queries is None:
        raise ValueError(
            "--second-stage needs the dataset's queries and judgments tables to learn from"
        )
    frame = dataset.judgments.frame
    if "split" not in frame.columns or frame["split"].null_count() > 0:
        frame = split_judgments(dataset.judgments, seed=seed).frame
    texts = dict(dataset.queries.frame.select("query_id", "text").iter_rows())
    return SecondStageData(frame, texts, seed=seed)
