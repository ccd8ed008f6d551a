"""The `paretorec` command: parses arguments, calls the library, prints results.

Every command fails with exit code 1 and one line that says why; `--help` works on all.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, ParamSpec, TypeVar

import polars as pl
import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from paretorec.data.io import FileFormat, write_dataset
from paretorec.types import Dataset

if TYPE_CHECKING:
    from paretorec.encode import TextEncoder

app = typer.Typer(
    help="paretorec: multi-objective optimization of e-commerce search and recommendation.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
data_app = typer.Typer(
    help="Read, check, describe, split and convert datasets.", no_args_is_help=True
)
app.add_typer(data_app, name="data")
evaluate_app = typer.Typer(
    help="Measure: search quality, trade-off fronts and off-policy estimates.",
    no_args_is_help=True,
)
app.add_typer(evaluate_app, name="evaluate")
app.add_typer(evaluate_app, name="eval", help="Short for `evaluate`.")
train_app = typer.Typer(help="Train models on a dataset.", no_args_is_help=True)
app.add_typer(train_app, name="train")

console = Console()
errors = Console(stderr=True)

P = ParamSpec("P")
R = TypeVar("R")


def _one_line(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0]


def fails_cleanly(command: Callable[P, R]) -> Callable[P, R]:
    """Turn any error into `error: <reason>` on stderr and exit code 1 (no traceback)."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except (typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
        except Exception as error:
            errors.print(f"[bold red]error:[/] {_one_line(error)}", highlight=False, soft_wrap=True)
            raise typer.Exit(1) from error

    return wrapper


@contextmanager
def spinner(description: str) -> Iterator[None]:
    """A spinner with elapsed time for work whose length is not known up front."""
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=errors,
        transient=True,
        disable=not errors.is_terminal,  # no spinner frames in logs and pipes
    ) as progress:
        progress.add_task(description, total=None)
        yield


@contextmanager
def progress_bar(description: str, total: int) -> Iterator[Callable[[int], None]]:
    """A bar for counted work; yields the callback the library calls with increments."""
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(
        *columns, console=errors, transient=True, disable=not errors.is_terminal
    ) as progress:
        task = progress.add_task(description, total=total)
        yield lambda n: progress.advance(task, n)


def frame_table(frame: pl.DataFrame, title: str, *, floats: str = "{:.4g}") -> Table:
    table = Table(title=title, title_justify="left")
    for column in frame.columns:
        table.add_column(column, justify="right" if frame.schema[column].is_numeric() else "left")
    for row in frame.iter_rows():
        table.add_row(*(floats.format(v) if isinstance(v, float) else str(v) for v in row))
    return table


# ----------------------------------------------------------------------------- data


@data_app.command("validate")
@fails_cleanly
def data_validate(
    folder: Annotated[
        Path,
        typer.Argument(
            help="Dataset folder (items, users, queries, judgments, events as CSV or Parquet)."
        ),
    ],
    quarantine: Annotated[
        Path | None,
        typer.Option(
            help="Write the rejected rows with their reasons to this CSV or Parquet file."
        ),
    ] = None,
    clean_out: Annotated[
        Path | None, typer.Option(help="Write the good rows, typed, as a dataset folder here.")
    ] = None,
    fmt: Annotated[
        FileFormat, typer.Option("--format", help="Table format for --clean-out.")
    ] = FileFormat.PARQUET,
    show: Annotated[
        int, typer.Option(help="How many problems to print (all are counted and quarantined).")
    ] = 50,
) -> None:
    """Check a dataset folder against the data contract and report every problem.

    Exit code 0 when the data is clean, 1 when any problem was found (after writing
    --quarantine and --clean-out, so nothing is lost).
    """
    from paretorec.data.validate import validate_dataset, write_quarantine

    with spinner(f"validating {folder}"):
        result = validate_dataset(folder)
    report = result.report
    counts = Table(title=f"{folder}", title_justify="left")
    for column in ("table", "rows read", "rows kept", "rows rejected"):
        counts.add_column(column, justify="left" if column == "table" else "right")
    for name, read in report.rows_read.items():
        kept = report.rows_kept.get(name, 0)
        counts.add_row(str(name), f"{read:,}", f"{kept:,}", f"{read - kept:,}")
    console.print(counts)
    for line in report.lines(show):
        console.print(f"  {line}", highlight=False, markup=False, soft_wrap=True)
    if report.problems.height > show:
        console.print(f"  ... and {report.problems.height - show:,} more (see --quarantine)")
    if quarantine is not None:
        written = write_quarantine(result, quarantine)
        console.print(f"quarantined {written:,} row(s) with their reasons to {quarantine}")
    if clean_out is not None:
        if result.dataset is None:
            raise ValueError("no usable items table, so there is no clean dataset to write")
        write_dataset(result.dataset, clean_out, fmt)
        console.print(f"wrote the good rows to {clean_out}")
    if not report.ok:
        rows = report.problems.drop_nulls("row").select("table", "row").n_unique()
        errors.print(
            f"[bold red]error:[/] {report.problems.height:,} problem(s) in {rows:,} row(s) of {folder}",
            highlight=False,
        )
        raise typer.Exit(1)
    console.print("[green]ok[/]: the dataset follows the contract")


@data_app.command("stats")
@fails_cleanly
def data_stats(
    folder: Annotated[Path, typer.Argument(help="Dataset folder.")],
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Also write the figures as JSON here.")
    ] = None,
    plot: Annotated[Path | None, typer.Option(help="Also draw the figures into this PNG.")] = None,
) -> None:
    """Counts, sparsity, events by type, CTR by position, top categories, price distribution."""
    from paretorec.data.stats import dataset_stats
    from paretorec.data.validate import load_dataset

    with spinner(f"reading {folder}"):
        dataset = load_dataset(folder)
        stats = dataset_stats(dataset)
    summary = Table(title=f"{stats.name}", title_justify="left", show_header=False)
    summary.add_column("what")
    summary.add_column("value", justify="right")
    for table, rows in stats.rows.items():
        summary.add_row(f"{table} rows", f"{rows:,}")
    summary.add_row("items", f"{stats.n_items:,}")
    if stats.n_users is not None:
        summary.add_row("users", f"{stats.n_users:,}")
    if stats.n_queries is not None:
        summary.add_row("queries", f"{stats.n_queries:,}")
    if stats.sparsity is not None:
        summary.add_row("sparsity (user x item)", f"{stats.sparsity:.6f}")
    console.print(summary)
    for title, frame in (
        ("events by type", stats.events_by_type),
        ("CTR by position", stats.ctr_by_position),
        ("top categories", stats.top_categories),
        ("price distribution", stats.price),
        ("judgment grades", stats.grades),
    ):
        if frame is not None and not frame.is_empty():
            console.print(frame_table(frame, title))
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(stats.to_dict(), indent=2, default=str))
        console.print(f"wrote {json_out}")
    if plot is not None:
        from paretorec.data.plots import plot_stats

        plot_stats(stats, dataset, plot)
        console.print(f"wrote {plot}")


@data_app.command("split")
@fails_cleanly
def data_split(
    folder: Annotated[Path, typer.Argument(help="Dataset folder.")],
    out: Annotated[
        Path, typer.Argument(help="Where to write the dataset with a complete `split` column.")
    ],
    seed: Annotated[int, typer.Option(help="Seed of the query shuffle for judgments.")] = 0,
    fmt: Annotated[FileFormat, typer.Option("--format")] = FileFormat.PARQUET,
) -> None:
    """Fill the `split` column: judgments by query (80/10/10), events leave-last-out per user."""
    from paretorec.data.splits import assign_splits
    from paretorec.data.validate import load_dataset

    with spinner(f"splitting {folder}"):
        dataset = assign_splits(load_dataset(folder), seed=seed)
        write_dataset(dataset, out, fmt)
    for name, frame in dataset.tables().items():
        if "split" in frame.columns:
            counts = frame.group_by("split").len("rows").sort("split")
            console.print(frame_table(counts, f"{name}"))
    console.print(f"wrote {out}")


@data_app.command("convert")
@fails_cleanly
def data_convert(
    name: Annotated[str, typer.Argument(help="Built-in dataset: see `paretorec data list`.")],
    out: Annotated[Path, typer.Argument(help="Folder to write the dataset to.")],
    source: Annotated[
        Path | None,
        typer.Option(help="Folder of the original files (default: the shared data folder)."),
    ] = None,
    fmt: Annotated[FileFormat, typer.Option("--format", help="Table format.")] = FileFormat.PARQUET,
) -> None:
    """Convert a built-in real dataset into the data contract's format."""
    from paretorec.data.datasets import BuiltinDataset, load_builtin

    dataset_name = _builtin(name)
    with spinner(f"converting {dataset_name}"):
        dataset = load_builtin(BuiltinDataset(dataset_name), source=source)
        written = write_dataset(dataset, out, fmt)
    _print_written(dataset, written)


@data_app.command("fetch")
@fails_cleanly
def data_fetch(
    name: Annotated[
        str,
        typer.Argument(
            help="What to fetch: `obd` (the Open Bandit Dataset, from the obp==0.4.1 wheel)."
        ),
    ],
    cache: Annotated[
        Path | None,
        typer.Option(help="Cache folder (default: $PARETOREC_CACHE or ~/.cache/paretorec)."),
    ] = None,
) -> None:
    """Download a dataset that is not in the shared folder into the cache (once; then offline)."""
    from paretorec.data.datasets.obd import fetch_obd

    if name != "obd":
        raise ValueError(
            f"unknown dataset to fetch {name!r}; only 'obd' is fetched (others are converted from local files)"
        )
    with spinner("fetching the Open Bandit Dataset (obp==0.4.1 wheel)"):
        wheel = fetch_obd(cache)
    console.print(f"Open Bandit Dataset ready: {wheel}")


@data_app.command("list")
@fails_cleanly
def data_list() -> None:
    """List the built-in datasets that `data convert` knows."""
    from paretorec.data.datasets import BuiltinDataset

    for dataset in BuiltinDataset:
        console.print(f"  {dataset.value}")


def _builtin(name: str) -> str:
    from paretorec.data.datasets import BuiltinDataset

    known = [d.value for d in BuiltinDataset]
    if name not in known:
        raise ValueError(f"unknown dataset {name!r}; known: {', '.join(known)}")
    return name


def _print_written(dataset: Dataset, written: list[Path]) -> None:
    tables = dataset.tables()
    for path in written:
        rows = tables[next(n for n in tables if path.stem == n)].height
        console.print(f"  {path}  ({rows:,} rows)")


# ----------------------------------------------------------------------------- search


def _encoder(model: Path | None) -> TextEncoder:
    from paretorec.encode import SentenceTransformerEncoder

    return SentenceTransformerEncoder(model) if model is not None else SentenceTransformerEncoder()


def _embedding_cache(cache: Path | None) -> Path:
    from paretorec.data.locations import cache_dir

    return cache if cache is not None else cache_dir() / "embeddings"


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
) -> None:
    """Encode the catalog and build the BM25 and dense indexes (hybrid search), saved to --out."""
    from paretorec.data.validate import load_dataset
    from paretorec.retrieve.pipeline import build_search

    with spinner(f"reading {folder}"):
        dataset = load_dataset(folder)
    encoder = _encoder(model)
    with progress_bar("encoding items", len(dataset.items)) as advance:
        search = build_search(dataset, encoder, _embedding_cache(cache), on_progress=advance)
    search.save(out)
    console.print(f"indexed {len(dataset.items):,} items into {out}")


@app.command("search")
@fails_cleanly
def search(
    folder: Annotated[Path, typer.Argument(help="Dataset folder (for titles and prices).")],
    query: Annotated[str, typer.Argument(help="What the shopper typed.")],
    k: Annotated[int, typer.Option("--k", min=1, max=1000, help="How many results.")] = 10,
    index_folder: Annotated[
        Path, typer.Option("--index", help="Indexes saved by `paretorec index`.")
    ] = Path("index"),
    model: Annotated[
        Path | None, typer.Option(help="Encoder model folder; the one the index was built with.")
    ] = None,
) -> None:
    """Search a catalog: the top k items with their title, price and each retriever's score."""
    from paretorec.data.validate import load_dataset
    from paretorec.retrieve import HybridRetriever

    if not query.strip():
        raise ValueError("the query is empty")
    if not index_folder.is_dir():
        raise FileNotFoundError(
            f"{index_folder}: no index; build one with `paretorec index {folder} --out {index_folder}`"
        )
    with spinner("loading"):
        dataset = load_dataset(folder)
        retriever = HybridRetriever.load(index_folder)
        encoder = _encoder(model)
    found = retriever.search(query, encoder.encode_queries([query])[0], k=k)
    items = dataset.items.frame
    columns = [c for c in ("item_id", "title", "price") if c in items.columns]
    rows = pl.DataFrame({"item_id": list(found.item_ids), "rank": range(1, len(found) + 1)})
    table = rows.join(items.select(columns), on="item_id", how="left").sort("rank")
    table = table.with_columns(
        pl.Series("score", found.scores),
        *(pl.Series(name, values) for name, values in found.components.items()),
    )
    console.print(frame_table(table, f"{query!r}: {len(found)} result(s)"))


@evaluate_app.command("search")
@fails_cleanly
def evaluate_search_command(
    data: Annotated[
        Path, typer.Option("--data", help="Dataset folder with queries and judgments.")
    ],
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Also write the metrics as JSON here.")
    ] = None,
    model: Annotated[
        Path | None,
        typer.Option(help="Encoder model folder (default: the bundled all-MiniLM-L6-v2)."),
    ] = None,
    cache: Annotated[Path | None, typer.Option(help="Embedding cache folder.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the query split when the data has none.")] = 0,
) -> None:
    """Judge search on a dataset: fit on its train queries, report BM25, dense and hybrid on the test queries."""
    from paretorec.data.validate import load_dataset
    from paretorec.retrieve.pipeline import evaluate_search

    with spinner(f"reading {data}"):
        dataset = load_dataset(data)
    with progress_bar("encoding items", len(dataset.items)) as advance:
        result = evaluate_search(
            dataset, _encoder(model), _embedding_cache(cache), seed=seed, on_progress=advance
        )
    title = f"{result.n_test:,} test queries, full catalog (unjudged = irrelevant)"
    console.print(frame_table(result.table, title))
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(result.to_dict(), indent=2))
        console.print(f"wrote {json_out}")


@train_app.command("encoder")
@fails_cleanly
def train_encoder(
    data: Annotated[
        Path, typer.Option("--data", help="Dataset folder with queries and judgments.")
    ],
    out: Annotated[Path, typer.Option(help="Folder for the fine-tuned model (safetensors).")],
    model: Annotated[
        Path | None,
        typer.Option(help="Model to start from (default: the bundled all-MiniLM-L6-v2)."),
    ] = None,
    steps: Annotated[int, typer.Option(min=1, help="Training steps (batches).")] = 600,
    batch_size: Annotated[
        int,
        typer.Option(min=2, help="Pairs per batch; the other items of a batch are the negatives."),
    ] = 32,
    min_grade: Annotated[
        float, typer.Option(help="Judgments graded at least this become training pairs.")
    ] = 2.5,
    cache: Annotated[Path | None, typer.Option(help="Embedding cache folder.")] = None,
    seed: Annotated[
        int, typer.Option(help="Seed of the split (when the data has none) and of training.")
    ] = 0,
) -> None:
    """Fine-tune the text encoder on the train queries; check it on the valid queries.

    Exit code 1 when the fine-tuned model is not better on the valid queries (it is kept in
    --out for inspection, with the check in paretorec-finetune.json).
    """
    from paretorec.data.validate import load_dataset
    from paretorec.encode import bundled_model_path
    from paretorec.encode.finetune import FinetuneConfig
    from paretorec.retrieve.pipeline import finetune_encoder

    with spinner(f"reading {data}"):
        dataset = load_dataset(data)
    config = FinetuneConfig(batch_size=batch_size, max_steps=steps, seed=seed)
    with progress_bar("fine-tuning (steps)", steps) as advance:
        outcome = finetune_encoder(
            dataset,
            model if model is not None else bundled_model_path(),
            out,
            _embedding_cache(cache),
            config=config,
            min_grade=min_grade,
            seed=seed,
            on_progress=advance,
        )
    console.print(
        f"valid queries, dense NDCG@10: {outcome.valid_before:.4f} before, {outcome.valid_after:.4f} after "
        f"({outcome.n_pairs:,} training pairs); model in {outcome.folder}"
    )
    if not outcome.helped:
        raise ValueError(
            f"fine-tuning did not help on the valid queries; the model stays in {out} for inspection"
        )


# ----------------------------------------------------------------------------- evaluate


def _read_table(path: Path) -> pl.DataFrame:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    if path.suffix == ".parquet":
        return pl.read_parquet(path)
    if path.suffix == ".json":
        return pl.read_json(path)
    return pl.read_csv(path)


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


@app.command("simulate")
@fails_cleanly
def simulate(
    out: Annotated[Path, typer.Argument(help="Folder to write the simulated dataset to.")],
    items: Annotated[int, typer.Option(min=1, help="Catalog size.")] = 10_000,
    users: Annotated[int, typer.Option(min=1, help="Number of shoppers.")] = 5_000,
    sessions: Annotated[
        int, typer.Option(min=1, help="Logged sessions (one shown list each).")
    ] = 50_000,
    seed: Annotated[int, typer.Option(help="Seed of the world and the log.")] = 0,
    fmt: Annotated[FileFormat, typer.Option("--format", help="Table format.")] = FileFormat.PARQUET,
) -> None:
    """Generate a shop and a log of its shoppers (uniform random logging policy) in the contract."""
    from paretorec.simulate import simulate_dataset

    with progress_bar("simulating sessions", sessions) as advance:
        dataset = simulate_dataset(items, users, sessions, seed=seed, on_progress=advance)
    with spinner(f"writing {out}"):
        written = write_dataset(dataset, out, fmt)
    _print_written(dataset, written)


# ----------------------------------------------------------------------------- demo


@app.command("demo")
@fails_cleanly
def demo(
    out: Annotated[Path, typer.Option(help="Folder for the demo's datasets and report.")] = Path(
        "demo-output"
    ),
    seed: Annotated[int, typer.Option(help="Seed.")] = 0,
) -> None:
    """Run the pipeline on the embedded default: a simulated shop, and the Open Bandit Dataset."""
    from paretorec.demo import run_demo

    run_demo(out, seed=seed, console=console, spinner=spinner, progress_bar=progress_bar)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
