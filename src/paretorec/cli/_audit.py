"""`paretorec audit`: exposure fairness, outcomes by group and rule violations, from an
event log or a replay of queries through a models folder."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from paretorec.cli._shared import app, console, fails_cleanly, progress_bar, spinner


def _catalog_records(catalog: str) -> list[dict[str, Any]]:
    """Items from a dataset folder, a built-in dataset's name, or an items table file."""
    import polars as pl

    from paretorec.moo.pipeline import load_data

    path = Path(catalog)
    if path.is_file():
        frame = pl.read_parquet(path) if path.suffix == ".parquet" else pl.read_csv(path)
        if "item_id" not in frame.columns:
            raise ValueError(f"{path}: an items table needs an item_id column")
        return frame.with_columns(pl.col("item_id").cast(pl.String)).to_dicts()
    return load_data(catalog).items.frame.to_dicts()


def _events_dataset(events: Path, catalog: str | None) -> tuple[Any, list[dict[str, Any]]]:
    """The log's events and the catalog's records: `events` is a dataset folder with its
    items, or a folder holding only events (the service's --events) with `catalog`."""
    import polars as pl

    from paretorec.data.io import table_file
    from paretorec.data.validate import load_dataset
    from paretorec.types import TableName

    if not events.is_dir():
        raise ValueError(f"{events}: not a folder (give the service's events folder or a dataset)")
    if table_file(events, TableName.EVENTS) is None:
        raise ValueError(f"{events}: no events table (events.csv or events.parquet) in it")
    if table_file(events, TableName.ITEMS) is not None and catalog is None:
        dataset = load_dataset(events)
        assert dataset.events is not None
        return dataset.events.frame, dataset.items.frame.to_dicts()
    if catalog is None:
        raise ValueError(f"{events} has no items table: give --catalog (dataset, name or file)")
    records = _catalog_records(catalog)
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        source = table_file(events, TableName.EVENTS)
        assert source is not None
        (folder / source.name).symlink_to(source.resolve())
        pl.DataFrame(records).write_parquet(folder / "items.parquet")
        dataset = load_dataset(folder)
    assert dataset.events is not None
    return dataset.events.frame, records


@app.command("audit")
@fails_cleanly
def audit(
    events: Annotated[
        Path | None,
        typer.Argument(help="Event log: the service's events folder or a dataset folder."),
    ] = None,
    catalog: Annotated[
        str | None,
        typer.Option(help="Items for a log without them: dataset folder, built-in name or file."),
    ] = None,
    models: Annotated[
        Path | None,
        typer.Option(help="Replay --queries through this models folder instead of a log."),
    ] = None,
    queries: Annotated[
        str | None,
        typer.Option(
            help="With --models: dataset (folder or built-in name) whose queries to serve."
        ),
    ] = None,
    rules: Annotated[
        Path | None,
        typer.Option(
            help="The shop's rules file: violations counted; a replay runs with and without."
        ),
    ] = None,
    group: Annotated[
        str, typer.Option(help="Comma-separated groups: seller_id, brand, new.")
    ] = "seller_id,brand,new",
    new_days: Annotated[
        float, typer.Option(min=0.0, help="Items created within this many days count as new.")
    ] = 90.0,
    requests: Annotated[int, typer.Option(min=1, help="With --models: queries replayed.")] = 500,
    k: Annotated[int, typer.Option(min=1, help="With --models: list length.")] = 10,
    seed: Annotated[int, typer.Option(help="With --models: seed of the query sample.")] = 0,
    out: Annotated[Path, typer.Option(help="Report folder.")] = Path("audit-report"),
) -> None:
    """Fairness audit: exposure vs merit, disparate exposure, exposure Gini and AWRF by group
    (over time too), clicks and purchases by group, rule violations; markdown, JSON, PNG."""
    from paretorec.evaluate.audit import audit_lists, served_from_events, write_audit
    from paretorec.evaluate.fairness import GroupBy

    group_by = [GroupBy.parse(g) for g in group.split(",") if g.strip()]
    if (events is None) == (models is None):
        raise ValueError("give an events folder or --models (with --queries), one of them")
    if models is not None:
        analysis = _replay_audit(
            models, queries, rules, group_by, new_days=new_days, requests=requests, k=k, seed=seed
        )
    else:
        assert events is not None
        from paretorec.serve.constraints import read_constraints

        constraints = None if rules is None else read_constraints(rules)
        with spinner(f"reading {events}"):
            frame, records = _events_dataset(events, catalog)
            served = served_from_events(frame)
        now = frame["timestamp"].max() if "timestamp" in frame.columns else None
        with spinner("auditing"):
            analysis = audit_lists(
                served,
                records,
                group_by,
                source=f"event log {events}",
                constraints=None if constraints is None else _lists(constraints),
                now=now if isinstance(now, datetime) else datetime.now(UTC),
                new_days=new_days,
            )
    written = write_audit(analysis, out)
    console.print(f"{analysis.n_lists:,} lists, exposure Gini {analysis.exposure_gini:.3f}")
    for g in analysis.groups:
        console.print(f"  {g.by}: disparate exposure {g.disparate_exposure:.3f}, AWRF {g.awrf:.4f}")
    if analysis.violations is not None:
        console.print(f"  rule violations (lists): {analysis.violations}")
    for path in written:
        console.print(f"  wrote {path}")


def _lists(constraints: Any) -> Any:
    from paretorec.constraints import ListConstraints

    return ListConstraints(constraints.rules, constraints.fair)


def _replay_audit(
    models: Path,
    queries: str | None,
    rules: Path | None,
    group_by: list[Any],
    *,
    new_days: float,
    requests: int,
    k: int,
    seed: int,
) -> Any:
    import random
    from dataclasses import replace

    from paretorec.evaluate.audit import audit_lists
    from paretorec.moo.pipeline import load_data
    from paretorec.serve import ModelRegistry
    from paretorec.serve.constraints import read_constraints
    from paretorec.serve.loading import LoadOptions, load_pipeline
    from paretorec.serve.replay import replay_queries

    if queries is None:
        raise ValueError("--models needs --queries: a dataset (folder or built-in name)")
    dataset = load_data(queries)
    if dataset.queries is None:
        raise ValueError(f"{queries}: the dataset has no queries table to replay")
    pairs = [(str(q), str(t)) for q, t in dataset.queries.frame.select("query_id", "text").rows()]
    rng = random.Random(seed)
    sample = [rng.choice(pairs) for _ in range(requests)]
    judged: dict[str, dict[str, float]] | None = None
    if dataset.judgments is not None:
        judged = {}
        for q, item, grade in dataset.judgments.frame.select("query_id", "item_id", "grade").rows():
            judged.setdefault(str(q), {})[str(item)] = float(grade)
    with spinner(f"loading {models}"):
        pipeline = load_pipeline(ModelRegistry(models), LoadOptions(verify=False))
    store = pipeline.store
    records = store.records([str(i) for i in store.column("item_id") if i in store])
    runs: list[tuple[str, Path | None]] = [("without constraints", None)]
    if rules is not None:
        runs.append(("with the rules", rules))
    replays = []
    for name, path in runs:
        constraints = None if path is None else read_constraints(path)
        with progress_bar(f"replaying {name}", len(sample)) as advance:
            replay = replay_queries(
                pipeline, sample, k=k, constraints=constraints, judgments=judged,
                on_progress=advance,
            )  # fmt: skip
        replays.append((name, constraints, replay))
    audits = []
    for name, constraints, replay in replays:
        audits.append(
            audit_lists(
                replay.served,
                records,
                group_by,
                source=f"replay of {len(sample):,} {dataset.name} queries through {models} "
                f"({name})",
                constraints=None if constraints is None else _lists(constraints),
                now=datetime.now(UTC),
                new_days=new_days,
            )
        )
    comparison = [
        {
            "run": name,
            **replay.objectives,
            **{f"disparate exposure ({g.by})": g.disparate_exposure for g in done.groups},
            "exposure gini": done.exposure_gini,
        }
        for (name, _, replay), done in zip(replays, audits, strict=True)
    ]
    last_constraints = replays[-1][1]
    hits = None if last_constraints is None else dict(last_constraints.hits)
    return replace(audits[-1], comparison=comparison, rule_hits=hits)
