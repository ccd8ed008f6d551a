"""`paretorec simulate` and `paretorec demo`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from paretorec.cli._shared import (
    app,
    console,
    fails_cleanly,
    print_written,
    progress_bar,
    spinner,
)
from paretorec.data.formats import FileFormat


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
    from paretorec.data.io import write_dataset
    from paretorec.simulate import simulate_dataset

    with progress_bar("simulating sessions", sessions) as advance:
        dataset = simulate_dataset(items, users, sessions, seed=seed, on_progress=advance)
    with spinner(f"writing {out}"):
        written = write_dataset(dataset, out, fmt)
    print_written(dataset, written)


# ----------------------------------------------------------------------------- demo


@app.command("demo")
@fails_cleanly
def demo(
    out: Annotated[Path, typer.Option(help="Folder for the demo's datasets and report.")] = Path(
        "demo-output"
    ),
    seed: Annotated[int, typer.Option(help="Seed.")] = 0,
) -> None:
    """Run the pipeline on the embedded default: a simulated shop and the Open Bandit Dataset,
    the ranker and the policy trained, their trade-offs shown, models ready to serve."""
    from paretorec.demo import run_demo

    run_demo(out, seed=seed, console=console, spinner=spinner, progress_bar=progress_bar)
