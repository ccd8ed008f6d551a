"""`paretorec data ...`: validate, describe, split, convert and fetch datasets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from paretorec.cli._shared import (
    console,
    data_app,
    errors,
    fails_cleanly,
    frame_table,
    print_written,
    spinner,
)
from paretorec.data.formats import FileFormat


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
    from paretorec.data.io import write_dataset
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
    from paretorec.data.io import write_dataset
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
    from paretorec.data.io import write_dataset

    dataset_name = _builtin(name)
    with spinner(f"converting {dataset_name}"):
        dataset = load_builtin(BuiltinDataset(dataset_name), source=source)
        written = write_dataset(dataset, out, fmt)
    print_written(dataset, written)


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


# ----------------------------------------------------------------------------- search
