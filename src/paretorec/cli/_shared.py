"""What every command shares: the Typer apps, clean failures, progress display, tables."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from paretorec.cli._progress import plain_progress, plain_spinner

# Options several commands share, declared once.
EncoderFolder = Annotated[
    Path | None, typer.Option("--encoder", help="Encoder folder (default: the bundled MiniLM).")
]
EmbeddingCache = Annotated[Path | None, typer.Option(help="Embedding cache folder.")]

if TYPE_CHECKING:
    import polars as pl

    from paretorec.encode import TextEncoder
    from paretorec.types import Dataset

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
    help="Measure: search, recommendation, trade-off fronts and off-policy estimates.",
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
    """A spinner with elapsed time for work whose length is not known up front.

    Off a terminal (logs, pipes, nohup, CI) it prints a start line and a done line instead.
    """
    if not errors.is_terminal:
        with plain_spinner(description):
            yield
        return
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=errors,
        transient=True,
    ) as progress:
        progress.add_task(description, total=None)
        yield


@contextmanager
def progress_bar(description: str, total: int) -> Iterator[Callable[[int], None]]:
    """A bar for counted work; yields the callback the library calls with increments.

    Off a terminal it prints plain lines instead: the first, one at most every ~10 s with
    the count, rate and time left, and the last.
    """
    if not errors.is_terminal:
        with plain_progress(description, total) as advance:
            yield advance
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=errors, transient=True) as progress:
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


def _encoder(model: Path | None) -> TextEncoder:
    from paretorec.encode import SentenceTransformerEncoder

    return SentenceTransformerEncoder(model) if model is not None else SentenceTransformerEncoder()


def _embedding_cache(cache: Path | None) -> Path:
    from paretorec.data.locations import cache_dir

    return cache if cache is not None else cache_dir() / "embeddings"


def _read_table(path: Path) -> pl.DataFrame:
    import polars as pl

    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    if path.suffix == ".parquet":
        return pl.read_parquet(path)
    if path.suffix == ".json":
        return pl.read_json(path)
    return pl.read_csv(path)


def print_written(dataset: Dataset, written: list[Path]) -> None:
    tables = dataset.tables()
    for path in written:
        rows = tables[next(n for n in tables if path.stem == n)].height
        console.print(f"  {path}  ({rows:,} rows)")
