"""`paretorec index`, `search`, `eval search` and `train encoder`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from paretorec.cli._shared import (
    EmbeddingCache,
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
    import polars as pl

    from paretorec.cli._batch import BatchQuery
    from paretorec.encode import TextEncoder
    from paretorec.retrieve import HybridRetriever
    from paretorec.retrieve.second_stage import RerankedSearch


JudgedData = Annotated[
    Path, typer.Option("--data", help="Dataset folder with queries and judgments.")
]
StartingModel = Annotated[
    Path | None,
    typer.Option(help="Model to start from (default: the bundled all-MiniLM-L6-v2)."),
]


@app.command("index")
@fails_cleanly
def index(
    folder: Annotated[Path, typer.Argument(help="Dataset folder (its items table is indexed).")],
    out: Annotated[Path, typer.Option(help="Where to save the indexes.")] = Path("index"),
    model: Annotated[
        Path | None,
        typer.Option(help="Encoder model folder (default: the bundled all-MiniLM-L6-v2)."),
    ] = None,
    cache: Annotated[
        Path | None,
        typer.Option(help="Embedding cache folder (default: ~/.cache/paretorec/embeddings)."),
    ] = None,
    spelling: Annotated[
        bool,
        typer.Option(
            "--spelling/--no-spelling",
            help="Save a spell corrector of the catalog's words: BM25 searches corrected queries.",
        ),
    ] = True,
    abbreviations: Annotated[
        bool,
        typer.Option(
            "--abbreviations/--no-abbreviations",
            help="With spelling, a query word with no vowel after its first letter is read "
            "as the consonant skeleton of a catalog word (cbnt -> cabinet).",
        ),
    ] = True,
) -> None:
    """Encode the catalog and build the BM25 and dense indexes (hybrid search), saved to --out."""
    from paretorec.data.validate import load_dataset
    from paretorec.retrieve.pipeline import build_search

    with spinner(f"reading {folder}"):
        dataset = load_dataset(folder)
    encoder = _encoder(model)
    with progress_bar("encoding items", len(dataset.items)) as advance:
        search = build_search(
            dataset,
            encoder,
            _embedding_cache(cache),
            spelling=spelling,
            abbreviations=abbreviations,
            on_progress=advance,
        )
    search.save(out)
    console.print(f"indexed {len(dataset.items):,} items into {out}")


@app.command("search")
@fails_cleanly
def search(
    folder: Annotated[Path, typer.Argument(help="Dataset folder (for titles and prices).")],
    query: Annotated[
        str | None,
        typer.Argument(
            help="What the shopper typed. Without it: the queries of --batch, or a prompt "
            "on a terminal (one query a line from standard input otherwise)."
        ),
    ] = None,
    k: Annotated[int, typer.Option("--k", min=1, max=1000, help="How many results.")] = 10,
    index_folder: Annotated[
        Path, typer.Option("--index", help="Indexes saved by `paretorec index`.")
    ] = Path("index"),
    model: Annotated[
        Path | None, typer.Option(help="Encoder model folder; the one the index was built with.")
    ] = None,
    batch: Annotated[
        Path | None,
        typer.Option(
            "--batch",
            help='Queries, one a line or JSON lines ({"query": ..., "k": ...}); "-": stdin.',
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object a query instead of tables.")
    ] = False,
    collapse_duplicates: Annotated[
        bool,
        typer.Option(
            "--collapse-duplicates/--keep-duplicates",
            help="Show a product listed under several ids once (same brand and title).",
        ),
    ] = True,
) -> None:
    """Search a catalog: the top k items with their title, price and each retriever's
    score, for one query or many with the models loaded once."""
    from paretorec.cli._batch import BatchQuery, is_terminal, prompt_lines, read_batch

    if query is not None and batch is not None:
        raise ValueError("give a query or --batch, not both")
    if query is not None and not query.strip():
        raise ValueError("the query is empty")
    if not index_folder.is_dir():
        raise FileNotFoundError(
            f"{index_folder}: no index; build one with `paretorec index {folder} --out {index_folder}`"
        )
    interactive = query is None and batch is None and is_terminal()
    queries: list[BatchQuery] = []
    if query is not None:
        queries = [BatchQuery(query, k)]
    elif not interactive:
        queries = read_batch(batch if batch is not None else Path("-"), default_k=k)
    searcher = _Searcher.load(folder, index_folder, model, collapse=collapse_duplicates)
    for asked in queries:
        searcher.show(asked, as_json=as_json)
    if interactive:
        console.print("one query a line; an empty line or Ctrl-D ends")
        for line in prompt_lines(lambda: console.input("[bold]query>[/] ")):
            searcher.show(BatchQuery(line, k), as_json=as_json)


class _Searcher:
    """The catalog, the indexes and the encoder, loaded once for many queries."""

    def __init__(
        self,
        items: pl.DataFrame,
        retriever: HybridRetriever | RerankedSearch,
        encoder: TextEncoder,
        *,
        collapse: bool,
    ) -> None:
        from paretorec.retrieve.duplicates import duplicate_key

        self.items = items
        self.retriever = retriever
        self.encoder = encoder
        self.collapse = collapse
        ids = items["item_id"].cast(str).to_list()
        titles = items["title"].to_list()
        brands = items["brand"].to_list() if "brand" in items.columns else [None] * len(ids)
        self.keys = {i: duplicate_key(t, b) for i, t, b in zip(ids, titles, brands, strict=True)}

    @classmethod
    def load(
        cls, folder: Path, index_folder: Path, model: Path | None, *, collapse: bool
    ) -> _Searcher:
        from paretorec.data.validate import load_dataset
        from paretorec.encode import encode_items_cached, item_text
        from paretorec.retrieve import HybridRetriever
        from paretorec.retrieve.second_stage import SECOND_STAGE_FOLDER, RerankedSearch

        with spinner("loading"):
            dataset = load_dataset(folder)
            hybrid = HybridRetriever.load(index_folder)
            retriever: HybridRetriever | RerankedSearch = hybrid
            encoder = _encoder(model)
            # a second stage saved beside the index (eval search --save-second-stage
            # INDEX/second_stage) re-orders the candidates; item vectors from the cache
            if (index_folder / SECOND_STAGE_FOLDER).is_dir():
                vectors = encode_items_cached(
                    encoder, item_text(dataset.items), _embedding_cache(None)
                )
                retriever = RerankedSearch.load(
                    index_folder, hybrid, dataset.items, vectors, encoder=encoder.name
                )
        return cls(dataset.items.frame, retriever, encoder, collapse=collapse)

    def show(self, asked: BatchQuery, *, as_json: bool) -> None:
        import polars as pl

        from paretorec.retrieve.duplicates import top_distinct

        # Ask for more when collapsing: a product may fill several of the top slots.
        fetch = min(3 * asked.k + 10, 3010) if self.collapse else asked.k
        found = self.retriever.search(
            asked.text, self.encoder.encode_queries([asked.text])[0], k=fetch
        )
        kept, skipped = list(range(min(len(found), asked.k))), 0
        if self.collapse and len(found):
            shown, skipped = top_distinct([self.keys.get(i) for i in found.item_ids], asked.k)
            kept = list(shown)
        columns = [c for c in ("item_id", "title", "price") if c in self.items.columns]
        rows = pl.DataFrame(
            {"item_id": [found.item_ids[p] for p in kept], "rank": range(1, len(kept) + 1)}
        )
        table = rows.join(self.items.select(columns), on="item_id", how="left").sort("rank")
        table = table.with_columns(
            pl.Series("score", found.scores[kept]),
            *(pl.Series(name, values[kept]) for name, values in found.components.items()),
        )
        if as_json:
            answer = {
                "query": asked.text,
                "k": asked.k,
                "duplicates_collapsed": skipped,
                "items": table.fill_nan(None).to_dicts(),
            }
            typer.echo(json.dumps(answer))
            return
        console.print(frame_table(table, f"{asked.text!r}: {len(table)} result(s)"))
        if skipped:
            console.print(f"{skipped} duplicate(s) collapsed (--keep-duplicates shows them)")


@evaluate_app.command("search")
@fails_cleanly
def evaluate_search_command(
    data: JudgedData,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Also write the metrics as JSON here.")
    ] = None,
    model: Annotated[
        Path | None,
        typer.Option(help="Encoder model folder (default: the bundled all-MiniLM-L6-v2)."),
    ] = None,
    cache: EmbeddingCache = None,
    seed: Annotated[int, typer.Option(help="Seed of the query split when the data has none.")] = 0,
    runs_dir: Annotated[
        Path | None,
        typer.Option(
            "--runs",
            help="Also write each method's top 100 of every test query as a TREC run file "
            "here (DIR/bm25.run, ...): query_id Q0 item_id rank score method.",
        ),
    ] = None,
    spelling: Annotated[
        bool,
        typer.Option(
            "--spelling/--no-spelling",
            help="BM25 searches queries spell-corrected towards the catalog's own words.",
        ),
    ] = True,
    abbreviations: Annotated[
        bool,
        typer.Option(
            "--abbreviations/--no-abbreviations",
            help="With spelling, a query word with no vowel after its first letter is read "
            "as the consonant skeleton of a catalog word (cbnt -> cabinet).",
        ),
    ] = True,
    second_stage: Annotated[
        bool,
        typer.Option(
            "--second-stage/--no-second-stage",
            help="Also train the learned re-ranker (LightGBM lambdarank over the union of "
            "the BM25, dense and hybrid top 300, and the char n-grams' with --char-ngrams) on "
            "the train queries, early-stopped on the valid ones, and report it as "
            "'hybrid + LTR' (a few minutes on a large catalog).",
        ),
    ] = True,
    save_second_stage: Annotated[
        Path | None,
        typer.Option(help="Save the trained re-ranker here (e.g. INDEX/second_stage)."),
    ] = None,
    char_ngrams: Annotated[
        bool,
        typer.Option(
            "--char-ngrams",
            help="Also judge character n-gram retrieval, alone and as a third list of the "
            "hybrid (its share tuned on train).",
        ),
    ] = False,
    cross_encoder: Annotated[
        Path | None,
        typer.Option(
            help="A cross-encoder folder (`train cross-encoder`): it re-orders the second "
            "stage's top items, depth and blend weight chosen on the valid queries, reported "
            "as 'hybrid + LTR + cross-encoder' (minutes on 2 cores: one model pass per pair).",
        ),
    ] = None,
) -> None:
    """Judge search on a dataset: fit on its train queries, report BM25, dense and hybrid on the test queries."""
    from paretorec.data.validate import load_dataset
    from paretorec.retrieve.pipeline import evaluate_search

    with spinner(f"reading {data}"):
        dataset = load_dataset(data)
    with progress_bar("encoding items", len(dataset.items)) as advance:
        result = evaluate_search(
            dataset,
            _encoder(model),
            _embedding_cache(cache),
            seed=seed,
            spelling=spelling,
            abbreviations=abbreviations,
            char_ngrams=char_ngrams,
            on_progress=advance,
            second_stage=second_stage,
            second_stage_out=save_second_stage,
            cross_encoder=cross_encoder,
        )
    title = f"{result.n_test:,} test queries, full catalog (unjudged = irrelevant)"
    console.print(frame_table(result.table, title))
    if (chosen := result.cross_encoder) is not None:
        console.print(
            f"cross-encoder: top {chosen['depth']} re-ordered, weight {chosen['weight']} "
            f"(chosen on {chosen['n_valid_queries']:,} valid queries: NDCG@10 "
            f"{chosen['valid_ndcg@10']:.4f} vs {chosen['valid_ndcg@10_second_stage']:.4f} "
            "for the second stage alone)"
        )
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(result.to_dict(), indent=2))
        console.print(f"wrote {json_out}")
    if runs_dir is not None:
        from paretorec.cli._runs import write_search_runs

        for path in write_search_runs(result.runs, runs_dir):
            console.print(f"wrote {path}")


@train_app.command("encoder")
@fails_cleanly
def train_encoder(
    data: JudgedData,
    out: Annotated[Path, typer.Option(help="Folder for the fine-tuned model (safetensors).")],
    model: StartingModel = None,
    steps: Annotated[int, typer.Option(min=1, help="Training steps (batches).")] = 600,
    batch_size: Annotated[
        int,
        typer.Option(min=2, help="Pairs per batch; the other items of a batch are the negatives."),
    ] = 32,
    min_grade: Annotated[
        float,
        typer.Option(
            help="Judgments graded at least this become training pairs, and an item judged "
            "below it may be a hard negative (the default suits Home Depot's 1-3 scale)."
        ),
    ] = 2.0,
    cache: EmbeddingCache = None,
    seed: Annotated[
        int, typer.Option(help="Seed of the split (when the data has none) and of training.")
    ] = 0,
    valid_share: Annotated[
        float,
        typer.Option(
            min=0.0,
            max=1.0,
            help="Share of the train queries carved out as valid queries (seeded, whole "
            "queries) when the data's split holds none.",
        ),
    ] = 0.1,
    hard_negatives: Annotated[
        str,
        typer.Option(
            help="Where to mine hard negatives, comma-separated: bm25 (BM25's top hits), dense "
            "(the model's own top hits), or none (in-batch negatives only). Unjudged or "
            "judged-irrelevant items of the top --negative-depth are candidates. The default "
            "won on Home Depot's valid and test queries over 3 seeds (encoder_finetune.md).",
        ),
    ] = "bm25,dense",
    negatives_per_pair: Annotated[
        int, typer.Option(min=0, help="Hard negatives per (query, item) pair.")
    ] = 1,
    negative_depth: Annotated[
        int, typer.Option(min=1, help="How deep in each source's ranking negatives are drawn.")
    ] = 30,
    grade_weighting: Annotated[
        str,
        typer.Option(help="Weight of a positive in the loss: gain (2^grade - 1) or none."),
    ] = "gain",
) -> None:
    """Fine-tune the text encoder on the train queries; check it on the valid queries.

    Without valid queries in the data, a seeded --valid-share of the train queries is
    carved out to check on (said in the output and in paretorec-finetune.json). Exit code
    1 when the fine-tuned model is not better on the valid queries (it is kept in --out for
    inspection, with the check in paretorec-finetune.json).
    """
    from paretorec.data.validate import load_dataset
    from paretorec.encode import bundled_model_path
    from paretorec.encode.finetune import FinetuneConfig, GradeWeighting, NegativeSource
    from paretorec.retrieve.pipeline import finetune_encoder

    sources = [s.strip() for s in hard_negatives.split(",") if s.strip()]
    if sources == ["none"]:
        sources = []
    known = ", ".join(s.value for s in NegativeSource)
    if unknown := [s for s in sources if s not in {v.value for v in NegativeSource}]:
        raise ValueError(f"--hard-negatives: unknown source {unknown[0]!r} (use {known} or none)")
    if grade_weighting not in {w.value for w in GradeWeighting}:
        raise ValueError(f"--grade-weighting: {grade_weighting!r} is not gain or none")
    with spinner(f"reading {data}"):
        dataset = load_dataset(data)
    config = FinetuneConfig(
        batch_size=batch_size,
        max_steps=steps,
        seed=seed,
        grade_weighting=GradeWeighting(grade_weighting),
        # masking known positives goes with the graded, hard-negative objective
        mask_known_positives=bool(sources) or grade_weighting != GradeWeighting.NONE,
        hard_negatives=tuple(NegativeSource(s) for s in sources),
        negatives_per_pair=negatives_per_pair,
        negative_depth=negative_depth,
        negative_max_grade=min_grade,  # one threshold: a positive is never a negative
    )
    with progress_bar("fine-tuning (steps)", steps) as advance:
        outcome = finetune_encoder(
            dataset,
            model if model is not None else bundled_model_path(),
            out,
            _embedding_cache(cache),
            config=config,
            min_grade=min_grade,
            seed=seed,
            valid_share=valid_share,
            on_progress=advance,
        )
    if outcome.carved:
        console.print(
            f"the data's split holds no valid queries: carved {outcome.n_valid_queries:,} of "
            f"the train queries ({valid_share:.0%}, seed {seed}) to check the fine-tuning on"
        )
    console.print(
        f"valid queries, dense NDCG@10: {outcome.valid_before:.4f} before, {outcome.valid_after:.4f} after "
        f"({outcome.n_pairs:,} training pairs); model in {outcome.folder}"
    )
    if not outcome.helped:
        raise ValueError(
            f"fine-tuning did not help on the valid queries; the model stays in {out} for inspection"
        )


@train_app.command("cross-encoder")
@fails_cleanly
def train_cross_encoder_command(
    data: JudgedData,
    out: Annotated[Path, typer.Option(help="Folder for the trained cross-encoder.")],
    model: StartingModel = None,
    steps: Annotated[int, typer.Option(min=1, help="Training steps (batches).")] = 1500,
    batch_size: Annotated[int, typer.Option(min=1, help="Pairs per batch.")] = 32,
    negatives: Annotated[
        int,
        typer.Option(
            min=0, help="Unjudged items of each query's fused top 30 taught as irrelevant."
        ),
    ] = 6,
    spelling: Annotated[
        bool,
        typer.Option(
            "--spelling/--no-spelling",
            help="BM25 searches spell-corrected queries when mining the negatives.",
        ),
    ] = True,
    cache: EmbeddingCache = None,
    seed: Annotated[
        int, typer.Option(help="Seed of the split (when the data has none) and of training.")
    ] = 0,
) -> None:
    """Train a cross-encoder re-ranker on the train queries' judged pairs.

    The pairs: every judged (query, item) of the train queries at grade / top grade and
    hard negatives (unjudged items among the query's fused top hits) at 0; the valid
    queries (the data's, or carved as `eval search` carves them) are left out, so
    `eval search --cross-encoder OUT` can choose its blend on them.
    """
    from paretorec.data.validate import load_dataset
    from paretorec.retrieve.cross_encoder import CrossEncoderConfig
    from paretorec.retrieve.pipeline import train_reranker

    with spinner(f"reading {data}"):
        dataset = load_dataset(data)
    config = CrossEncoderConfig(
        max_steps=steps, batch_size=batch_size, negatives_per_query=negatives, seed=seed
    )
    with progress_bar("training the cross-encoder (steps)", steps) as advance:
        outcome = train_reranker(
            dataset,
            _encoder(None),
            _embedding_cache(cache),
            out,
            config=config,
            base=model,
            spelling=spelling,
            seed=seed,
            on_progress=advance,
        )
    run = outcome.run
    console.print(
        f"{run.n_pairs:,} pairs from {outcome.n_train_queries:,} train queries, {run.steps} "
        f"steps in {run.seconds / 60:.1f} min, loss {run.first_loss:.3f} -> {run.last_loss:.3f}; "
        f"model in {outcome.folder} (judge it: eval search --cross-encoder {outcome.folder})"
    )


# ----------------------------------------------------------------------------- evaluate
